"""Who is signed in: starting, ending and rotating sessions, a fresh password for risky
steps, idle time, and Flask-Login's loader."""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta

from flask import has_request_context, request, session
from flask_babel import gettext
from flask_login import current_user

from portal.domain.accounts import sessions, sso_sessions
from portal.domain.accounts.signin import account_by_id, can_sign_in
from portal.domain.core import clock, crypto
from portal.domain.core.session import will_write
from portal.extensions import db, login_manager
from portal.settings import current as current_settings
from portal.web._session import ServerSession

REAUTH_VALID_FOR = timedelta(minutes=5)


def recently_authenticated() -> bool:
    """Whether the password (and, for staff with a second factor, a code or a passkey) was
    given in this session in the last 5 minutes (R27): at sign-in or by `reauthenticate`."""
    stamp = session.get("authenticated_at")
    try:
        at = datetime.fromisoformat(stamp) if stamp else None
    except ValueError:
        return False
    return at is not None and clock.now() - at < REAUTH_VALID_FOR


def reauthenticate(form, *, always: bool = False) -> bool:
    """For a sensitive action: True when the password (and, for staff with a second factor,
    a code in `form.code`) was given recently (unless `always`) or is given now; otherwise
    puts the refusal on the form. Failures count like sign-in, and a throttled or suspended
    account is refused whatever is typed."""
    from portal.domain.accounts import factors
    from portal.domain.accounts.recovery import CURRENT_PASSWORD_REFUSALS
    from portal.domain.accounts.signin import confirm_password, confirm_second_factor
    from portal.web._pages import take_challenge

    if recently_authenticated() and not always:
        return True
    with_factor = current_user.kind == "staff" and factors.has_factor(current_user)
    if current_user.password_hash is None and with_factor:
        refusal = None  # an account made by single sign-on has no password: the factor alone
    else:
        refusal = confirm_password(
            current_user, form.password.data or "", second_factor_follows=with_factor
        )
    field = form.password
    if refusal is None and with_factor:
        code = form.code.data if hasattr(form, "code") else ""
        passkey = form.passkey.data if hasattr(form, "passkey") else ""
        challenge = take_challenge("reauth") if passkey else None
        refusal = confirm_second_factor(
            current_user, code or "", passkey=passkey, challenge=challenge
        )
        field = form.code
    if refusal is None:
        session["authenticated_at"] = clock.now().isoformat()
        return True
    if refusal == "throttled":
        message = CURRENT_PASSWORD_REFUSALS["throttled"]
    elif field is form.password:
        message = gettext("Your password is not right. Type the password you sign in with.")
    else:
        message = str(factors.WRONG_CODE)
    field.errors = [*list(field.errors or []), str(message)]
    return False


def start_session(account, *, sso: dict | None = None) -> None:
    """Sign `account` in: a brand-new session id and row; the old one ends (no fixation).
    `sso` (a sign-in through an identity provider: its key and sealed refresh token) is kept
    in the row for the hourly check with the provider (`staff_bridge.sso`)."""
    will_write()
    keep = {k: session[k] for k in ("lang",) if k in session}
    keep["authenticated_at"] = clock.now().isoformat()
    # A new CSRF token with the new session (Flask-WTF's key and form): none survives from
    # before sign-in, and the first page after it has nothing to write.
    keep["csrf_token"] = secrets.token_hex(20)
    if session.row_id:
        old = db.session.get(sessions.UserSession, session.row_id)
        if old is not None:
            sessions.replace(old)
    session.sid = sessions.new_sid(account.kind)
    row = sessions.create(
        session.sid,
        keep,
        account=account,
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    if sso:
        refresh = sso.get("refresh")
        session.sso_state = sso_sessions.begin(
            row, sso["provider"], crypto.decrypt_text(refresh) if refresh else None
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
