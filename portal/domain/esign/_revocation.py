"""Taking the permission back: an ROI revoked (a new signed event; the original stays), the
owning agency's care team told, partner agencies' access ended."""

from __future__ import annotations

import html
import secrets

from flask_babel import lazy_gettext as _l

from portal.domain.core import audit, clock, context
from portal.domain.core.errors import DomainError
from portal.domain.core.session import dbs
from portal.domain.esign._signing import NEEDS_PASSWORD, _sealed_page, _store_pdf, clean_signer_name
from portal.domain.esign._templates import sha256
from portal.domain.messaging import notifications
from portal.domain.models import (
    Agency,
    Client,
    ClientAccount,
    Consent,
    ConsentRevocation,
)
from portal.domain.records.access_policy import client_of
from portal.domain.records.clients import people_to_tell

# What the staff notices this module sends say (declared in portal.domain.features).
REVOCATION_NOTICES = {
    "roi_revoked": _l(
        "A client took back their permission to share (Release of Information). Partner "
        "agencies no longer see them."
    ),
}

# --- taking the permission back ------------------------------------------------------------

REVOCATION_TEXT = (
    "I take back my permission to share my information in the Homeless Management "
    "Information System with partner agencies. Sharing that already happened is not undone."
)


def roi_in_force_for(account: ClientAccount) -> list[Consent]:

    client = client_of(account)
    return roi_in_force(client, dbs().get_one(Agency, client.owning_agency_id))


def roi_in_force(client: Client, agency: Agency) -> list[Consent]:
    today = agency.today()
    return [c for c in client.consents if c.in_force_on(today)]


def revoke_roi(
    account: ClientAccount,
    *,
    intent: str,
    typed_name: str,
    password_recent: bool,
    session_hash: str,
    authentication: dict,
) -> ConsentRevocation:
    """A signed event that ends every Release of Information in force for the client; the
    consents and the signatures that made them stay as they were (revoked_at is set)."""

    client = client_of(account)
    agency = dbs().get_one(Agency, client.owning_agency_id)
    ending = roi_in_force(client, agency)
    if not ending:
        raise DomainError(_l("There is no permission to share in force to take back."))
    errors = []
    if intent != "yes":
        errors.append(DomainError(_l("Tick the box to take back your permission."), field="intent"))
    try:
        typed_name = clean_signer_name(typed_name)
    except DomainError as refusal:
        errors.append(refusal)
    if not password_recent:
        errors.append(DomainError(NEEDS_PASSWORD, field="password"))
    if errors:
        raise DomainError.all_of(errors)
    now = clock.now()
    ctx = context.current()
    document = f"<h1>Taking back my permission to share</h1><p>{html.escape(REVOCATION_TEXT)}</p>"
    revocation = ConsentRevocation(
        client_id=client.id,
        account_id=account.id,
        consent_ids=[c.id for c in ending],
        typed_name=typed_name,
        document_sha256=sha256(document),
        authentication=authentication,
        signed_at=now,
        ip=ctx.ip,
        user_agent=(ctx.user_agent or "")[:255] or None,
        session_hash=session_hash,
        verification_code=secrets.token_hex(6).upper(),
    )
    dbs().add(revocation)
    for consent in ending:
        consent.revoked_at = now
    dbs().flush()
    rows = [
        ("Signer", typed_name),
        ("Signed", now.isoformat(timespec="seconds")),
        ("Permissions ended", ", ".join(str(c.public_id) for c in ending)),
        ("Document SHA-256", revocation.document_sha256),
        ("IP address", revocation.ip or "-"),
        ("Verification code", revocation.verification_code),
    ]
    data = _sealed_page(document, typed_name, None, now, agency, rows)
    stored = _store_pdf(
        client, agency, f"revocation-{revocation.verification_code}.pdf", revocation, data
    )
    revocation.pdf_document_id = stored.id
    revocation.pdf_sha256 = stored.sha256
    for staff in _agency_people(client, agency):
        notifications.notify(staff, "roi_revoked", params={"client": str(client.public_id)})
    audit.record(
        "consent.revoked",
        client,
        actor=account,
        details={"revocation": str(revocation.public_id), "consents": len(ending)},
    )
    return revocation


def _agency_people(client: Client, agency: Agency):

    return [s for s in people_to_tell(client) if s.agency_id == agency.id]
