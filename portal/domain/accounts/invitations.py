"""Staff side of client onboarding: verify identity, then invite (issue 4).

- An identity check records that staff confirmed the full name and at least two identifying
  facts; an invitation needs one from the same agency within `identity_check_valid_for`.
- An invitation is issued only when the record has a full date of birth (DOB quality 1), the
  client is 18 or older today in the agency's time zone, the record has a contact email that no
  other active client account signs in with, the client has no deactivated account awaiting
  reinstatement, and the client is not served only by victim service providers (R65).
  `blockers()` lists every reason, each saying what to fix.
- The link token (256 bits) is stored as SHA-256; the printed short code (10 characters of an
  unambiguous alphabet, grouped 5-5) as an HMAC under a server key. A new invitation revokes
  the earlier ones; cancelling revokes. The links are built at the edge, against BASE_URL
  (portal.links).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from portal.domain.core import audit, clock, crypto, mail, tokens
from portal.domain.core.errors import DomainError, Forbidden
from portal.domain.core.roles import Capability
from portal.domain.core.session import changed, dbs, read
from portal.domain.core.statuses import InvitationStatus
from portal.domain.models import (
    Client,
    ClientAccount,
    ClientInvitation,
    Enrollment,
    IdentityCheck,
    Organization,
    Project,
)
from portal.domain.models.invitations import invitation_live
from portal.domain.records.access_policy import can
from portal.settings import current as current_settings

NEEDS_IDENTITY_CHECK = _l("Record an identity check: the full name and two identifying facts.")
IDENTITY_FACTS = {
    "dob": _l("Date of birth"),
    "phone_or_address": _l("Phone number or address"),
    "ssn": _l("Social Security number"),
    "photo": _l("Photo ID or photo on file"),
    "service_history": _l("Recent service history"),
    "hmis_id": _l("HMIS ID"),
    "other": _l("Other information (say what in the note)"),
}
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_LENGTH = 10


def record_identity_check(
    actor, client, *, name_confirmed: bool, facts: list[str], note: str = ""
) -> IdentityCheck:
    if not can(actor, "invite", client):
        raise Forbidden(Capability.INVITE_CLIENTS)
    if not name_confirmed:
        raise DomainError(_l("Confirm the client's full name first."), field="name_confirmed")
    chosen = sorted({f for f in facts if f in IDENTITY_FACTS})
    if len(chosen) < 2:
        raise DomainError(_l("Choose at least two facts you checked."), field="facts")
    note = " ".join((note or "").split())[:200]
    if "other" in chosen and not note:
        raise DomainError(_l("Say what other information you checked."), field="note")
    check = IdentityCheck(
        client_id=client.id,
        staff_id=actor.id,
        agency_id=actor.agency_id,
        facts={"facts": chosen},
        note=note or None,
    )
    dbs().add(check)
    dbs().flush()
    audit.record("identity.checked", client, details={"facts": chosen})
    return check


def latest_identity_check(actor, client) -> IdentityCheck | None:
    since = clock.now() - current_settings().identity_check_valid_for
    return dbs().scalar(
        select(IdentityCheck)
        .where(
            IdentityCheck.client_id == client.id,
            IdentityCheck.agency_id == actor.agency_id,
            IdentityCheck.created_at >= since,
        )
        .order_by(IdentityCheck.id.desc())
        .limit(1)
    )


def fresh_identity_check(actor, client, *, since=None) -> IdentityCheck | None:
    """A check by the actor's agency within `fresh_identity_check_within` (and after `since`):
    what recovery without email and reinstatement need, instead of the week an invitation allows.
    """
    cutoff = clock.now() - current_settings().fresh_identity_check_within
    if since is not None and since > cutoff:
        cutoff = since
    return dbs().scalar(
        select(IdentityCheck)
        .where(
            IdentityCheck.client_id == client.id,
            IdentityCheck.agency_id == actor.agency_id,
            IdentityCheck.created_at >= cutoff,
        )
        .order_by(IdentityCheck.id.desc())
        .limit(1)
    )


def age_on(dob, day) -> int:
    """Whole years; someone born on 29 February turns a year older on 1 March in common years."""
    years = day.year - dob.year
    if (day.month, day.day) < (dob.month, dob.day):
        years -= 1
    return years


def _served_only_by_victim_service_providers(client) -> bool:
    providers = (
        dbs()
        .scalars(
            select(Organization.victim_service_provider)
            .join(Project, Project.organization_id == Organization.id)
            .join(Enrollment, Enrollment.project_id == Project.id)
            .where(Enrollment.client_id == client.id)
        )
        .all()
    )
    return bool(providers) and all(providers)


def blockers(actor, client) -> list:
    """Everything that stops an invitation now, each phrased as what to fix."""
    found = []
    if latest_identity_check(actor, client) is None:
        found.append(NEEDS_IDENTITY_CHECK)
    if client.dob_quality != 1 or client.dob is None:
        found.append(
            _l(
                "Confirm the client's full date of birth first "
                "(date of birth data quality must be 'full')."
            )
        )
    elif age_on(client.dob, actor.agency.today()) < 18:
        found.append(_l("Only adults (18 or older) can use the portal."))
    if not client.email:
        found.append(_l("Add the client's email address to the record."))
    else:
        taken = dbs().scalar(
            select(
                exists().where(
                    ClientAccount.email == client.email.strip().lower(),
                    ClientAccount.client_id.is_distinct_from(client.id),
                )
            )
        )
        if taken:
            found.append(
                _l(
                    "Another client's portal account (active or deactivated) already uses "
                    "this email. Check the record's email."
                )
            )
    account = dbs().scalar(select(ClientAccount).where(ClientAccount.client_id == client.id))
    if account is not None and not account.is_active:
        found.append(
            _l(
                "This client's account is deactivated. "
                "An agency administrator must reinstate it first."
            )
        )
    elif account is not None:
        found.append(
            _l(
                "This client already has a portal account. If they cannot sign in, "
                "print a password reset code for them instead."
            )
        )
    if _served_only_by_victim_service_providers(client):
        found.append(_l("Clients served only by victim service providers cannot be invited."))
    return found


@dataclass
class IssuedInvitation:
    invitation: ClientInvitation
    token: str  # the link's secret, for the printed sheet's QR code (shown once, never stored)
    code: str | None  # shown once, on the printed sheet


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalize_code(text: str) -> str:
    """What people type: any case, spaces or dashes; O/I/L read as 0/1 would not exist anyway."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())[: CODE_LENGTH * 2]


def _revoke_pending(client) -> None:
    dbs().execute(
        update(ClientInvitation)
        .where(
            ClientInvitation.client_id == client.id,
            ClientInvitation.status == InvitationStatus.PENDING,
        )
        .values(status=InvitationStatus.REVOKED, ended_at=clock.now())
    )


def issue(actor, client, *, delivery: str) -> IssuedInvitation:
    if not can(actor, "invite", client):
        raise Forbidden(Capability.INVITE_CLIENTS)
    if delivery not in ("email", "print"):
        raise DomainError(_l("Choose how to give the invitation."), field="delivery")
    problems = blockers(actor, client)
    check = latest_identity_check(actor, client)
    if problems or check is None:  # (the check may have expired since blockers() looked)
        raise DomainError(problems[0] if problems else NEEDS_IDENTITY_CHECK)
    settings = current_settings()
    _revoke_pending(client)
    raw_token = tokens.new_token()
    code = new_code() if delivery == "print" else None
    now = clock.now()
    invitation = ClientInvitation(
        client_id=client.id,
        agency_id=actor.agency_id,
        issued_by_id=actor.id,
        identity_check_id=check.id,
        delivery=delivery,
        token_hash=tokens.hash_token(raw_token),
        code_hmac=crypto.keyed_hash("invite_code", normalize_code(code)) if code else None,
        expires_at=now + settings.client_invite_valid_for,
        code_expires_at=now + settings.invite_code_valid_for if code else None,
    )
    dbs().add(invitation)
    dbs().flush()
    if delivery == "email":
        mail.queue(
            "client_invitation",
            to=client.email,
            language=client.preferred_language,
            params={
                "name": client.first_name or "",
                "hours": int(settings.client_invite_valid_for.total_seconds() // 3600),
            },
            secret_params={"token": raw_token},  # the link is built when it is sent
        )
    audit.record(
        "invitation.issued",
        client,
        details={"invitation": str(invitation.public_id), "delivery": delivery},
    )
    return IssuedInvitation(invitation, raw_token, code)


def cancel(actor, client) -> int:
    if not can(actor, "invite", client):
        raise Forbidden(Capability.INVITE_CLIENTS)
    count = changed(
        update(ClientInvitation)
        .where(
            ClientInvitation.client_id == client.id,
            ClientInvitation.status == InvitationStatus.PENDING,
        )
        .values(status=InvitationStatus.CANCELLED, ended_at=clock.now())
    )
    if count:
        audit.record("invitation.cancelled", client)
    return count


@dataclass(frozen=True)
class PortalStatus:
    code: str  # one of PORTAL_STATES
    label: object
    detail: object | None = None
    has_account: bool = False  # an active account exists (connected, or locked by sign-in failures)


PORTAL_STATES = {
    "not_connected": _l("Not connected"),
    "invite_pending": _l("Invitation pending"),
    "connected": _l("Connected"),
    "locked": _l("Locked"),
    "deactivated": _l("Deactivated"),
}


def portal_status(client) -> PortalStatus:
    """What the staff client page shows about the client's portal account."""
    return portal_statuses([client])[client.id]


def with_portal_status(statement, client_id):
    """`statement` (about clients whose id is the column `client_id`) with what a portal status
    needs of each: the account (not even its password hash: whether there is one) and the
    newest invitation, by outer joins; `status_of_row` makes the status of a row."""
    newest = aliased(ClientInvitation)
    newest_id = select(func.max(newest.id)).where(newest.client_id == client_id).scalar_subquery()
    return (
        statement.add_columns(
            ClientAccount.id.label("account_id"),
            ClientAccount.is_active,
            ClientAccount.deactivation_reason,
            ClientAccount.suspended_at,
            ClientAccount.password_hash.is_not(None).label("has_password"),
            ClientAccount.last_sign_in_at,
            ClientInvitation.id.label("invitation_id"),
            ClientInvitation.status.label("invitation_status"),
            ClientInvitation.expires_at,
            ClientInvitation.code_expires_at,
        )
        .outerjoin(ClientAccount, ClientAccount.client_id == client_id)
        .outerjoin(ClientInvitation, ClientInvitation.id == newest_id)
    )


def status_of_row(row, now: datetime) -> PortalStatus:
    """The portal status of a row of a `with_portal_status` statement: one definition for the
    record page, the list and its filter (`portal_state_filter`).

    An account decides; without one, the newest invitation does: live and pending, or locked.
    """
    if row.account_id is not None:
        if not row.is_active:
            return PortalStatus("deactivated", _l("Deactivated"), row.deactivation_reason)
        if row.suspended_at is not None:
            return PortalStatus("locked", _l("Locked"), has_account=True)
        if not row.has_password:
            return PortalStatus(
                "connected", _l("Reinstated: waiting for a new password"), has_account=True
            )
        return PortalStatus("connected", _l("Connected"), row.last_sign_in_at, has_account=True)
    if row.invitation_id is not None:
        if invitation_live(row.invitation_status, row.expires_at, row.code_expires_at, now):
            return PortalStatus(
                "invite_pending", _l("Invitation pending"), row.code_expires_at or row.expires_at
            )
        if row.invitation_status == InvitationStatus.LOCKED:
            return PortalStatus("locked", _l("Invitation locked after too many tries"))
    return _NOT_CONNECTED


_NOT_CONNECTED = PortalStatus("not_connected", _l("Not connected"))


_STATUSES = with_portal_status(
    select(Client.id.label("client_id")).where(Client.id.in_(bindparam("ids", expanding=True))),
    Client.id,
)


def portal_statuses(clients) -> dict[int, PortalStatus]:
    """Statuses for some clients in one statement (built once)."""
    ids = [c.id for c in clients]
    if not ids:
        return {}
    now = clock.now()
    found = {row.client_id: status_of_row(row, now) for row in read(_STATUSES, ids=ids)}
    return {i: found.get(i) or _NOT_CONNECTED for i in ids}


def portal_state_filter(client_id_column, state: str):
    """A WHERE clause selecting clients in `state` (the same rules as `_status_of`), or None
    for no such state."""
    if state not in PORTAL_STATES:
        return None
    now = clock.now()
    account = select(ClientAccount.id).where(ClientAccount.client_id == client_id_column)
    newer = aliased(ClientInvitation)
    newest = (
        select(ClientInvitation.id)
        .where(ClientInvitation.client_id == client_id_column)
        .where(
            ~exists().where(
                newer.client_id == ClientInvitation.client_id, newer.id > ClientInvitation.id
            )
        )
    )
    live_newest = newest.where(
        ClientInvitation.status == InvitationStatus.PENDING,
        or_(ClientInvitation.expires_at > now, ClientInvitation.code_expires_at > now),
    )
    locked_newest = newest.where(ClientInvitation.status == InvitationStatus.LOCKED)
    no_account = ~account.exists()
    if state == "deactivated":
        return account.where(ClientAccount.is_active.is_(False)).exists()
    if state == "connected":
        return account.where(
            ClientAccount.is_active.is_(True), ClientAccount.suspended_at.is_(None)
        ).exists()
    if state == "invite_pending":
        return and_(no_account, live_newest.exists())
    if state == "locked":
        suspended = account.where(
            ClientAccount.is_active.is_(True), ClientAccount.suspended_at.is_not(None)
        ).exists()
        return or_(suspended, and_(no_account, locked_newest.exists()))
    if state == "not_connected":
        return and_(no_account, ~live_newest.exists(), ~locked_newest.exists())
    return None
