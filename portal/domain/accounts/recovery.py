"""Password reset by email and password change, for either account kind (R18).

- Asking for a reset answers the same whether or not the account exists; at most
  `RESETS_PER_HOUR` links per account per hour; each new link revokes the earlier ones.
- A link works once, for `password_reset_valid_for` (24 hours by default), and only until the
  password changes. Opening it changes nothing; the POST with a new password does.
- After a reset or a change every other session ends, a notice goes to the account's email,
  and a reset never signs anyone in.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.domain.accounts import passwords, sessions
from portal.domain.accounts.signin import (
    account_by_email,
    account_by_id,
    check_current_password,
    record_refusal,
)
from portal.domain.core import audit, clock, mail, tokens
from portal.domain.core.errors import DomainError
from portal.domain.core.session import dbs
from portal.domain.core.validation import clean_email
from portal.domain.models import Account, AccountToken, Client, ClientAccount
from portal.settings import current as current_settings

PURPOSE = "password_reset"
RESETS_PER_HOUR = 3
LINK_USED = _l("This link has expired or was already used. Ask for a new one.")


def _greeting_name(account: Account) -> str:
    if isinstance(account, ClientAccount):
        return account.first_name
    return account.display_name


def client_context_words(client) -> list[str]:
    """What a client's password may not be built from: names, email, date of birth."""
    words = [client.first_name or "", client.last_name or "", client.email or ""]
    if client.dob:
        words += [client.dob.strftime(f) for f in ("%Y%m%d", "%m%d%Y", "%d%m%Y", "%Y")]
    return words


def _context_words(account) -> list[str]:
    agency = getattr(account, "agency", None)
    words = [_greeting_name(account), account.email, agency.name if agency else ""]
    client_id = getattr(account, "client_id", None)
    if client_id is not None:
        client = dbs().get(Client, client_id)
        if client is not None:
            words += client_context_words(client)
    return words


def request_reset(kind: str, email: str) -> None:
    """Email a reset link if the account exists and may sign in; otherwise do nothing. Only
    an empty or malformed address is refused (it cannot be anyone's, so saying so tells
    nothing): "Check your email" after an empty form would send a client off to wait."""
    email = clean_email(email)
    account = account_by_email(kind, email)
    # No password yet (an invited staff member, a reinstated client): staff send the way in
    # (a set-password link, a reset link or a printed code), never this public form.
    if account is None or not account.is_active or account.password_hash is None:
        return
    since = clock.now() - timedelta(hours=1)
    recent = dbs().scalar(
        select(func.count(AccountToken.id)).where(
            AccountToken.account_kind == account.kind,
            AccountToken.account_id == account.id,
            AccountToken.purpose == PURPOSE,
            AccountToken.created_at > since,
        )
    )
    if (recent or 0) >= RESETS_PER_HOUR:
        audit.record("password_reset.throttled", account, outcome="failure")
        return
    send_reset_link(account)
    audit.record("password_reset.requested", account)


def send_reset_link(account) -> None:
    """Queue a reset link (revoking earlier ones) to the account's sign-in email."""
    settings = current_settings()
    raw = tokens.issue(PURPOSE, account, settings.password_reset_valid_for)
    mail.queue(
        "password_reset",
        to=account.email,
        language=account.preferred_language,
        params={
            "name": _greeting_name(account),
            "hours": int(settings.password_reset_valid_for.total_seconds() // 3600),
            "audience": account.kind,  # which sign-in the link opens
        },
        secret_params={"token": raw},  # the link is built when it is sent
    )


def _live_account(kind: str, raw: str):
    token = tokens.find_live(raw, PURPOSE)
    if token is None or token.account_kind != kind:
        return None, None
    account = account_by_id(kind, token.account_id)
    stale = (
        account is not None
        and account.password_changed_at
        and account.password_changed_at > token.created_at
    )
    if account is None or not account.is_active or stale:
        return None, None
    return token, account


def reset_link_is_live(kind: str, raw: str) -> bool:
    return _live_account(kind, raw)[1] is not None


def set_password(account, new_password: str, *, field: str = "password") -> None:
    reasons = passwords.problems(new_password, _context_words(account))
    if reasons:
        raise DomainError(reasons[0], field=field)
    account.password_hash = passwords.hash_password(new_password)
    account.password_changed_at = clock.now()
    account.failed_sign_ins = 0
    account.throttled_until = None
    account.suspended_at = None  # the reset path lifts a suspension (R16)
    mail.queue(
        "password_changed",
        to=account.email,
        language=account.preferred_language,
        params={"name": _greeting_name(account)},
    )


def reset_password(kind: str, raw: str, new_password: str):
    token, account = _live_account(kind, raw)
    if account is None:
        raise DomainError(LINK_USED)
    set_password(account, new_password)
    if not tokens.consume(token):
        raise DomainError(LINK_USED)
    tokens.revoke_all(account)  # every other link and printed code dies with the old password
    sessions.end_all_for(account, "password_reset")
    audit.record("password_reset.completed", account, actor=account)
    return account


CURRENT_PASSWORD_REFUSALS = {
    "wrong": _l("Your current password is not right."),
    "throttled": _l(
        "You typed a wrong password too many times. Wait a few minutes, then try again."
    ),
}


def change_password(account, current_password: str, new_password: str, *, keep=None) -> None:
    """A signed-in change: the current password first (refused while the account is
    throttled or suspended; a wrong one counts like a failed sign-in); every other session
    ends."""
    refusal = check_current_password(account, current_password)
    if refusal is not None:
        raise DomainError(
            CURRENT_PASSWORD_REFUSALS[refusal],
            field="current_password",
            after_rollback=lambda: record_refusal(account, refusal, "password_change"),
        )
    set_password(account, new_password, field="new_password")
    tokens.revoke_all(account)
    sessions.end_all_for(account, "password_changed", except_row=keep)
    audit.record("password_changed", account)
