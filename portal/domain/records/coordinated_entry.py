"""Coordinated entry keeps a household on the community queue only while there is contact
within 90 days: a check-in, a portal update or a message, or a contact the HMIS recorded (a
current living situation, a service, an event: issue 21). This lists, per agency, the clients
whose last contact is over 60 days old (a warning) and over 90 days old (at risk), and says
what that last contact was."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value

from portal.domain.core import audit, clock
from portal.domain.core.errors import Forbidden
from portal.domain.core.roles import Capability, has_capability
from portal.domain.core.session import changed, dbs
from portal.domain.models import Client, ContactEvent
from portal.domain.records.access_policy import visible_clients

# What a last contact was (Client.last_contact_kind), in words; "where" says which system saw it.
CONTACT_KINDS = {
    "check_in": (_l("Check-in"), "portal"),
    "message": (_l("Message"), "portal"),
    "portal_update": (_l("Update through the portal"), "portal"),
    "hmis_cls": (_l("Current living situation"), "hmis"),
    "hmis_service": (_l("Service"), "hmis"),
    "hmis_event": (_l("Event"), "hmis"),
}
CONTACT_SOURCES = {"portal": _l("Portal"), "hmis": _l("HMIS")}

WARN_AFTER_DAYS = 60
AT_RISK_AFTER_DAYS = 90


def record_contact(client: Client, kind: str) -> ContactEvent:
    """A contact with the care team through the portal (a check-in, a message, an update):
    what "last contact" counts."""
    now = clock.now()
    event = ContactEvent(client_id=client.id, kind=kind, created_at=now)
    dbs().add(event)
    client.last_contact_at = now
    client.last_contact_kind = kind
    return event


def record_hmis_contact(client: Client, moment: datetime, kind: str) -> bool:
    """A contact the HMIS recorded (kind hmis_cls, hmis_service, hmis_event), at `moment`:
    the client's last contact when it is later than the one stored. One conditional UPDATE,
    so a portal contact committed meanwhile (a check-in during a long import) is never moved
    back. True when it was the later one."""
    won = changed(
        update(Client)
        .where(
            Client.id == client.id,
            or_(Client.last_contact_at.is_(None), Client.last_contact_at < moment),
        )
        .values(last_contact_at=moment, last_contact_kind=kind)
        .execution_options(synchronize_session=False)
    )
    if won:
        set_committed_value(client, "last_contact_at", moment)
        set_committed_value(client, "last_contact_kind", kind)
    return bool(won)


def contact_words(kind: str | None) -> str:
    """ "Check-in (Portal)", "Service (HMIS)"... for a last contact's kind; "" if unknown."""
    if kind not in CONTACT_KINDS:
        return ""
    words, source = CONTACT_KINDS[kind]
    return f"{words} ({CONTACT_SOURCES[source]})"


@dataclass
class Row:
    client: Client
    last_contact: datetime
    days: int

    @property
    def what(self) -> str:
        return contact_words(self.client.last_contact_kind)


@dataclass
class Report:
    over_90: list[Row] = field(default_factory=list)
    over_60: list[Row] = field(default_factory=list)  # 61 to 90 days
    # The agency's clients with no contact recorded in the portal, by name: staff must reach
    # them (or record the contact the HMIS has) before the 90 days count against them.
    never: list[Client] = field(default_factory=list)

    @property
    def rows(self) -> list[Row]:
        return [*self.over_90, *self.over_60]


def last_contact_report(actor) -> Report:
    if not has_capability(actor.role, Capability.VIEW_CLIENTS) or not actor.agency_id:
        raise Forbidden(Capability.VIEW_CLIENTS)
    now = clock.now()
    owned = visible_clients(actor).where(Client.owning_agency_id == actor.agency_id)
    report = Report()
    for client in dbs().scalars(
        owned.where(Client.last_contact_at < now - timedelta(days=WARN_AFTER_DAYS)).order_by(
            Client.last_contact_at, Client.id
        )
    ):
        since = now - client.last_contact_at
        row = Row(client, client.last_contact_at, since.days)
        at_risk = since > timedelta(days=AT_RISK_AFTER_DAYS)
        (report.over_90 if at_risk else report.over_60).append(row)
    report.never = list(
        dbs().scalars(
            owned.where(Client.last_contact_at.is_(None)).order_by(
                Client.last_name, Client.first_name, Client.id
            )
        )
    )
    return report


def exported(actor, report: Report) -> None:
    """The CSV leaves the portal: say who took which clients' names."""

    audit.record(
        "coordinated_entry.exported",
        actor.agency,
        details={"clients": len(report.rows) + len(report.never)},
    )


def csv_safe(value: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: quote them (CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
