"""Services edited by hand: the list, the form's fields and their cleaning."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.domain.accounts.staff import require
from portal.domain.core.errors import DomainError, NotFound
from portal.domain.core.roles import Capability
from portal.domain.core.session import dbs
from portal.domain.core.validation import clean_text, parse_uuid
from portal.domain.directory import importer as directory_import
from portal.domain.directory.admin._uploads import DAYS, PER_PAGE
from portal.domain.models import (
    HsdsAddress,
    HsdsLanguage,
    HsdsLocation,
    HsdsOrganization,
    HsdsPhone,
    HsdsSchedule,
    HsdsService,
    HsdsServiceAtLocation,
)

# --- services ----------------------------------------------------------------------------------


def services_page(actor, q: str = "", page: int = 1):
    """The agency's directory services by name, 25 a page: (services, total, page, pages)."""
    require(actor, Capability.MANAGE_DIRECTORY)
    directory = directory_import.directory_for(actor.agency)
    query = select(HsdsService).where(HsdsService.directory_id == directory.id)
    words = (q or "").strip()[:100]
    if words:
        query = query.where(func.lower(HsdsService.name).contains(words.lower()))
    total = dbs().execute(select(func.count()).select_from(query.subquery())).scalar_one()
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, page), pages)
    rows = list(
        dbs().scalars(
            query.order_by(HsdsService.featured.desc(), HsdsService.name, HsdsService.id)
            .limit(PER_PAGE)
            .offset((page - 1) * PER_PAGE)
        )
    )
    return rows, total, page, pages


def service_for_staff(actor, service_id) -> HsdsService:
    require(actor, Capability.MANAGE_DIRECTORY)
    directory = directory_import.directory_for(actor.agency)
    sid = parse_uuid(service_id)
    service = dbs().get(HsdsService, sid) if sid else None
    if service is None or service.directory_id != directory.id:
        raise NotFound(("hsds_service", str(service_id)[:64]))
    return service


@dataclass
class ServiceFields:
    name: str = ""
    organization: str = ""
    description: str = ""
    status: str = "active"
    featured: bool = False
    phone: str = ""
    url: str = ""
    eligibility: str = ""
    application_process: str = ""
    fees: str = ""
    languages: str = ""  # "en, es"
    location_name: str = ""
    address_1: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    latitude: str = ""
    longitude: str = ""
    hours: dict | None = None  # {"MO": ("09:00", "17:00"), ...}
    hours_complete: bool = True  # False: imported hours the form cannot show


def fields_of(service: HsdsService, location_id=None) -> ServiceFields:
    """The form's values for a service: its main (first) location, or the given one, and that
    location's hours."""
    link, location, address = _main_location(service, location_id)
    phone = dbs().scalar(
        select(HsdsPhone.number).where(HsdsPhone.service_id == service.id).limit(1)
    )
    organization = (
        dbs().get(HsdsOrganization, service.organization_id) if service.organization_id else None
    )
    hours, complete = _weekly_hours(link)

    codes = dbs().scalars(select(HsdsLanguage.code).where(HsdsLanguage.service_id == service.id))
    return ServiceFields(
        name=service.name,
        organization=organization.name if organization and not organization.placeholder else "",
        description=service.description or "",
        status=service.status,
        featured=service.featured,
        phone=phone or "",
        url=service.url or "",
        eligibility=service.eligibility_description or "",
        application_process=service.application_process or "",
        fees=service.fees_description or "",
        languages=", ".join(c for c in codes if c),
        location_name=location.name if location else "",
        address_1=address.address_1 if address else "",
        city=(address.city or "") if address else "",
        state=(address.state_province or "") if address else "",
        postal_code=(address.postal_code or "") if address else "",
        latitude="" if not location or location.latitude is None else f"{location.latitude:.5f}",
        longitude="" if not location or location.longitude is None else f"{location.longitude:.5f}",
        hours=hours,
        hours_complete=complete,
    )


def _hhmm(value: time) -> str:
    """A time as the form shows it; the end of the day (23:59:59) is "24:00"."""
    if (value.hour, value.minute, value.second) == (23, 59, 59):
        return "24:00"
    return value.strftime("%H:%M")


def _weekly_hours(link) -> tuple[dict, bool]:
    """The place's weekly hours as the form shows them ({"MO": ("09:00", "17:00")}), and
    whether that is all clients see there. Not all: a monthly rule, dates, a weekly rule on
    the weekday of its start date, two spans a day, or hours kept on the service or the
    location instead of this place; the form then leaves them alone unless its hours change
    (hours entered here take precedence over the service's and the location's)."""
    hours: dict[str, tuple[str, str]] = {}
    complete = True
    if link is None:
        return hours, complete
    own = list(
        dbs().scalars(select(HsdsSchedule).where(HsdsSchedule.service_at_location_id == link.id))
    )
    if not own:
        inherited = dbs().scalar(
            select(func.count())
            .select_from(HsdsSchedule)
            .where(
                (HsdsSchedule.service_id == link.service_id)
                | (HsdsSchedule.location_id == link.location_id)
            )
        )
        return hours, not inherited
    for schedule in own:
        days = [d for d in (schedule.byday or "").split(",") if d]
        opens, closes = schedule.opens_at, schedule.closes_at
        simple = (
            (schedule.freq or "WEEKLY") in ("WEEKLY", "DAILY")
            and not schedule.valid_from
            and not schedule.valid_to
            and not (not days and schedule.dtstart and (schedule.freq or "") == "WEEKLY")
            and all(d in DAYS for d in days)
        )
        if opens is None or closes is None or not simple:
            complete = False
            continue
        for day in days or DAYS:
            if day in hours:
                complete = False
                continue
            hours[day] = (_hhmm(opens), _hhmm(closes))
    return hours, complete


def _main_location(service: HsdsService, location_id=None):
    """(service at location, location, address) of the service's first place, or of the
    given one (None for all three when the service is not offered there)."""
    query = select(HsdsServiceAtLocation).where(HsdsServiceAtLocation.service_id == service.id)
    if location_id is not None:
        query = query.where(HsdsServiceAtLocation.location_id == location_id)
    link = dbs().scalar(query.order_by(HsdsServiceAtLocation.id).limit(1))
    if link is None:
        return None, None, None
    location = dbs().get(HsdsLocation, link.location_id)
    return link, location, _street_address(link.location_id)


def _street_address(location_id) -> HsdsAddress | None:
    """The address clients see: the physical one first (a feed may also give a postal one)."""
    return dbs().scalar(
        select(HsdsAddress)
        .where(HsdsAddress.location_id == location_id)
        .order_by(HsdsAddress.address_type != "physical", HsdsAddress.id)
        .limit(1)
    )


def _clock(value: str, field: str, errors: list) -> time | None:
    value = (value or "").strip()
    if not value:
        return None
    parsed = directory_import.parse_time(value)
    if parsed is None:
        errors.append(DomainError(_l("Enter a time like 9:00 or 17:30."), field=field))
    return parsed


STATUSES = ("active", "inactive", "temporarily closed", "defunct")


def _text_cleaner(errors: list):
    def text(value, field, limit, required=False, message=None):
        try:
            return clean_text(
                value, field=field, max_length=limit, required=required, message=message
            )
        except DomainError as refusal:
            errors.append(refusal)
            return ""

    return text


def _clean_place(fields: ServiceFields, errors: list) -> dict:
    """A place's fields and the service's hours there (the service form and the place form)."""
    text = _text_cleaner(errors)
    out = {
        "location_name": text(fields.location_name, "location_name", 200),
        "address_1": text(fields.address_1, "address_1", 200),
        "city": text(fields.city, "city", 100),
        "state": text(fields.state, "state", 50),
        "postal_code": text(fields.postal_code, "postal_code", 10),
    }
    point = (fields.latitude or "").strip(), (fields.longitude or "").strip()
    out["latitude"] = out["longitude"] = None
    if any(point):
        try:
            lat, lon = float(point[0]), float(point[1])
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError
            out["latitude"], out["longitude"] = round(lat, 6), round(lon, 6)
        except ValueError:
            errors.append(
                DomainError(
                    _l("Enter both latitude and longitude as numbers, like 41.88 and -87.63."),
                    field="latitude",
                )
            )
    hours = {}
    for day in DAYS:
        opens, closes = (fields.hours or {}).get(day, ("", ""))
        before = len(errors)
        start = _clock(opens, f"{day.lower()}_opens", errors)
        end = _clock(closes, f"{day.lower()}_closes", errors)
        if len(errors) > before:
            continue
        if (start is None) != (end is None):
            errors.append(
                DomainError(_l("Enter both times, or neither."), field=f"{day.lower()}_opens")
            )
        elif start is not None:
            hours[day] = (start, end)
    out["hours"] = hours
    return out


def _clean(fields: ServiceFields) -> tuple[dict, list]:
    errors: list[DomainError] = []
    text = _text_cleaner(errors)
    out = {
        "name": text(fields.name, "name", 500, True, _l("Enter the service's name.")),
        "organization": text(fields.organization, "organization", 200),
        "description": text(fields.description, "description", 2000),
        "phone": text(fields.phone, "phone", 100),
        "eligibility": text(fields.eligibility, "eligibility", 1000),
        "application_process": text(fields.application_process, "application_process", 1000),
        "fees": text(fields.fees, "fees", 500),
    }
    url = (fields.url or "").strip()
    if url and not re.fullmatch(r"https?://\S{1,1990}", url):
        errors.append(DomainError(_l("Enter a web address starting with https://"), field="url"))
        url = ""
    out["url"] = url or None
    if fields.status not in STATUSES:
        errors.append(DomainError(_l("Choose whether clients can find it."), field="status"))
    out["status"] = fields.status
    out["featured"] = bool(fields.featured)
    codes = [c.strip().lower() for c in re.split(r"[,\s]+", fields.languages or "") if c.strip()]
    if any(not re.fullmatch(r"[a-z]{2,3}", c) for c in codes) or len(codes) > 12:
        errors.append(
            DomainError(_l("Use two-letter language codes, like en, es, vi."), field="languages")
        )
        codes = []
    out["languages"] = sorted(set(codes))
    out.update(_clean_place(fields, errors))
    return out, errors
