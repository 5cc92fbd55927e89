"""The request lifecycle shared by both blueprints.

- A session interface over `portal.domain.accounts.sessions`: rows for signed-in sessions (the
  cookie is a random id), a signed cookie for anonymous visitors (no row).
- Who is signed in (Flask-Login's request loader reads the session row's account).
- The action context for the audit log, and one transaction per request: a GET reads (on
  SQLite it does not take the write lock unless it must write), other methods may write; the
  session row's changes join the request's work, and successful responses commit once
  (error responses roll back). A commit that fails answers 503 (the database is busy or
  gone) or 500, never a success for work that was not saved.
- Helpers views use: `start_session`, `end_session`, `attempt` (run a domain action and turn
  a refusal into a form error), `writes` (a GET view that writes).
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, g, has_request_context, request, session
from flask.sessions import SessionInterface, SessionMixin
from flask_babel import gettext
from flask_login import current_user
from itsdangerous import BadData, URLSafeTimedSerializer

from portal.domain.accounts import sessions
from portal.domain.accounts.signin import account_by_id, can_sign_in
from portal.domain.core import clock, context
from portal.domain.core.errors import DomainError
from portal.domain.core.session import reading, reset_intent, will_write
from portal.extensions import db, login_manager
from portal.settings import current as current_settings

log = logging.getLogger("portal.web")

ANONYMOUS_KEYS = frozenset({"csrf_token", "lang", "signed_out"})
_ANONYMOUS_SALT = "portal.anonymous-session"
# Flashed notices ("Saved.") travel in a signed cookie of their own for everyone, so showing one
# on the page after a form does not write the session row (on SQLite that halved the write
# transactions of a crowd using forms).
NOTICES = "_flashes"
_NOTICE_SALT = "portal.notice"
NOTICE_SECONDS = 600


class ServerSession(SessionMixin):
    """The session of one request.

    Signed in, or in a flow that binds state to this browser (an invitation being redeemed),
    it is a row of `user_sessions`: the cookie holds a random id, and the row is loaded when
    the request first uses the session. A visitor with nothing to keep gets no row: the few
    keys an anonymous page needs (`ANONYMOUS_KEYS`: the CSRF token, the language, why they
    were signed out) travel in a signed cookie instead. Flashed notices, for everyone, travel
    in a second signed cookie (`NOTICES`).
    """

    def __init__(
        self, *, sid: str | None = None, data: dict | None = None, stale=False, notices=None
    ):
        self.sid = sid  # the cookie's id while it names a row
        self._data = data  # None until the row is loaded
        self.notices = notices  # flashed notices (their own cookie)
        self.notices_changed = False
        self.row_id: int | None = None
        self.account_kind: str | None = None
        self.account_id: int | None = None
        self.idle_deadline: datetime | None = None
        self.modified = False
        self.rotate = False
        self.ended = False
        self.cookie_changed = stale  # the browser's cookie must be replaced or removed
        self.detached = False  # the row could not be read: leave the cookie as it is
        # The cookie named a signed-in session that has ended since (timed out, or ended by
        # staff, a password change, a deactivation): the account kind it belonged to.
        self.ended_kind: str | None = None

    # --- loading ---------------------------------------------------------------------------
    @property
    def data(self) -> dict:
        if self._data is None:
            self._open_row()
        return self._data  # type: ignore[return-value]

    def _open_row(self) -> None:
        row, why = sessions.load(self.sid)
        if row is None:
            if why is not None:
                self.ended_kind = sessions.kind_of_sid(self.sid)
            self.sid = None
            self._data = {}
            self.cookie_changed = True  # a dead id: replace it (or remove it)
            if why in ("idle_timeout", "absolute_timeout"):
                self["signed_out"] = why  # so the sign-in page can say why
            return
        self._data = dict(row.data or {})
        self.row_id, self.account_kind, self.account_id = row.id, row.account_kind, row.account_id
        self.rotate = row.rotate_pending
        self.idle_deadline = sessions.keep_alive(row)
        if self.idle_deadline is None:  # ended by another request a moment ago
            self.ended_kind = self.account_kind
            self._data, self.row_id, self.account_kind, self.account_id = {}, None, None, None
            self.sid, self.cookie_changed = None, True
            return
        sessions.load_account(self.account_kind, self.account_id)

    def unloaded(self) -> bool:
        return self._data is None

    def forget_unloaded(self) -> None:
        """Stop using the database for this session (it is busy or down): an unloaded session
        is empty for the rest of the request, and this response leaves the cookie alone."""
        if self._data is None:
            self._data = {}
            self.sid = None
            self.detached = True

    def account(self) -> tuple[str | None, int | None]:
        self.data  # noqa: B018 - loads the row
        return self.account_kind, self.account_id

    @property
    def new(self) -> bool:
        return self.row_id is None

    # --- the mapping -----------------------------------------------------------------------
    def __getitem__(self, key):
        if key == NOTICES:
            if self.notices is None:
                raise KeyError(key)
            return self.notices
        return self.data[key]

    def __setitem__(self, key, value) -> None:
        if key == NOTICES:
            self.notices, self.notices_changed = value, True
            return
        self.data[key] = value
        self.modified = True

    def __delitem__(self, key) -> None:
        if key == NOTICES:
            if self.notices is None:
                raise KeyError(key)
            self.notices, self.notices_changed = None, True
            return
        del self.data[key]
        self.modified = True

    def __iter__(self) -> Iterator:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, key) -> bool:
        if key == NOTICES:
            return self.notices is not None
        return key in self.data

    def clear(self) -> None:
        self.data.clear()
        self.modified = True
        if self.notices is not None:
            self.notices, self.notices_changed = None, True


class ServerSessionInterface(SessionInterface):
    def _signer(self, app: Flask, salt: str = _ANONYMOUS_SALT) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(app.secret_key, salt=salt)

    def _notices(self, app: Flask, request):
        raw = request.cookies.get(current_settings().cookie_name + "-notice")
        if not raw:
            return None
        try:
            notices = self._signer(app, _NOTICE_SALT).loads(raw, max_age=NOTICE_SECONDS)
        except BadData:
            return None
        return notices if isinstance(notices, list) else None

    def open_session(self, app: Flask, request) -> ServerSession:
        if request.path.startswith(app.static_url_path + "/"):
            return ServerSession(data={})  # static files need no session (and no database)
        raw = request.cookies.get(current_settings().cookie_name)
        notices = self._notices(app, request)
        if not raw:
            return ServerSession(data={}, notices=notices)
        if "." not in raw:  # a random id (base64url has no dots): the row loads when used
            return ServerSession(sid=raw, notices=notices)
        _idle, absolute = current_settings().timeouts(None)
        try:
            data = self._signer(app).loads(raw, max_age=int(absolute.total_seconds()))
        except BadData:
            return ServerSession(data={}, stale=True, notices=notices)
        if not isinstance(data, dict):
            return ServerSession(data={}, stale=True, notices=notices)
        return ServerSession(
            data={k: v for k, v in data.items() if k in ANONYMOUS_KEYS}, notices=notices
        )

    def _save_notices(self, app: Flask, session: ServerSession, response, cookie: dict) -> None:
        if not session.notices_changed:
            return
        name = current_settings().cookie_name + "-notice"
        if session.notices:
            value = self._signer(app, _NOTICE_SALT).dumps(list(session.notices))
            response.set_cookie(name, value, **cookie)
        else:
            response.delete_cookie(name, **cookie)

    def save_session(self, app: Flask, session: ServerSession, response: Response) -> None:
        """Only the cookie: what the session row needed was written before the commit."""
        if not isinstance(session, ServerSession) or session.detached:
            return
        settings = current_settings()
        name = settings.cookie_name
        cookie = {"httponly": True, "secure": settings.uses_tls, "samesite": "Lax", "path": "/"}
        if not session.unloaded():
            response.vary.add("Cookie")
        self._save_notices(app, session, response, cookie)
        if session.ended:
            response.delete_cookie(name, **cookie)
            return
        if session.row_id is not None:
            if session.cookie_changed:
                # A session cookie: no Expires or Max-Age, so it dies with the browser (R23).
                response.set_cookie(name, session.sid, **cookie)
            return
        if not (session.modified or session.cookie_changed) or session.unloaded():
            return
        kept = {k: session[k] for k in ANONYMOUS_KEYS if k in session}
        if kept:
            response.set_cookie(name, self._signer(app).dumps(kept), **cookie)
        else:
            response.delete_cookie(name, **cookie)


def persist_session() -> None:
    """Write what this request changed in its session row, inside the request's transaction
    (called just before the commit). An anonymous session that now holds more than the
    anonymous keys (a flow binding state to this browser) gets its row here."""
    current = session._get_current_object()
    if not isinstance(current, ServerSession) or current.ended or current.unloaded():
        return
    if current.row_id is None:
        if current.modified and set(current.keys()) - ANONYMOUS_KEYS:
            will_write()
            current.sid = sessions.new_sid(None)
            row = sessions.create(
                current.sid,
                dict(current),
                ip=request.remote_addr,
                user_agent=request.user_agent.string,
            )
            current.row_id, current.cookie_changed = row.id, True
        return
    if current.rotate or current.modified:
        will_write()
        new_sid = sessions.new_sid(current.account_kind) if current.rotate else None
        sessions.save(current.row_id, data=dict(current) if current.modified else None, sid=new_sid)
        if new_sid is not None:
            current.sid, current.rotate, current.cookie_changed = new_sid, False, True


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
    like sign-in, and a throttled or suspended account is refused whatever is typed."""
    from portal.domain.accounts.recovery import CURRENT_PASSWORD_REFUSALS
    from portal.domain.accounts.signin import confirm_password

    if recently_authenticated() and not always:
        return True
    refusal = confirm_password(current_user, form.password.data or "")
    if refusal is None:
        session["authenticated_at"] = clock.now().isoformat()
        return True
    message = (
        CURRENT_PASSWORD_REFUSALS["throttled"]
        if refusal == "throttled"
        else gettext("Your password is not right. Type the password you sign in with.")
    )
    form.password.errors = [*list(form.password.errors or []), str(message)]
    return False


def start_session(account) -> None:
    """Sign `account` in: a brand-new session id and row; the old one ends (no fixation)."""
    will_write()
    keep = {k: session[k] for k in ("lang",) if k in session}
    keep["authenticated_at"] = clock.now().isoformat()
    # A new CSRF token with the new session (Flask-WTF's key and form): none survives from
    # before sign-in, and the first page after it has nothing to write.
    keep["csrf_token"] = secrets.token_hex(20)
    if session.row_id:
        old = db.session.get(sessions.UserSession, session.row_id)
        if old is not None:
            sessions.end(old, "rotated")
    session.sid = sessions.new_sid(account.kind)
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
    session.idle_deadline = row.last_seen_at + current_settings().timeouts(account.kind)[0]
    session.rotate = False
    session.modified = False  # the row holds `keep` already
    session.cookie_changed = True


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


def mark_active() -> None:
    """ "Stay signed in": the idle timeout starts again now, whenever it was last written."""
    if session.row_id is not None:
        will_write()
        session.idle_deadline = sessions.keep_alive_now(session.row_id, session.account_kind)


def idle_seconds() -> int | None:
    """Seconds until the signed-in session's idle timeout, for the warning script (None when
    signed out)."""
    if not has_request_context() or not current_user.is_authenticated:
        return None  # e.g. mail rendered by the worker
    deadline = getattr(session, "idle_deadline", None)
    if deadline is None:
        idle, _absolute = current_settings().timeouts(current_user.kind)
        return int(idle.total_seconds())
    return max(math.ceil((deadline - clock.now()).total_seconds()), 1)


def current_session_row():
    return db.session.get(sessions.UserSession, session.row_id) if session.row_id else None


@login_manager.request_loader
def _load_account(_request):
    if not isinstance(session._get_current_object(), ServerSession):
        return None
    kind, account_id = session.account()
    if account_id is None:
        return None
    account = account_by_id(kind, account_id)
    if account is None:
        return None
    if not can_sign_in(account):
        # Deactivated or suspended since this session began: fail closed, end it now.
        will_write()
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


def sign_in_rate_limit(view):
    """Per-IP limit on sign-in POSTs that fail (`SIGN_IN_IP_LIMIT`). Successes never count: a
    shelter's Wi-Fi is one address for everyone there, and 200 people signing in from it
    must not use each other up. Guessing one account is stopped by the per-account throttle
    (in the database), guessing many from one address by this limit."""
    from portal.extensions import limiter

    return limiter.limit(
        lambda: current_settings().sign_in_ip_limit,
        methods=["POST"],
        deduct_when=_did_not_go_through,
    )(view)


def sign_in_page(kind: str, *, template: str, home: str):
    """The sign-in page for either account kind: the same answer for every refusal (R17)."""
    from flask import redirect, render_template, url_for
    from flask_babel import gettext

    from portal.domain.accounts.signin import sign_in
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


def ended_session_response() -> Response | None:
    """A form sent from a page whose signed-in session has ended since (timed out, or ended by
    staff, a password change, a deactivation) fails the CSRF check: its token lived in that
    session. The view did not run, so nothing was written: answer with the sign-in page for
    that kind of account, which says they were signed out (and comes back to the page if it
    can be opened), not with "the page could not use what was sent". None for any other CSRF
    failure (a live session with a wrong token, no session at all): that stays a 400."""
    from flask import current_app, redirect, url_for
    from werkzeug.exceptions import HTTPException

    current = session._get_current_object()
    kind = getattr(current, "ended_kind", None)
    if kind not in ("client", "staff") or current_user.is_authenticated:
        return None
    session["signed_out"] = session.get("signed_out") or "ended"  # the sign-in page says why
    back = {}
    try:  # the page itself, when it is one a browser can open (not a POST-only action)
        current_app.create_url_adapter(request).match(request.path, method="GET")
        back = {"next": request.full_path.rstrip("?")}
    except HTTPException:
        pass
    view = "staff_bridge.sign_in" if kind == "staff" else "client.sign_in"
    return redirect(url_for(view, **back), code=303)


def without_csrf_token(view):
    """A POST that needs no CSRF token: only "Leave quickly", whose one effect is ending the
    sender's own session (a refusal would keep someone on a page they need to hide)."""
    from portal.extensions import csrf

    return csrf.exempt(view)


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
    from portal.domain.accounts import recovery

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
    """A rate limit per client address on POSTs that fail (invitation steps, printed codes:
    R6); like sign-in, what goes through does not count."""
    from portal.extensions import limiter

    return limiter.limit(limit, methods=["POST"], deduct_when=_did_not_go_through)


def per_ip_read_limit(limit: str):
    """A limit on every request to the view per client IP (a public read-only API)."""
    from portal.extensions import limiter

    return limiter.limit(limit)
