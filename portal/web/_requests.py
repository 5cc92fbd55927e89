"""One transaction per request: write intent, uploads, `attempt()` for a form's domain call,
the failed-commit path, request ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, request, session
from flask_login import current_user

from portal.domain.core import context
from portal.domain.core.errors import DomainError
from portal.domain.core.session import reading, reset_intent
from portal.extensions import db
from portal.web._session import ServerSessionInterface, log, persist_session


def writes(view):
    """Mark a GET view that writes (it marks something read, say): its transaction may write
    from the start, so on SQLite it waits for the write lock instead of failing."""
    view.writes = True
    return view


def reads_first(view):
    """Mark a POST view that does slow work before it writes (checking a password: about
    0.2 s of Argon2): it begins as a reader, and the domain takes the write lock (`will_write`)
    only for the writes, so on SQLite other writers do not wait for the hashing."""
    view.reads_first = True
    return view


def accepts_uploads(view):
    """Mark a view that takes file uploads: its requests may be as large as one file
    (`UPLOAD_MAX_MB`) plus the form; every other request keeps the app's small limit."""
    view.accepts_uploads = True
    return view


def upload_limits() -> None:
    """Before anything reads the body (the CSRF check does): raise the limit for upload views."""
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "accepts_uploads", False):
        settings = current_app.extensions["portal.settings"]
        request.max_content_length = settings.upload_max_mb * 1024 * 1024 + 256 * 1024


def attempt(
    form, action: Callable[..., Any], *args, field_map: dict[str, str] | None = None, **kwargs
):
    """Run a domain action; on refusal roll back and put the message on the form.

    Returns (True, result) or (False, None).
    """
    try:
        return True, action(*args, **kwargs)
    except DomainError as refusal:
        if refusal.__class__ is not DomainError:
            raise  # NotFound and Forbidden become 404 and 403 pages
        db.session.rollback()
        if refusal.after_rollback is not None:
            refusal.after_rollback()
        form.refusal = refusal  # the page may answer with its status (503: try again)
        for each in (refusal, *refusal.more):
            name = (field_map or {}).get(each.field or "", each.field)
            field = getattr(form, name, None) if name else None
            if field is not None and hasattr(field, "errors"):
                field.errors = [*list(field.errors or []), str(each.message)]
            else:
                form.form_errors.append(str(each.message))
        return False, None


def init_app(app: Flask) -> None:
    """Hooks that open the request; `finish_requests` (registered last, so it runs first among
    the after-request hooks) closes it."""
    from portal.access import require_declaration

    app.session_interface = ServerSessionInterface()
    settings = app.extensions["portal.settings"]
    if settings.is_production and settings.memory_rate_limits:
        app.before_request(_refuse_memory_limits_across_processes)

    @app.before_request
    def _declare_intent() -> None:
        # Before anything touches the database: the session row loads on first use.
        view = app.view_functions.get(request.endpoint or "")
        if request.method in ("GET", "HEAD", "OPTIONS"):
            if not getattr(view, "writes", False):
                g.intent_token = reading()
        elif getattr(view, "reads_first", False):
            g.intent_token = reading()

    app.before_request(require_declaration)

    @app.before_request
    def _request_context() -> None:
        actor = current_user._get_current_object() if current_user.is_authenticated else None
        g.context_token = context.set_context(
            context.ActionContext(
                ip=request.remote_addr,
                request_id=request_id(),
                user_agent=request.user_agent.string[:255],
                actor=actor,
            )
        )

    @app.teardown_request
    def _reset_context(exc) -> None:
        token = g.pop("context_token", None)
        if token is not None:
            context.reset_context(token)
        intent = g.pop("intent_token", None)
        if intent is not None:
            reset_intent(intent)


def _refuse_memory_limits_across_processes():
    """The start-up check sees `gunicorn -w 4` and WEB_CONCURRENCY, not a gunicorn config
    file: the WSGI server itself says whether other processes serve this app too. Rate limits
    counted in each process's memory would let several times the limit through, so such a
    deployment answers 503 until it sets RATELIMIT_STORAGE_URI."""
    if request.environ.get("wsgi.multiprocess"):
        from portal.security import error_page

        log.critical(
            "refusing to serve: several processes with an in-memory rate-limit store"
            " (set RATELIMIT_STORAGE_URI=redis://...)"
        )
        body, _ = error_page(503)
        return Response(body, 503, headers={"Retry-After": "30"}, mimetype="text/html")
    return None


def finish_requests(app: Flask) -> None:
    """One commit per request, as the first after-request hook (so the security headers and
    the rate-limit bookkeeping see the final response): a successful response writes the
    session row's changes and commits; an error response rolls back. A commit that fails
    becomes a 503 (database busy or gone) or a 500, so work that was not saved never answers
    as a success, and work that was saved never answers as an error."""
    from portal import security

    @app.after_request
    def _finish(response: Response) -> Response:
        if response.status_code >= 400:
            db.session.rollback()
            return response
        try:
            persist_session()
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            session.cookie_changed = False
            return security.failed_commit_response(exc)
        return response


def request_id() -> str:
    from portal.security import request_id as make

    return make()


def _did_not_go_through(response: Response) -> bool:
    """A form that worked redirects onwards (303); anything else is a failed attempt."""
    return response.status_code != 303
