"""One service's page: where it is offered, its hours in the week, how to reach it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    or_,
    select,
)

from portal.domain.core.session import dbs
from portal.domain.core.statuses import ServiceStatus
from portal.domain.core.validation import parse_uuid
from portal.domain.directory import opening_hours
from portal.domain.directory._results import directions_link
from portal.domain.directory._text import language_code
from portal.domain.models import (
    Directory,
    DirectoryHours,
    HsdsAddress,
    HsdsLanguage,
    HsdsLocation,
    HsdsOrganization,
    HsdsPhone,
    HsdsService,
    HsdsServiceAtLocation,
)

# --- one service --------------------------------------------------------------------------------


# Opening hours as shown: (weekday, nth, [(opens, closes)]) in minutes from midnight, Monday
# first (see `weekly`).
WeeklyRows = list[tuple[int, int, list[tuple[int, int]]]]


@dataclass
class LocationDetails:
    location: HsdsLocation
    address: HsdsAddress | None
    phones: list[HsdsPhone]
    hours: WeeklyRows
    open_now: bool | None
    closes: int | None
    opens_at: datetime | None
    directions: str | None
    always: bool = False


@dataclass
class ServiceDetails:
    service: HsdsService
    organization: HsdsOrganization | None
    locations: list[LocationDetails]
    phones: list[HsdsPhone]
    languages: list[str]
    general_hours: WeeklyRows = field(default_factory=list)


def service_details(service_id, now: datetime) -> ServiceDetails | None:
    """An active service with its locations, hours, phones and languages; None if unknown."""

    sid = parse_uuid(service_id)
    service = dbs().get(HsdsService, sid) if sid else None
    if service is None or service.status != ServiceStatus.ACTIVE:
        return None
    zone = dbs().scalar(select(Directory.timezone).where(Directory.id == service.directory_id))
    local = opening_hours.local_now(now, zone or "UTC")
    organization = (
        dbs().get(HsdsOrganization, service.organization_id) if service.organization_id else None
    )
    if organization is not None and organization.placeholder:
        organization = None
    spans = defaultdict(list)
    for h in dbs().scalars(select(DirectoryHours).where(DirectoryHours.service_id == sid)):
        spans[h.location_id].append(
            opening_hours.Span(
                h.weekday, h.opens, h.closes, h.nth, h.spill, h.valid_from, h.valid_to
            )
        )
    locations = []
    for location in dbs().scalars(
        select(HsdsLocation)
        .join(HsdsServiceAtLocation, HsdsServiceAtLocation.location_id == HsdsLocation.id)
        .where(HsdsServiceAtLocation.service_id == sid)
        .order_by(HsdsLocation.name, HsdsLocation.id)
    ):
        address = dbs().scalar(
            select(HsdsAddress)
            .where(HsdsAddress.location_id == location.id)
            .order_by(HsdsAddress.address_type != "physical")
            .limit(1)
        )
        here = spans.get(location.id, [])
        is_open = opening_hours.is_open(here, local) if here else None
        locations.append(
            LocationDetails(
                location=location,
                address=address,
                phones=list(
                    dbs().scalars(select(HsdsPhone).where(HsdsPhone.location_id == location.id))
                ),
                hours=weekly(here),
                open_now=is_open,
                closes=opening_hours.closing_time(here, local) if is_open else None,
                opens_at=opening_hours.next_opening(here, now, zone or "UTC")
                if here and not is_open
                else None,
                directions=directions_link(location, address),
                always=opening_hours.always_open(here),
            )
        )
    spoken = set()
    for language in dbs().scalars(
        select(HsdsLanguage).where(
            or_(
                HsdsLanguage.service_id == sid,
                HsdsLanguage.location_id.in_([d.location.id for d in locations]),
            )
        )
    ):
        code = language_code(language.code, language.name)
        if code:
            spoken.add(code)
    return ServiceDetails(
        service=service,
        organization=organization,
        locations=locations,
        phones=list(dbs().scalars(select(HsdsPhone).where(HsdsPhone.service_id == sid))),
        languages=sorted(spoken),
        general_hours=weekly(spans.get(None, [])),
    )


def weekly(spans: list[opening_hours.Span]) -> WeeklyRows:
    """Display rows (weekday, nth, [(opens, closes)]) Monday first; a span that runs past
    midnight shows its real closing time (above 1440)."""
    rows: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for span in spans:
        if span.spill:
            continue
        closes = span.closes
        if closes == opening_hours.END_OF_DAY:
            following = [
                s
                for s in spans
                if s.spill and s.weekday == (span.weekday + 1) % 7 and s.nth == span.nth
            ]
            if following:
                closes += following[0].closes
        rows[(span.weekday, span.nth)].append((span.opens, closes))
    return [(day, nth, sorted(times)) for (day, nth), times in sorted(rows.items())]
