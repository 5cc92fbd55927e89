"""Paper Release of Information consents."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from portal.domain.core import audit
from portal.domain.core.errors import DomainError, Forbidden
from portal.domain.core.roles import Capability
from portal.domain.core.session import dbs
from portal.domain.core.validation import (
    clean_text,
)
from portal.domain.models import (
    Client,
    Consent,
)
from portal.domain.records.access_policy import can

# --- consent (Release of Information) --------------------------------------------------------


def consent_in_force(client: Client, day: date) -> Consent | None:
    return next((c for c in client.consents if c.in_force_on(day)), None)


def record_paper_consent(
    actor,
    client: Client,
    *,
    permission: bool,
    starts_on: date | None,
    ends_on: date | None,
    document_reference: str = "",
) -> Consent:
    if not can(actor, "record_consent", client):
        raise Forbidden(Capability.RECORD_CONSENT)
    today = actor.agency.today()
    starts_on = starts_on or today
    ends_on = ends_on or starts_on + timedelta(days=actor.agency.default_roi_days)
    if ends_on < starts_on:
        raise DomainError(_l("The end date must be after the start date."), field="ends_on")
    if starts_on > today + timedelta(days=366):
        raise DomainError(_l("Enter a start date within the next year."), field="starts_on")
    reference = clean_text(
        document_reference, field="document_reference", max_length=100, required=False
    )
    consent = Consent(
        client=client,
        recorded_by_agency_id=actor.agency_id,
        recorded_by_id=actor.id,
        permission=permission,
        refused=not permission,
        starts_on=starts_on,
        ends_on=ends_on,
        source="paper",
        document_reference=reference or None,
    )
    dbs().add(consent)
    dbs().flush()
    audit.record(
        "consent.recorded",
        client,
        details={
            "consent": str(consent.public_id),
            "permission": permission,
            "source": "paper",
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(),
        },
    )
    return consent
