"""The session store: a row per signed-in session (the cookie holds a random id), a signed
cookie for anonymous visitors, short-lived notices."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from flask import Flask, Response, request, session
from flask.sessions import SessionInterface, SessionMixin
from itsdangerous import BadData, URLSafeTimedSerializer

from portal.domain.accounts import sessions
from portal.domain.core.session import will_write
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
        # A session begun through a single sign-on provider: its row's sealed `sso_state`.
        self.sso_state: str | None = None

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
        self.sso_state = row.sso_state
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
