"""The security baseline, in one place.

Headers on every response (CSP with a per-request nonce, HSTS, nosniff, frame-ancestors,
no-referrer, Permissions-Policy, no-store), Fetch-Metadata rejection of cross-site writes,
safe `next=` redirects, and the error pages (no traceback, a correlation id).
"""

from __future__ import annotations

import functools
import logging
import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, g, render_template, request, session
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from portal.domain.core import audit
from portal.domain.core.errors import Forbidden, NotFound, NotReady
from portal.domain.core.session import will_write
from portal.extensions import db, login_manager
from portal.integrations.oidc import sign_in_origin
from portal.integrations.storage import StorageUnavailable
from portal.settings import current as current_settings

log = logging.getLogger("portal.web")

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(self), gyroscope=(), "
    "magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()"
)


def nonce() -> str:
    """This response's CSP nonce (made on first use, so even early error pages have one)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def request_id() -> str:
    """A correlation id for logs, audit events and error pages."""
    if "request_id" not in g:
        g.request_id = secrets.token_hex(8)
    return g.request_id


def content_security_policy(nonce: str, *, leave_to: str = "") -> str:
    """`leave_to`: the sites a form's answer may redirect to (browsers hold a form's redirect
    to form-action too): the one "Leave quickly" sends people to, and on the staff sign-in
    page the single sign-on providers' (`oidc.sign_in_origin`)."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            f"form-action 'self' {leave_to}".rstrip(),
        ]
    )


@functools.cache  # one settings value: worked out once, not on every response
def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a relative path on this site; anything else falls back to `default` (R39)."""
    if not target or len(target) > 512:
        return default
    if any(ch in target for ch in ("\\", "\r", "\n", "\t")) or not target.startswith("/"):
        return default
    if target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def _set_headers(response: Response) -> Response:
    headers = response.headers
    if "Content-Security-Policy" not in headers:  # files served keep their stricter sandbox
        settings = current_settings()
        leave_to = _origin(settings.quick_exit_url)
        if request.endpoint == "staff_bridge.sign_in":  # "Sign in with ..." leaves for these
            leave_to = " ".join([leave_to, *(sign_in_origin(p) for p in settings.sso_providers)])
        headers["Content-Security-Policy"] = content_security_policy(nonce(), leave_to=leave_to)
    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers.pop("Server", None)
    headers.pop("X-Powered-By", None)
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    headers["X-Request-ID"] = request_id()
    return response


def _reject_cross_site_writes():
    if request.method in UNSAFE_METHODS and request.headers.get("Sec-Fetch-Site") == "cross-site":
        return error_page(403)
    return None


ERROR_TITLES = {
    400: "The page could not use what was sent",
    403: "You cannot open this page",
    404: "Page not found",
    405: "The page could not use what was sent",
    409: "Not ready yet",
    413: "The file is too large",
    429: "Too many tries",
    500: "Sorry, something went wrong",
    503: "The service is busy",
}


def error_page(code: int, **extra) -> tuple[str, int]:
    """The friendly page for `code`; it never raises (a bare page if rendering fails). For a
    500 or 503 it is rendered as for a visitor, so it needs nothing from the database."""
    reference = request_id()
    if code >= 500:
        _without_database()
    try:
        return render_template("common/error.html", code=code, **extra), code
    except Exception:
        log.exception("error page failed", extra={"request_id": reference})
        return FALLBACK_PAGE % {"reference": reference}, code


FALLBACK_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head>'
    "<body><main><h1>Sorry, something went wrong</h1><p>Please try again later. "
    "Reference: %(reference)s</p></main></body></html>"
)

_SQLITE_UNAVAILABLE = ("locked", "busy", "disk i/o", "unable to open", "readonly", "full")


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database is busy or out of reach (try again later), as opposed
    to a statement that is wrong (a bug: 500)."""
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # no pooled connection came free in time; a connection that died
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.InterfaceError):
        return True
    if isinstance(exc, sa_exc.OperationalError):
        if type(exc.orig).__module__.startswith("sqlite3"):
            text = str(exc.orig).lower()
            return any(word in text for word in _SQLITE_UNAVAILABLE)
        return True  # PostgreSQL: connection, server shutdown, lock or statement timeout
    return False


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:
        log.warning(
            "rollback failed; the connection is dropped", extra={"request_id": request_id()}
        )
        try:
            db.session.close()
        except Exception:
            log.warning("closing the session failed", extra={"request_id": request_id()})


def _without_database() -> None:
    """The rest of this request renders without the database: no account, no session row."""
    g._login_user = login_manager.anonymous_user()
    forget = getattr(session, "forget_unloaded", None)
    if forget is not None:
        forget()


# The free-text fields of the portal's forms (a message, a correction, where to find me, a
# staff note): what someone wrote is given back on the 503 page, not lost (R69).
TYPED_TEXT_FIELDS = ("body", "text", "place", "times", "note", "reason", "description")


def typed_text() -> list[str]:
    """What the person wrote in this POST's free-text fields, to copy from the 503 page. It
    goes back only to the page of the browser that sent it (R28: nothing is stored)."""
    if request.method != "POST":
        return []
    try:
        return [
            value[:20_000]
            for name in TYPED_TEXT_FIELDS
            for value in request.form.getlist(name)
            if value.strip()
        ][:5]
    except Exception:  # a body that cannot be read again: nothing to give back
        return []


def unavailable_response(exc: BaseException) -> Response:
    """503 with Retry-After and the friendly page: nothing was saved, try again shortly; what
    was written in the form is on the page to copy."""
    log.error(
        "database unavailable",
        extra={"request_id": request_id(), "error": type(exc).__name__},
    )
    _rollback_quietly()
    body, _ = error_page(503, typed=typed_text())
    return Response(body, 503, headers={"Retry-After": "30"}, mimetype="text/html")


def failed_commit_response(exc: BaseException) -> Response:
    """The request's commit failed (web.finish_requests): nothing it did was saved."""
    if database_unavailable(exc):
        return unavailable_response(exc)
    log.error("commit failed", exc_info=exc, extra={"request_id": request_id()})
    _rollback_quietly()
    body, _ = error_page(500)
    return Response(body, 500, mimetype="text/html")


def _retry_after_limit() -> str:
    """Seconds until the limit that refused this request lets the next one through."""
    import time

    from portal.extensions import limiter

    try:
        reset_at = limiter.current_limit.reset_at if limiter.current_limit else None
    except Exception:  # the limit store is unreachable: a minute is a fair guess
        reset_at = None
    if not reset_at:
        return "60"
    return str(max(int(reset_at - time.time()), 1))


def _log_denial(subject: tuple[str, str], details: dict) -> None:
    """Audit a denial in a transaction of its own (the request's work is rolled back). If
    that cannot be written the page still answers."""
    _rollback_quietly()
    try:
        will_write()
        audit.record("access.denied", subject, outcome="denied", details=details)
        db.session.commit()
    except Exception as exc:
        log.error(
            "denial not audited",
            extra={"request_id": request_id(), "error": type(exc).__name__},
        )
        _rollback_quietly()


def init_app(app: Flask) -> None:  # noqa: C901 - every error page in one place: short handlers
    app.before_request(_reject_cross_site_writes)
    app.after_request(_set_headers)

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        if exc.subject is not None:
            _log_denial(exc.subject, {"endpoint": request.endpoint})
        return error_page(404)

    @app.errorhandler(Forbidden)
    def _forbidden(exc: Forbidden):
        _log_denial(("route", request.endpoint or "unknown"), {"capability": exc.capability})
        return error_page(403)

    @app.errorhandler(NotReady)
    def _not_ready(exc: NotReady):
        _rollback_quietly()
        return error_page(409, message=str(exc.message))

    @app.errorhandler(StorageUnavailable)
    def _storage_down(exc: StorageUnavailable):
        log.error("document storage unavailable", extra={"request_id": request_id()})
        _rollback_quietly()
        body, _ = error_page(503)
        return Response(body, 503, headers={"Retry-After": "30"}, mimetype="text/html")

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        from portal.web import ended_session_response

        # The token died with a session that has ended since the page was shown: that is
        # being signed out, not a broken form.
        return ended_session_response() or error_page(400, reason="csrf")

    @app.errorhandler(sa_exc.SQLAlchemyError)
    def _database_error(exc: sa_exc.SQLAlchemyError):
        if database_unavailable(exc):
            return unavailable_response(exc)
        return _unexpected(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = exc.code or 500
        if code not in ERROR_TITLES:
            return exc
        original = getattr(exc, "original_exception", None)
        if code == 500 and original is not None:
            return _unexpected(original)  # raised outside a view: what was it?
        if code == 429:
            body, _ = error_page(429)
            return Response(
                body, 429, headers={"Retry-After": _retry_after_limit()}, mimetype="text/html"
            )
        return error_page(code)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        if database_unavailable(exc):
            return unavailable_response(exc)
        log.error("unhandled error", exc_info=exc, extra={"request_id": request_id()})
        _rollback_quietly()
        return error_page(500)
