"""The request lifecycle shared by both blueprints.

- A server-side session interface over `portal.domain.sessions` (the cookie is a random id).
- Who is signed in (Flask-Login's request loader reads the session row's account).
- The action context for the audit log, and one commit per request: successful responses
  commit, error responses roll back.
- Helpers views use: `start_session`, `end_session`, `attempt` (run a domain action and turn
  a refusal into a form error).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, g, has_request_context, request, session
from flask.sessions import SessionInterface, SessionMixin
from flask_login import current_user
from werkzeug.datastructures import CallbackDict

from portal.domain import clock, context, sessions
from portal.domain.accounts import account_by_id, can_sign_in
from portal.domain.errors import DomainError
from portal.extensions import db, login_manager
from portal.settings import current as current_settings


class ServerSession(CallbackDict, SessionMixin):
    def __init__(self, initial=None, *, sid=None, row_id=None, account_kind=None, account_id=None):
        def on_update(_):
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.sid = sid
        self.row_id = row_id
        self.account_kind = account_kind
        self.account_id = account_id
        self.modified = False
        self.rotate = False
        self.ended = False

    @property
    def new(self) -> bool:
        return self.row_id is None


class ServerSessionInterface(SessionInterface):
    def open_session(self, app: Flask, request) -> ServerSession:
        if request.path.startswith(app.static_url_path + "/"):
            return ServerSession()  # static files need no session (and no database)
        sid = request.cookies.get(current_settings().cookie_name)
        row, why = sessions.load(sid)
        if row is None:
            fresh = ServerSession()
            if why in ("idle_timeout", "absolute_timeout"):
                db.session.commit()  # keep the "ended" mark and its audit event
                fresh["signed_out"] = why  # so the sign-in page can say why
            return fresh
        opened = ServerSession(
            dict(row.data or {}),
            sid=sid,
            row_id=row.id,
            account_kind=row.account_kind,
            account_id=row.account_id,
        )
        opened.rotate = row.rotate_pending
        return opened

    def save_session(self, app: Flask, session: ServerSession, response: Response) -> None:
        settings = current_settings()
        name = settings.cookie_name
        cookie = {
            "httponly": True,
            "secure": settings.uses_tls,
            "samesite": "Lax",
            "path": "/",
        }
        if session.ended:
            response.delete_cookie(name, **cookie)
            return
        row = db.session.get(sessions.UserSession, session.row_id) if session.row_id else None
        if row is None:
            if not session.modified or not dict(session):
                return
            session.sid = sessions.new_sid()
            row = sessions.create(
                session.sid,
                dict(session),
                ip=request.remote_addr,
                user_agent=request.user_agent.string,
            )
        else:
            if session.rotate:
                session.sid = sessions.new_sid()
                row.sid_hash = sessions.hash_sid(session.sid)
                row.rotate_pending = False
            sessions.touch(row, dict(session) if session.modified else None)
        db.session.commit()
        # A session cookie: no Expires or Max-Age, so it dies with the browser (R23).
        response.set_cookie(name, session.sid, **cookie)
        response.vary.add("Cookie")


REAUTH_VALID_FOR = timedelta(minutes=5)


def recently_authenticated() -> bool:
    """Whether the password was typed in this session in the last 5 minutes (R27)."""
    stamp = session.get("authenticated_at")
    try:
        at = datetime.fromisoformat(stamp) if stamp else None
    except ValueError:
        return False
    return at is not None and clock.now() - at < REAUTH_VALID_FOR


def reauthenticate(form, *, always: bool = False) -> bool:
    """For a sensitive action: True when the password was typed recently (unless `always`) or
    is typed now in `form.password`; otherwise puts the refusal on the form. Failures count
    like sign-in."""
    from flask_babel import gettext

    from portal.domain.accounts import confirm_password

    if recently_authenticated() and not always:
        return True
    if confirm_password(current_user, form.password.data or ""):
        session["authenticated_at"] = clock.now().isoformat()
        return True
    form.password.errors = [
        *list(form.password.errors or []),
        gettext("Your password is not right. Type the password you sign in with."),
    ]
    return False


def start_session(account) -> None:
    """Sign `account` in: a brand-new session id and row; the old one ends (no fixation)."""
    keep = {k: session[k] for k in ("lang",) if k in session}
    keep["authenticated_at"] = clock.now().isoformat()
    if session.row_id:
        old = db.session.get(sessions.UserSession, session.row_id)
        if old is not None:
            sessions.end(old, "rotated")
    session.sid = sessions.new_sid()
    row = sessions.create(
        session.sid,
        keep,
        account=account,
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    session.clear()
    session.update(keep)
    session.row_id = row.id
    session.account_kind = account.kind
    session.account_id = account.id
    session.modified = True


def end_session(reason: str = "signed_out") -> None:
    if session.row_id:
        row = db.session.get(sessions.UserSession, session.row_id)
        if row is not None:
            sessions.end(row, reason)
    session.clear()
    session.ended = True


def discard_changes() -> None:
    """Roll back what this request changed so far (its commit then has nothing to write)."""
    db.session.rollback()


def rotate_session_id() -> None:
    """A new session id for this browser after a privilege or credential change (R22)."""
    session.rotate = True


def idle_seconds() -> int | None:
    """The signed-in person's idle timeout, for the warning script (None when signed out)."""
    if not has_request_context() or not current_user.is_authenticated:
        return None  # e.g. mail rendered by the worker
    idle, _absolute = current_settings().timeouts(current_user.kind)
    return int(idle.total_seconds())


def current_session_row():
    return db.session.get(sessions.UserSession, session.row_id) if session.row_id else None


@login_manager.request_loader
def _load_account(_request):
    kind = getattr(session, "account_kind", None)
    account = account_by_id(kind, getattr(session, "account_id", None))
    if account is None:
        return None
    if not can_sign_in(account):
        # Deactivated or suspended since this session began: fail closed, end it now.
        end_session("account_inactive")
        return None
    return account


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
    from portal import security
    from portal.access import require_declaration

    app.session_interface = ServerSessionInterface()
    app.before_request(require_declaration)

    @app.before_request
    def _request_context() -> None:
        actor = current_user._get_current_object() if current_user.is_authenticated else None
        g.context_token = context.set_context(
            context.ActionContext(
                ip=request.remote_addr,
                request_id=security.request_id(),
                user_agent=request.user_agent.string[:255],
                actor=actor,
            )
        )

    @app.after_request
    def _commit(response: Response) -> Response:
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response

    @app.teardown_request
    def _reset_context(exc) -> None:
        token = g.pop("context_token", None)
        if token is not None:
            context.reset_context(token)


def sign_in_rate_limit(view):
    """Per-IP limit on sign-in POSTs (configurable; generous, shelter Wi-Fi is shared)."""
    from portal.extensions import limiter

    return limiter.limit(lambda: current_settings().sign_in_ip_limit, methods=["POST"])(view)


def sign_in_page(kind: str, *, template: str, home: str):
    """The sign-in page for either account kind: the same answer for every refusal (R17)."""
    from flask import redirect, render_template, url_for
    from flask_babel import gettext

    from portal.domain.accounts import sign_in
    from portal.forms import SignInForm
    from portal.security import safe_next

    form = SignInForm()
    timed_out = None
    if request.method == "GET":
        timed_out = session.pop("signed_out", None)
        form.next.data = request.args.get("next", "")
    elif form.validate_on_submit():
        result = sign_in(kind, form.email.data or "", form.password.data or "")
        if result.ok:
            start_session(result.account)
            return redirect(safe_next(form.next.data, url_for(home)), code=303)
        form.form_errors.append(
            gettext(
                "The email or password is not right. After several tries you need to wait a few "
                "minutes before you try again."
            )
        )
    return render_template(template, form=form, timed_out=timed_out)


def sign_out_response(destination: str):
    """End the session (the POST passed CSRF already) and tell the browser to forget it all."""
    from flask import redirect

    end_session("signed_out")
    response = redirect(destination, code=303)
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


def change_own_password(form) -> bool:
    """The "change my password" form of either blueprint: the current password, then the new
    one; every other session ends and this browser gets a new session id (R22)."""
    from portal.domain import recovery

    ok, _r = attempt(
        form,
        recovery.change_password,
        current_user,
        form.current_password.data or "",
        form.new_password.data or "",
        keep=current_session_row(),
    )
    if ok:
        rotate_session_id()
    return ok


def end_own_sessions(which: str) -> int | None:
    """The sessions page's POST, after `reauthenticate`: end one session by public id, or
    "others". Returns how many ended, or None when `which` is this very session (the caller
    then signs out with `sign_out_response`)."""
    current = current_session_row()
    if current is not None and which == str(current.public_id):
        return None
    if which == "others":
        return sessions.end_all_for(current_user, "ended_by_user", except_row=current)
    return int(sessions.end_one_for(current_user, which))


def per_staff_limit(limit: str):
    """A rate limit per signed-in person on POSTs (e.g. 20 invitations an hour, R12; 5 email
    changes an hour for a client)."""
    from portal.extensions import limiter

    def key() -> str:
        return (
            f"staff:{current_user.get_id()}"
            if current_user.is_authenticated
            else request.remote_addr
        )

    return limiter.limit(limit, methods=["POST"], key_func=key)


per_account_limit = per_staff_limit


def per_ip_limit(limit: str):
    """A rate limit per client address on POSTs (invitation steps, R6)."""
    from portal.extensions import limiter

    return limiter.limit(limit, methods=["POST"])


def per_ip_read_limit(limit: str):
    """A limit on every request to the view per client IP (a public read-only API)."""
    from portal.extensions import limiter

    return limiter.limit(limit)
