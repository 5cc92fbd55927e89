"""What staff see of texts: which channel reached a client and when; and for agency
administrators the texts their agency sent each month (texts cost money) and its quiet hours."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.domain.core import audit
from portal.domain.core.errors import DomainError, Forbidden
from portal.domain.core.roles import Capability, has_capability
from portal.domain.core.session import dbs
from portal.domain.models import (
    Agency,
    Client,
    OutboxMessage,
    StaffUser,
    TextConsent,
    TextMessage,
    TextNumber,
)


def notices_for(client: Client, limit: int = 20) -> list[dict]:
    """The latest notices to the client on either channel, newest first."""
    texts = dbs().scalars(
        select(TextMessage)
        .where(TextMessage.client_id == client.id)
        .order_by(TextMessage.id.desc())
        .limit(limit)
    )
    mails = dbs().scalars(
        select(OutboxMessage)
        .where(OutboxMessage.client_id == client.id)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    rows: list[dict[str, Any]] = [
        {
            "channel": "text",
            "kind": t.kind,
            "status": t.status,
            "reason": t.drop_reason,
            "written_at": t.created_at,
            "at": t.delivered_at or t.failed_at or t.sent_at,
        }
        for t in texts
    ] + [
        {
            "channel": "email",
            "kind": m.notice_kind or m.template,
            "status": str(m.status),
            "reason": None,
            "written_at": m.created_at,
            "at": m.sent_at,
        }
        for m in mails
    ]
    rows.sort(key=lambda r: r["written_at"] or datetime.min, reverse=True)
    return rows[:limit]


def _month(column):
    if dbs().get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def monthly_counts(agency_id: int, since: datetime) -> list[dict]:
    """Texts the agency sent per month (UTC months), with their segments and failures."""
    month = _month(TextMessage.sent_at).label("month")
    rows = (
        dbs()
        .execute(
            select(
                month,
                func.count(TextMessage.id),
                func.coalesce(func.sum(TextMessage.segments), 0),
                func.count(TextMessage.failed_at),
            )
            .where(TextMessage.agency_id == agency_id, TextMessage.sent_at >= since)
            .group_by(month)
            .order_by(month.desc())
        )
        .all()
    )
    return [
        {"month": r[0], "texts": int(r[1]), "segments": int(r[2]), "failed": int(r[3])}
        for r in rows
    ]


def agency_page(actor: StaffUser, now: datetime) -> dict[str, Any]:
    """An agency administrator's texts page: the last 12 months' counts, and quiet hours."""
    agency = _own_agency(actor)
    since = (now.replace(day=1) - timedelta(days=334)).replace(day=1)
    return {
        "agency": agency,
        "months": monthly_counts(agency.id, since),
        "bounced": dbs().scalar(
            select(func.count(TextNumber.id))
            .join(TextConsent, TextConsent.number == TextNumber.number)
            .join(Client, Client.id == TextConsent.client_id)
            .where(TextNumber.bounced_at.is_not(None), Client.owning_agency_id == agency.id)
        )
        or 0,
    }


def _own_agency(actor: StaffUser) -> Agency:
    if not has_capability(actor.role, Capability.MANAGE_AGENCY_SETTINGS) or actor.agency is None:
        raise Forbidden(Capability.MANAGE_AGENCY_SETTINGS)
    return actor.agency


_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def set_quiet_hours(actor: StaffUser, quiet_from: str, quiet_until: str) -> None:
    """When the agency's texts wait (its time zone): "HH:MM" to "HH:MM"; the same twice
    means none."""
    agency = _own_agency(actor)
    errors = []
    for field, value in (("quiet_from", quiet_from), ("quiet_until", quiet_until)):
        if not _CLOCK_TIME.match((value or "").strip()):
            errors.append(DomainError(_l("Enter a time like 21:00."), field=field))
    if errors:
        raise DomainError.all_of(errors)
    wanted = (quiet_from.strip(), quiet_until.strip())
    before = (agency.text_quiet_from, agency.text_quiet_until)
    if wanted != before:
        agency.text_quiet_from, agency.text_quiet_until = wanted
        audit.record(
            "agency.settings_changed",
            agency,
            details={"text_quiet_hours": [list(before), list(wanted)]},
        )
