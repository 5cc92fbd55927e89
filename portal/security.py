"""The security baseline, in one place.

Headers on every response (CSP with a per-request nonce, HSTS, nosniff, frame-ancestors,
no-referrer, Permissions-Policy, no-store), Fetch-Metadata rejection of cross-site writes,
safe `next=` redirects, and the error pages (no traceback, a correlation id).
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from portal.domain import audit
from portal.domain.errors import Forbidden, NotFound, NotReady
from portal.extensions import db
from portal.integrations.storage import StorageUnavailable

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


def content_security_policy(nonce: str) -> str:
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
            "form-action 'self'",
        ]
    )


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
        headers["Content-Security-Policy"] = content_security_policy(nonce())
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
    reference = request_id()
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


def _log_denial(subject: tuple[str, str], details: dict) -> None:
    db.session.rollback()
    audit.record("access.denied", subject, outcome="denied", details=details)
    db.session.commit()


def init_app(app: Flask) -> None:
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
        db.session.rollback()
        return error_page(409, message=str(exc.message))

    @app.errorhandler(StorageUnavailable)
    def _storage_down(exc: StorageUnavailable):
        log.error("document storage unavailable", extra={"request_id": request_id()})
        db.session.rollback()
        body, _ = error_page(503)
        return Response(body, 503, headers={"Retry-After": "30"}, mimetype="text/html")

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return error_page(400, reason="csrf")

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):
        log.error("database unavailable", extra={"request_id": request_id()})
        db.session.rollback()
        body, _ = error_page(503)
        return Response(body, 503, headers={"Retry-After": "30"}, mimetype="text/html")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = exc.code or 500
        if code not in ERROR_TITLES:
            return exc
        if code == 429:
            body, _ = error_page(429)
            return Response(body, 429, headers={"Retry-After": "60"}, mimetype="text/html")
        return error_page(code)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        log.exception("unhandled error", extra={"request_id": request_id()})
        return error_page(500)
