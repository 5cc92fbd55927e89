"""Client side of onboarding: redeeming an invitation (issue 4).

Progress lives on the invitation, not in the browser. The browser that pressed "Continue" on
the link (or typed the printed code) gets a random binding secret; every later step needs it
and runs only in order: date of birth -> email -> email verification -> privacy notice ->
password. Skipping ahead is refused and writes nothing.

- Date of birth: 3 wrong answers lock the invitation (the care team is told); under 18 today
  (agency time zone, recomputed from the record) refuses kindly and locks.
- Email: must equal the record's contact email (trimmed, any case); 3 mismatches lock.
- Verification: a 6-digit code (HMAC-stored, 5 tries, 24 h, single use) or a link whose
  opening shows a confirm button (a mail scanner's GET confirms nothing), in any browser.
- Unknown, expired, used, cancelled and locked invitations all give the same answer.
- The account is created once: the invitation moves pending -> used by compare-and-set and
  `client_accounts.client_id` is unique, so concurrent redemptions create one account.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portal.domain.accounts import passwords
from portal.domain.accounts.invitations import age_on, normalize_code
from portal.domain.accounts.recovery import client_context_words
from portal.domain.core import audit, clock, crypto, mail, tokens
from portal.domain.core.errors import DomainError
from portal.domain.core.session import changed, dbs
from portal.domain.core.statuses import InvitationStatus
from portal.domain.core.validation import parse_uuid
from portal.domain.messaging import notifications
from portal.domain.models import ClientAccount, ClientInvitation
from portal.domain.records.clients import people_to_tell

# What the staff notices this module sends say (declared in portal.domain.features).
NOTICES = {
    "invitation_locked": _l(
        "A client's portal invitation was locked after too many wrong answers. "
        "Check their identity again before a new invitation."
    ),
}

PRIVACY_VERSION = "2026-11"
DOB_TRIES = 3
EMAIL_TRIES = 3
CODE_TRIES = 5
CODE_VALID_FOR = timedelta(hours=24)
STEPS = ("new", "dob_ok", "email_sent", "email_verified", "privacy_ok")


class InvitationUnusable(DomainError):
    """One answer for unknown, expired, used, cancelled and locked invitations (R7)."""

    def __init__(self):
        super().__init__(_l("This invitation cannot be used. Ask your case manager for a new one."))


class OutOfOrder(DomainError):
    """A step was asked for before the ones it needs (R11)."""

    def __init__(self):
        super().__init__("out of order")


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _usable(invitation: ClientInvitation | None, *, by_code: bool = False) -> ClientInvitation:
    now = clock.now()
    if invitation is None or invitation.status != InvitationStatus.PENDING:
        raise InvitationUnusable()
    live_until = invitation.code_expires_at if by_code else invitation.expires_at
    if live_until is None or live_until <= now:
        raise InvitationUnusable()
    return invitation


def token_usable(raw: str) -> bool:
    """Whether the emailed link can still start a redemption, changing nothing (opening the
    link is a GET: mail scanners open links too), so a used, expired or replaced link says so
    at once instead of after "Continue"."""
    try:
        _usable(_by_token(raw))
    except InvitationUnusable:
        return False
    return True


def open_by_token(raw: str) -> tuple[ClientInvitation, str]:
    """The POST behind "Continue": bind the invitation to this browser. Returns the binding."""
    return _bind(_usable(_by_token(raw)))


def _by_token(raw: str) -> ClientInvitation | None:
    """The invitation an emailed link's token names (None for none)."""
    if not raw or len(raw) > 128:
        return None
    return dbs().scalar(
        select(ClientInvitation).where(ClientInvitation.token_hash == tokens.hash_token(raw))
    )


def open_by_code(code: str) -> tuple[ClientInvitation, str]:
    normalized = normalize_code(code)
    if len(normalized) != 10:
        raise InvitationUnusable()
    digest = crypto.keyed_hash("invite_code", normalized)
    invitation = dbs().scalar(select(ClientInvitation).where(ClientInvitation.code_hmac == digest))
    return _bind(_usable(invitation, by_code=True))


def _bind(invitation: ClientInvitation) -> tuple[ClientInvitation, str]:
    binding = secrets.token_urlsafe(32)
    invitation.binding_hash = _hash(binding)
    audit.record("invitation.opened", invitation)
    return invitation, binding


def load(public_id: str | None, binding: str | None, *, needs: str) -> ClientInvitation:
    """The invitation this browser is redeeming, at step `needs` or later."""
    if not public_id or not binding:
        raise OutOfOrder()
    invitation = dbs().scalar(
        select(ClientInvitation).where(ClientInvitation.public_id == parse_uuid(public_id))
    )
    if invitation is None or invitation.binding_hash != _hash(binding):
        raise OutOfOrder()
    if not invitation.is_live(clock.now()):
        raise InvitationUnusable()
    if STEPS.index(invitation.step) < STEPS.index(needs):
        raise OutOfOrder()
    return invitation


def _lock(invitation: ClientInvitation, why: str) -> None:
    invitation.status = InvitationStatus.LOCKED
    invitation.ended_at = clock.now()
    audit.record("invitation.locked", invitation, outcome="failure", details={"reason": why})
    for staff in people_to_tell(invitation.client):
        notifications.notify(
            staff,
            "invitation_locked",
            params={"client": str(invitation.client.public_id)},
        )


def _wrong_answer(invitation: ClientInvitation, question: str) -> int:
    """Count a wrong date of birth or email; lock at the limit. Returns the tries left."""
    counter, limit = {"dob": ("dob_failures", DOB_TRIES), "email": ("email_failures", EMAIL_TRIES)}[
        question
    ]
    failures = getattr(invitation, counter) + 1
    setattr(invitation, counter, failures)
    audit.record(
        f"invitation.{question}_mismatch",
        invitation,
        outcome="failure",
        details={"failures": failures},
    )
    left = max(limit - failures, 0)
    if left == 0:
        _lock(invitation, question)
    return left


def check_dob(invitation: ClientInvitation, dob) -> int:
    """True step: returns the tries left after a wrong date (0 means it is now locked)."""
    client = invitation.client
    if dob is None or client.dob is None or dob != client.dob:
        return _wrong_answer(invitation, "dob")
    if age_on(client.dob, client.owning_agency.today()) < 18:
        _lock(invitation, "under_18")
        raise DomainError(
            _l(
                "Sorry, the portal is only for adults. "
                "Your case manager can help you in other ways."
            )
        )
    invitation.step = "dob_ok"
    audit.record("invitation.dob_matched", invitation)
    return DOB_TRIES


def submit_email(invitation: ClientInvitation, email: str) -> int:
    """Returns tries left after a mismatch; on a match sends the code and link."""
    typed = (email or "").strip().lower()
    record = invitation.client.email
    if not typed or record is None or typed != record.strip().lower():
        return _wrong_answer(invitation, "email")
    code = f"{secrets.randbelow(10**6):06d}"
    link_token = tokens.new_token()
    invitation.email_code_hmac = crypto.keyed_hash("email_code", f"{invitation.id}:{code}")
    invitation.email_code_expires_at = clock.now() + CODE_VALID_FOR
    invitation.email_code_attempts = 0
    invitation.email_link_hash = tokens.hash_token(link_token)
    invitation.step = "email_sent"
    mail.queue(
        "client_email_code",
        to=record,
        language=invitation.client.preferred_language,
        params={"name": invitation.client.first_name or ""},
        secret_params={
            "code": code,
            "token": link_token,  # the link is built when it is sent
        },
    )
    audit.record("invitation.email_code_sent", invitation)
    return EMAIL_TRIES


def verify_code(invitation: ClientInvitation, code: str) -> int:
    """Returns tries left after a wrong code; marks the email verified on a match."""
    if invitation.step == "email_verified" or STEPS.index(invitation.step) > STEPS.index(
        "email_sent"
    ):
        return CODE_TRIES
    expired = (
        not invitation.email_code_expires_at or invitation.email_code_expires_at <= clock.now()
    )
    typed = "".join(ch for ch in (code or "") if ch.isascii() and ch.isdigit())
    if expired or invitation.email_code_attempts >= CODE_TRIES:
        raise DomainError(
            _l("This code no longer works. Go back and we will send a new one."), field="code"
        )
    if crypto.keyed_hash("email_code", f"{invitation.id}:{typed}") != invitation.email_code_hmac:
        invitation.email_code_attempts += 1
        return CODE_TRIES - invitation.email_code_attempts
    _email_verified(invitation)
    return CODE_TRIES


def email_link_invitation(raw: str) -> ClientInvitation | None:
    if not raw or len(raw) > 128:
        return None
    invitation = dbs().scalar(
        select(ClientInvitation).where(ClientInvitation.email_link_hash == tokens.hash_token(raw))
    )
    if (
        invitation is None
        or invitation.status != InvitationStatus.PENDING
        or invitation.step != "email_sent"
    ):
        return None
    if not invitation.email_code_expires_at or invitation.email_code_expires_at <= clock.now():
        return None
    return invitation


def confirm_email_link(raw: str) -> bool:
    invitation = email_link_invitation(raw)
    if invitation is None:
        return False
    _email_verified(invitation)
    return True


def _email_verified(invitation: ClientInvitation) -> None:
    invitation.step = "email_verified"
    invitation.email_code_hmac = None
    invitation.email_link_hash = None
    audit.record("invitation.email_verified", invitation)


def accept_privacy(invitation: ClientInvitation, accepted: bool) -> None:
    if not accepted:
        raise DomainError(
            _l("Tick the box to say you have read the privacy notice."), field="accept"
        )
    invitation.privacy_version = PRIVACY_VERSION
    invitation.step = "privacy_ok"
    audit.record("invitation.privacy_accepted", invitation, details={"version": PRIVACY_VERSION})


def create_account(invitation: ClientInvitation, password: str) -> ClientAccount:
    client = invitation.client
    reasons = passwords.problems(password, client_context_words(client))
    if reasons:
        raise DomainError(reasons[0], field="password")
    if client.email is None:  # staff removed it from the record since it was verified
        raise InvitationUnusable()
    won = changed(
        update(ClientInvitation)
        .where(
            ClientInvitation.id == invitation.id,
            ClientInvitation.status == InvitationStatus.PENDING,
        )
        .values(status=InvitationStatus.USED, ended_at=clock.now(), step="privacy_ok")
    )
    if won != 1:
        raise InvitationUnusable()
    now = clock.now()
    account = ClientAccount(
        email=client.email.strip().lower(),
        first_name=(client.first_name or "")[:50],
        agency_id=client.owning_agency_id,
        client_id=client.id,
        password_hash=passwords.hash_password(password),
        password_changed_at=now,
        email_verified_at=now,
        privacy_version=invitation.privacy_version,
        preferred_language=client.preferred_language,
    )
    try:
        with dbs().begin_nested():
            dbs().add(account)
    except IntegrityError:
        raise InvitationUnusable() from None
    audit.record(
        "account.created", client, actor=account, details={"invitation": str(invitation.public_id)}
    )
    return account
