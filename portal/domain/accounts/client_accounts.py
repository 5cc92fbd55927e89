"""A client's portal account after onboarding (issue 4).

- Deactivation by staff of the owning agency (with a reason) or by the client: the account
  stops at once. Every session ends (the next request lands on sign-in), and every pending
  invitation, reset link and reset code is revoked. A client who leaves on their own is told
  how to come back, and their care team hears about it.
- Reinstatement by an agency administrator needs an identity check recorded after the
  deactivation and within `fresh_identity_check_within`. The old password is wiped (whoever
  got in may know it); the client gets a reset link by email or a printed reset code.
- Recovery without email: after a fresh identity check, staff print a one-time reset code
  (10 characters, stored as an HMAC, valid `reset_code_valid_for`). Typing it with a new
  password works once and signs nobody in.
- Privacy notice: an account that accepted an older version accepts the current one before
  anything else.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from portal.domain.accounts import recovery, sessions
from portal.domain.accounts.invitations import fresh_identity_check, new_code, normalize_code
from portal.domain.accounts.onboarding import PRIVACY_VERSION
from portal.domain.accounts.signin import account_by_email
from portal.domain.core import audit, clock, crypto, mail, tokens
from portal.domain.core.errors import DomainError, Forbidden
from portal.domain.core.roles import Capability
from portal.domain.core.session import dbs
from portal.domain.core.statuses import InvitationStatus
from portal.domain.core.validation import clean_email
from portal.domain.messaging import notifications
from portal.domain.models import AccountToken, Client, ClientAccount, ClientInvitation
from portal.domain.records.access_policy import can
from portal.domain.records.clients import people_to_tell
from portal.settings import current as current_settings

# What the staff notices this module sends say (declared in portal.domain.features).
NOTICES = {
    "client_account_deactivated": _l(
        "A client's portal account was deactivated by staff. Every session it had is signed out."
    ),
    "client_account_reinstated": _l(
        "A client's portal account was reinstated. They choose a new password before they sign in."
    ),
    "client_deactivated_self": _l(
        "A client closed their portal account. If they want it back, check their identity "
        "and ask an agency administrator to reinstate it."
    ),
}

RESET_CODE_PURPOSE = "reset_code"
SELF_DEACTIVATED = "self"
DEACTIVATION_REASONS = {
    "someone_else": _l("Someone else used the account"),
    "client_asked": _l("The client asked"),
    "other": _l("Other reason"),
}
REASON_LABELS = {**DEACTIVATION_REASONS, SELF_DEACTIVATED: _l("The client closed it in the portal")}
CODE_DOES_NOT_WORK = _l(
    "This code does not work. Check it, or ask your case manager for a new one."
)
NEEDS_FRESH_CHECK = _l(
    "Check the client's identity again first (full name and two facts, in the last "
    "%(minutes)d minutes)."
)


def account_of(client: Client) -> ClientAccount | None:
    return dbs().scalar(select(ClientAccount).where(ClientAccount.client_id == client.id))


def _audit(action: str, account: ClientAccount, **details) -> None:
    """Account events go on the client record's history (staff see them there)."""
    client = dbs().get(Client, account.client_id) if account.client_id else None
    details = {"account": str(account.public_id), **details}
    audit.record(action, client if client is not None else account, details=details)


def _fresh_check_message():
    minutes = int(current_settings().fresh_identity_check_within.total_seconds() // 60)
    return NEEDS_FRESH_CHECK % {"minutes": minutes}


def _stop(account: ClientAccount, reason: str) -> None:
    if not account.is_active:
        raise DomainError(_l("This portal account is already deactivated."))
    account.is_active = False
    account.deactivated_at = clock.now()
    account.deactivation_reason = reason
    sessions.end_all_for(account, "account_deactivated")
    tokens.revoke_all(account)  # reset links and reset codes
    dbs().execute(
        update(ClientInvitation)
        .where(
            ClientInvitation.client_id == account.client_id,
            ClientInvitation.status == InvitationStatus.PENDING,
        )
        .values(status=InvitationStatus.REVOKED, ended_at=clock.now())
    )
    _audit("client_account.deactivated", account, reason=reason)


def deactivate_by_staff(actor, client: Client, *, reason: str) -> ClientAccount:
    if not can(actor, "deactivate", client):
        raise Forbidden(Capability.DEACTIVATE_CLIENT_ACCOUNTS)
    if reason not in DEACTIVATION_REASONS:
        raise DomainError(_l("Choose why you are deactivating the account."), field="reason")
    account = account_of(client)
    if account is None:
        raise DomainError(_l("This client has no portal account."))
    _stop(account, reason)
    _tell_care_team(account, "client_account_deactivated", actor)
    return account


def deactivate_self(account: ClientAccount, *, confirmed: bool) -> None:
    """The client's own "Deactivate my account": immediate; the care team is told."""
    if not confirmed:
        raise DomainError(
            _l("Tick the box to confirm that you want to close your account."), field="confirm"
        )
    _stop(account, SELF_DEACTIVATED)
    _tell_care_team(account, "client_deactivated_self")


@dataclass
class Recovery:
    account: ClientAccount
    code: str | None  # a printed reset code, shown once; None when a link was emailed


def email_is_safe_for_recovery(account: ClientAccount) -> bool:
    """A reset link may go to the sign-in email unless someone else got into the account."""
    return bool(account.email_verified_at) and account.deactivation_reason != "someone_else"


def _tell_care_team(account: ClientAccount, kind: str, actor=None) -> None:
    client = dbs().get(Client, account.client_id) if account.client_id else None
    if client is None:
        return
    for staff in people_to_tell(client):
        if actor is None or staff.id != getattr(actor, "id", None):
            notifications.notify(staff, kind, params={"client": str(client.public_id)})


def _send_recovery(account: ClientAccount, delivery: str) -> Recovery:
    if delivery == "email":
        recovery.send_reset_link(account)
        _audit("password_reset.link_sent_by_staff", account)
        return Recovery(account, None)
    code = new_code()
    tokens.store(
        RESET_CODE_PURPOSE,
        account,
        current_settings().reset_code_valid_for,
        crypto.keyed_hash(RESET_CODE_PURPOSE, normalize_code(code)),
    )
    _audit("password_reset.code_issued", account)
    return Recovery(account, code)


def _check_delivery(delivery: str) -> None:
    if delivery not in ("email", "print"):
        raise DomainError(_l("Choose how the client gets a new password."), field="delivery")


def issue_reset_code(actor, client: Client) -> Recovery:
    """Recovery without email: a printed one-time code after a fresh identity check."""
    if not can(actor, "invite", client):
        raise Forbidden(Capability.INVITE_CLIENTS)
    account = account_of(client)
    if account is None or not account.is_active:
        raise DomainError(_l("This client has no active portal account."))
    if fresh_identity_check(actor, client) is None:
        raise DomainError(_fresh_check_message())
    return _send_recovery(account, "print")


def reinstate(actor, client: Client, *, delivery: str) -> Recovery:
    if not can(actor, "reinstate", client):
        raise Forbidden(Capability.REINSTATE_CLIENT_ACCOUNTS)
    _check_delivery(delivery)
    account = account_of(client)
    if account is None or account.is_active:
        raise DomainError(_l("This client's portal account is not deactivated."))
    if fresh_identity_check(actor, client, since=account.deactivated_at) is None:
        raise DomainError(_fresh_check_message())
    if delivery == "email" and not email_is_safe_for_recovery(account):
        raise DomainError(
            _l(
                "Someone else used this account, so its email may not be safe. "
                "Print a code and hand it over in person."
            ),
            field="delivery",
        )
    was = account.deactivation_reason
    account.is_active = True
    account.deactivated_at = None
    account.deactivation_reason = None
    # Whoever got in may know the old password: the client chooses a new one.
    account.password_hash = None
    account.password_changed_at = clock.now()
    account.failed_sign_ins = 0
    account.throttled_until = None
    account.suspended_at = None
    _audit("client_account.reinstated", account, was=was)
    _tell_care_team(account, "client_account_reinstated", actor)
    return _send_recovery(account, delivery)


def reset_code_account(
    code: str,
) -> tuple[AccountToken, ClientAccount] | tuple[None, None]:
    normalized = normalize_code(code)
    if len(normalized) != 10:
        return None, None
    token = tokens.find_live_digest(
        crypto.keyed_hash(RESET_CODE_PURPOSE, normalized), RESET_CODE_PURPOSE
    )
    if token is None or token.account_kind != "client":
        return None, None
    account = dbs().get(ClientAccount, token.account_id)
    stale = account is not None and (
        account.password_changed_at is not None and account.password_changed_at > token.created_at
    )
    if account is None or not account.is_active or stale:
        return None, None
    return token, account


def reset_with_code(code: str, new_password: str) -> ClientAccount:
    """Choose a new password with a printed code: works once; every session ends."""
    token, account = reset_code_account(code)
    if token is None or account is None:
        raise DomainError(
            CODE_DOES_NOT_WORK,
            field="code",
            after_rollback=lambda: audit.record(
                "password_reset.code_refused", ("client", "unknown"), outcome="failure"
            ),
        )
    recovery.set_password(account, new_password)
    if not tokens.consume(token):
        raise DomainError(CODE_DOES_NOT_WORK, field="code")
    tokens.revoke_all(account)
    sessions.end_all_for(account, "password_reset")
    audit.record("password_reset.completed", account, actor=account, details={"by": "code"})
    return account


def needs_privacy_acceptance(account) -> bool:
    return getattr(account, "kind", None) == "client" and account.privacy_version != PRIVACY_VERSION


def accept_privacy_update(account: ClientAccount, accepted: bool) -> None:
    if not accepted:
        raise DomainError(
            _l("Tick the box to say you have read the privacy notice."), field="accept"
        )
    previous = account.privacy_version
    account.privacy_version = PRIVACY_VERSION
    audit.record(
        "privacy.accepted", account, details={"version": PRIVACY_VERSION, "previous": previous}
    )


# --- preferences that change at once ------------------------------------------------------

EMAIL_CODE_TRIES = 5
EMAIL_CODE_VALID_FOR_HOURS = 24


def update_preferences(account: ClientAccount, *, language: str) -> None:
    """The language (how each kind of notice arrives is `texting.set_channels`)."""
    if language not in current_settings().languages:
        raise DomainError(_l("Choose a language."), field="language")
    changed: dict[str, str | bool] = {}
    if account.preferred_language != language:
        changed["language"] = language
    account.preferred_language = language
    if changed:
        audit.record("account.preferences_changed", account, details=changed)


def start_email_change(account: ClientAccount, new_email: str) -> None:
    """The password was checked by the caller (re-authentication). A code goes to the new
    address; nothing changes until it comes back."""

    email = clean_email(new_email, field="new_email").lower()
    if email == account.email:
        raise DomainError(_l("This is already the email you sign in with."), field="new_email")
    code = f"{secrets.randbelow(10**6):06d}"
    account.pending_email = email
    account.pending_email_code_hmac = crypto.keyed_hash("email_change", f"{account.id}:{code}")
    account.pending_email_expires_at = clock.now() + timedelta(hours=EMAIL_CODE_VALID_FOR_HOURS)
    account.pending_email_attempts = 0
    if account_by_email("client", email) is None:
        mail.queue(
            "email_change_code",
            to=email,
            language=account.preferred_language,
            params={"name": account.first_name},
            secret_params={"code": code},
        )
    # An address another account signs in with gets no code (so no change can finish), and
    # the page answers the same: nobody learns which addresses have accounts (R17).
    audit.record("account.email_change_started", account)


def confirm_email_change(account: ClientAccount, code: str) -> None:

    if not account.pending_email:
        raise DomainError(_l("There is no email change waiting. Start again."), field="code")
    expired = (
        not account.pending_email_expires_at or account.pending_email_expires_at <= clock.now()
    )
    if expired or account.pending_email_attempts >= EMAIL_CODE_TRIES:
        raise DomainError(_l("This code no longer works. Start again."), field="code")
    typed = "".join(ch for ch in (code or "") if ch.isascii() and ch.isdigit())
    expected = crypto.keyed_hash("email_change", f"{account.id}:{typed}")
    if expected != account.pending_email_code_hmac:
        left = EMAIL_CODE_TRIES - account.pending_email_attempts - 1
        account_id = account.id

        def count_it() -> None:  # kept although the request rolls back; atomic for parallel tries
            dbs().execute(
                update(ClientAccount)
                .where(ClientAccount.id == account_id)
                .values(pending_email_attempts=ClientAccount.pending_email_attempts + 1)
            )
            audit.record("account.email_change_code_wrong", account, outcome="failure")

        message = (
            _l("This code is not right. You have %(count)s tries left.", count=left)
            if left > 0
            else _l("This code no longer works. Start again.")
        )
        raise DomainError(message, field="code", after_rollback=count_it)

    if account_by_email("client", account.pending_email) is not None:
        raise DomainError(_l("This code no longer works. Start again."), field="code")
    old = account.email
    account.email = account.pending_email
    account.email_verified_at = clock.now()
    account.pending_email = None
    account.pending_email_code_hmac = None
    account.pending_email_expires_at = None
    mail.queue(
        "email_changed",
        to=old,
        language=account.preferred_language,
        params={"name": account.first_name},
    )
    tokens.revoke_all(account)  # links sent to the old address stop working
    audit.record("account.email_changed", account)
