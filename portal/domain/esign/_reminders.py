"""Reminders before an ROI ends (a daily job)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from portal.domain import texting
from portal.domain.core import audit, clock, jobs
from portal.domain.core.session import dbs
from portal.domain.esign._texts import ensure_default_roi
from portal.domain.models import (
    Agency,
    Client,
    Consent,
    SignatureRequest,
)

# --- reminders before an ROI ends ------------------------------------------------------------

REMIND_DAYS = 30


def remind_expiring() -> int:
    """Clients whose Release of Information ends within REMIND_DAYS get a renewal request on
    their dashboard and one notice, by email or text as they chose (a link only). Returns how
    many."""

    today = clock.now().date()
    ending = dbs().scalars(
        select(Consent).where(
            Consent.permission.is_(True),
            Consent.refused.is_(False),
            Consent.revoked_at.is_(None),
            Consent.ends_on >= today,
            Consent.ends_on <= today + timedelta(days=REMIND_DAYS),
        )
    )
    reminded = 0
    for consent in ending:
        agency = dbs().get_one(Agency, consent.recorded_by_agency_id)
        template = ensure_default_roi(agency)
        since = consent.ends_on - timedelta(days=REMIND_DAYS)
        asked = dbs().scalar(
            select(SignatureRequest.id).where(
                SignatureRequest.client_id == consent.client_id,
                SignatureRequest.template_id == template.id,
                SignatureRequest.created_at >= datetime_at(since),
            )
        )
        if asked is not None:
            continue  # asked already for this renewal (or signed since)
        request = SignatureRequest(
            client_id=consent.client_id,
            agency_id=agency.id,
            template_id=template.id,
            due_on=consent.ends_on,
        )
        dbs().add(request)
        dbs().flush()
        audit.record(
            "signature.requested",
            dbs().get(Client, consent.client_id),
            details={"request": str(request.public_id), "kind": "roi", "renewal": True},
        )
        texting.notify_record(
            consent.client_id,
            "roi_renewal",
            mail_template="roi_renewal",
            params={"request": str(request.public_id)},  # the link is built when it is sent
            agency_id=agency.id,
        )
        reminded += 1
    return reminded


def datetime_at(day: date):
    from datetime import UTC, datetime

    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@jobs.handler("esign.roi_reminders", every=timedelta(days=1))
def remind_job(payload: dict) -> None:
    remind_expiring()
