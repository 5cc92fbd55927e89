"""Agency administrators keep their resource directory (issue 9): HSDS uploads, services
with their main location and weekly hours, featured services, and community articles for the
spotlight panel of their clients' home page."""

from __future__ import annotations

import re
import time as time_module
import uuid
from dataclasses import dataclass
from datetime import date, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, func, literal, select, union_all

from portal.domain import directory as search
from portal.domain.accounts.staff import require
from portal.domain.core import audit
from portal.domain.core.errors import DomainError, NotFound
from portal.domain.core.roles import Capability
from portal.domain.core.session import after_commit, dbs
from portal.domain.core.validation import clean_text, parse_uuid
from portal.domain.directory import importer as directory_import
from portal.domain.models import (
    CommunityArticle,
    Directory,
    HsdsAddress,
    HsdsLanguage,
    HsdsLocation,
    HsdsOrganization,
    HsdsPhone,
    HsdsSchedule,
    HsdsService,
    HsdsServiceAtLocation,
)

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
PER_PAGE = 25
UPLOAD_KINDS = (".zip", ".json", ".csv")


# --- uploads -----------------------------------------------------------------------------------


def import_upload(actor, file_name: str, data: bytes) -> directory_import.ImportReport:
    """An HSDS datapackage (zip), an HSDS JSON file or one HSDS CSV table, into the agency's
    directory. A file the importer cannot read changes nothing."""
    require(actor, Capability.MANAGE_DIRECTORY)
    name = (file_name or "").lower()
    try:
        if name.endswith(".zip"):
            tables = directory_import.read_zip(data)
        elif name.endswith(".json"):
            tables = directory_import.read_json(data)
        elif name.endswith(".csv"):
            tables = directory_import.read_csv_bytes(name, data)
        else:
            raise directory_import.ImportRefused("kind")
        directory = directory_import.directory_for(actor.agency)
        _spotlight_changed()
        return directory_import.import_tables(directory, tables, actor=actor)
    except directory_import.ImportRefused:
        raise DomainError(
            _l(
                "This file cannot be read as HSDS data. Use a zip of HSDS CSV files, an HSDS "
                "JSON file, or one HSDS CSV table (for example services.csv)."
            ),
            field="file",
        ) from None


# --- services ----------------------------------------------------------------------------------


def services_page(actor, q: str = "", page: int = 1):
    """The agency's directory services by name, 25 a page: (services, total, page, pages)."""
    require(actor, Capability.MANAGE_DIRECTORY)
    directory = directory_import.directory_for(actor.agency)
    query = select(HsdsService).where(HsdsService.directory_id == directory.id)
    words = (q or "").strip()[:100]
    if words:
        query = query.where(func.lower(HsdsService.name).contains(words.lower()))
    total = dbs().scalar(select(func.count()).select_from(query.subquery()))
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
        simple = (
            (schedule.freq or "WEEKLY") in ("WEEKLY", "DAILY")
            and schedule.opens_at is not None
            and schedule.closes_at is not None
            and not schedule.valid_from
            and not schedule.valid_to
            and not (not days and schedule.dtstart and (schedule.freq or "") == "WEEKLY")
            and all(d in DAYS for d in days)
        )
        if not simple:
            complete = False
            continue
        for day in days or DAYS:
            if day in hours:
                complete = False
                continue
            hours[day] = (_hhmm(schedule.opens_at), _hhmm(schedule.closes_at))
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
    parsed = directory_import._time(value)
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


def save_service(actor, service: HsdsService | None, fields: ServiceFields) -> HsdsService:
    """Add or change a service with its main location, address, phone, languages and weekly
    hours; the search rows are rebuilt. Every field that is wrong says so at once."""
    require(actor, Capability.MANAGE_DIRECTORY)
    directory = directory_import.directory_for(actor.agency)
    if service is not None and service.directory_id != directory.id:
        raise NotFound(("hsds_service", str(service.id)))
    values, errors = _clean(fields)
    if errors:
        raise DomainError.all_of(errors)
    organization = None
    if values["organization"]:
        organization = dbs().scalar(
            select(HsdsOrganization).where(
                HsdsOrganization.directory_id == directory.id,
                func.lower(HsdsOrganization.name) == values["organization"].lower(),
            )
        )
        if organization is None:
            organization = HsdsOrganization(
                id=uuid.uuid4(), directory_id=directory.id, name=values["organization"]
            )
            dbs().add(organization)
    created = service is None
    if created:
        service = HsdsService(id=uuid.uuid4(), directory_id=directory.id, name=values["name"])
        dbs().add(service)
    service.name = values["name"]
    service.organization_id = organization.id if organization else None
    service.description = values["description"] or None
    service.status = values["status"]
    service.featured = values["featured"]
    service.url = values["url"]
    service.eligibility_description = values["eligibility"] or None
    service.application_process = values["application_process"] or None
    service.fees_description = values["fees"] or None
    dbs().flush()

    link, location, address = _main_location(service)
    wants_place = (
        any(values[k] for k in ("location_name", "address_1", "city", "postal_code"))
        or values["latitude"] is not None
        or values["hours"]
    )
    if wants_place and location is None:
        location = HsdsLocation(id=uuid.uuid4(), directory_id=directory.id)
        dbs().add(location)
        dbs().flush()
        link = HsdsServiceAtLocation(
            id=uuid.uuid4(),
            directory_id=directory.id,
            service_id=service.id,
            location_id=location.id,
        )
        dbs().add(link)
    if location is not None:
        before = fields_of(service) if not created else ServiceFields()
        _apply_place(directory, service, link, location, address, values, before)
    _replace_phone(directory, service, values["phone"])
    _replace_languages(directory, service, values["languages"])
    dbs().flush()
    search.reindex(directory)
    _spotlight_changed()
    audit.record(
        "directory.service_created" if created else "directory.service_changed",
        ("hsds_service", str(service.id)),
        details={"featured": service.featured, "status": service.status},
    )
    return service


def _apply_place(directory, service, link, location, address, values, before) -> None:
    """A place's name, coordinates, address and this service's hours there. A location other
    services share changes only in what the form changed."""
    if values["location_name"] != " ".join((before.location_name or "").split()):
        location.name = values["location_name"] or None
    if location.organization_id is None:
        location.organization_id = service.organization_id
    point = (values["latitude"], values["longitude"])
    if point != (_number(before.latitude), _number(before.longitude)):
        location.latitude, location.longitude = point
    address_changed = any(
        values[k] != " ".join((getattr(before, f) or "").split())
        for k, f in (
            ("address_1", "address_1"),
            ("city", "city"),
            ("state", "state"),
            ("postal_code", "postal_code"),
        )
    )
    if address_changed and values["address_1"]:
        if address is None:
            address = HsdsAddress(
                id=uuid.uuid4(),
                directory_id=directory.id,
                location_id=location.id,
                address_1=values["address_1"],
            )
            address.country = "US"  # a new address made here; an imported one keeps its own
            dbs().add(address)
        address.address_1 = values["address_1"]
        address.city = values["city"] or None
        address.state_province = values["state"] or None
        address.postal_code = values["postal_code"] or None
    elif address_changed and address is not None:
        dbs().delete(address)
    dbs().flush()
    # Hours change only when the form's hours changed: then the main location's weekly
    # hours are the ones entered here (imported rules the form cannot show go with them).
    shown, _complete = _weekly_hours(link)
    entered = {d: (_hhmm(o), _hhmm(c)) for d, (o, c) in values["hours"].items()}
    if entered != shown:
        _replace_hours(directory, link, values["hours"])


def places_of(service: HsdsService) -> list[tuple]:
    """Every place the service is offered at: (location, address or None), by name."""
    locations = list(
        dbs().scalars(
            select(HsdsLocation)
            .join(HsdsServiceAtLocation, HsdsServiceAtLocation.location_id == HsdsLocation.id)
            .where(HsdsServiceAtLocation.service_id == service.id)
            .order_by(HsdsLocation.name, HsdsLocation.id)
        )
    )
    street: dict = {}  # one statement for all the places' addresses, the physical one first
    for address in dbs().scalars(
        select(HsdsAddress)
        .where(HsdsAddress.location_id.in_([location.id for location in locations]))
        .order_by(HsdsAddress.address_type != "physical", HsdsAddress.id)
    ):
        street.setdefault(address.location_id, address)
    return [(location, street.get(location.id)) for location in locations]


def save_place(actor, service: HsdsService, location_id, fields: ServiceFields) -> None:
    """Change one place of the service (name, address, coordinates, its hours there), or add
    another (`location_id` None); the search rows are rebuilt."""
    require(actor, Capability.MANAGE_DIRECTORY)
    directory = directory_import.directory_for(actor.agency)
    if service.directory_id != directory.id:
        raise NotFound(("hsds_service", str(service.id)))
    errors: list[DomainError] = []
    values = _clean_place(fields, errors)
    if not values["location_name"] and not values["address_1"] and not errors:
        errors.append(
            DomainError(_l("Give the place a name or a street address."), field="location_name")
        )
    if errors:
        raise DomainError.all_of(errors)
    if location_id is None:
        location = HsdsLocation(
            id=uuid.uuid4(), directory_id=directory.id, organization_id=service.organization_id
        )
        dbs().add(location)
        dbs().flush()
        link = HsdsServiceAtLocation(
            id=uuid.uuid4(),
            directory_id=directory.id,
            service_id=service.id,
            location_id=location.id,
        )
        dbs().add(link)
        address, before = None, ServiceFields()
    else:
        link, location, address = _main_location(service, location_id)
        if link is None:
            raise NotFound(("hsds_location", str(location_id)[:64]))
        before = fields_of(service, location_id)
    _apply_place(directory, service, link, location, address, values, before)
    dbs().flush()
    search.reindex(directory)
    _spotlight_changed()
    audit.record(
        "directory.place_added" if location_id is None else "directory.place_changed",
        ("hsds_service", str(service.id)),
        details={"location": str(location.id)},
    )


def _replace_hours(directory, link, hours: dict) -> None:
    for old in dbs().scalars(
        select(HsdsSchedule).where(HsdsSchedule.service_at_location_id == link.id)
    ):
        dbs().delete(old)
    for day, (opens, closes) in hours.items():
        dbs().add(
            HsdsSchedule(
                id=uuid.uuid4(),
                directory_id=directory.id,
                service_at_location_id=link.id,
                freq="WEEKLY",
                byday=day,
                opens_at=opens,
                closes_at=closes,
            )
        )


def _number(text: str) -> float | None:
    return round(float(text), 6) if text else None


def _replace_phone(directory, service, number: str) -> None:
    phones = list(dbs().scalars(select(HsdsPhone).where(HsdsPhone.service_id == service.id)))
    if phones and phones[0].number == number:
        return
    if phones and number:
        phones[0].number = number
        return
    if phones and not number:
        dbs().delete(phones[0])
        return
    if number:
        dbs().add(
            HsdsPhone(
                id=uuid.uuid4(), directory_id=directory.id, service_id=service.id, number=number
            )
        )


def _replace_languages(directory, service, codes: list[str]) -> None:

    current = {
        row.code: row
        for row in dbs().scalars(select(HsdsLanguage).where(HsdsLanguage.service_id == service.id))
        if row.code  # a language given only by name (imported) is left as it is
    }
    for code, row in current.items():
        if code not in codes:
            dbs().delete(row)
    for code in codes:
        if code not in current:
            dbs().add(
                HsdsLanguage(
                    id=uuid.uuid4(), directory_id=directory.id, service_id=service.id, code=code
                )
            )


# --- community articles ------------------------------------------------------------------------


def articles_for(actor) -> list[CommunityArticle]:
    require(actor, Capability.MANAGE_DIRECTORY)
    return list(
        dbs().scalars(
            select(CommunityArticle)
            .where(CommunityArticle.agency_id == actor.agency_id)
            .order_by(CommunityArticle.created_at.desc())
        )
    )


def article_for_staff(actor, public_id) -> CommunityArticle:
    require(actor, Capability.MANAGE_DIRECTORY)
    article = dbs().scalar(
        select(CommunityArticle).where(
            CommunityArticle.public_id == parse_uuid(public_id),
            CommunityArticle.agency_id == actor.agency_id,
        )
    )
    if article is None:
        raise NotFound(("community_article", str(public_id)[:64]))
    return article


def save_article(
    actor,
    article: CommunityArticle | None,
    *,
    title: str,
    body: str,
    link: str,
    language: str,
    published: bool,
    ends_on: date | None,
) -> CommunityArticle:
    require(actor, Capability.MANAGE_DIRECTORY)
    errors = []
    try:
        title = clean_text(title, field="title", max_length=120, message=_l("Write a title."))
    except DomainError as refusal:
        errors.append(refusal)
    try:
        body = clean_text(body, field="body", max_length=1000, message=_l("Write a few sentences."))
    except DomainError as refusal:
        errors.append(refusal)
    link = (link or "").strip()
    if link and not re.fullmatch(r"https?://\S{1,1990}", link):
        errors.append(DomainError(_l("Enter a web address starting with https://"), field="link"))
    if language not in ("", "en", "es"):
        errors.append(DomainError(_l("Choose a language."), field="language"))
    if ends_on is not None and ends_on < actor.agency.today():
        errors.append(DomainError(_l("Choose a date from today on."), field="ends_on"))
    if errors:
        raise DomainError.all_of(errors)
    created = article is None
    if created:
        article = CommunityArticle(agency_id=actor.agency_id, title=title, body=body)
        dbs().add(article)
    elif article.agency_id != actor.agency_id:
        raise NotFound(("community_article", str(article.public_id)))
    article.title, article.body, article.link = title, body, link or None
    article.language = language or None
    article.published, article.ends_on = published, ends_on
    dbs().flush()
    _spotlight_changed()
    audit.record(
        "community_article.created" if created else "community_article.changed",
        article,
        details={"published": published},
    )
    return article


SPOTLIGHT_SECONDS = 60.0
_spotlights: dict[tuple, tuple[float, dict | None]] = {}


@dataclass(frozen=True)
class ShownArticle:
    title: str
    body: str
    link: str | None


@dataclass(frozen=True)
class ShownService:
    id: uuid.UUID
    name: str


def spotlight(agency, language: str, *, limit: int = 3) -> dict | None:
    """What the client's home page shows: the owning agency's published articles (in the
    reader's language or for everyone) that have not ended, and its featured services.

    The same for every client of the agency (public community information, nothing about a
    person), so each process keeps it for `SPOTLIGHT_SECONDS`: an administrator's change shows
    at once in the process that made it and within a minute everywhere else."""
    today = agency.today()
    key = (agency.public_id, language, today, limit)
    now = time_module.monotonic()
    cached = _spotlights.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    shown = _spotlight(agency, language, today, limit)
    if len(_spotlights) > 1000:
        _spotlights.clear()
    _spotlights[key] = (now + SPOTLIGHT_SECONDS, shown)
    return shown


def _spotlight(agency, language: str, today: date, limit: int) -> dict | None:
    """Articles and featured services in one statement (the home page's cold path)."""
    articles = (
        select(
            literal("article").label("kind"),
            CommunityArticle.title.label("title"),
            CommunityArticle.body.label("body"),
            CommunityArticle.link.label("link"),
            literal(None, String).label("service_id"),
            CommunityArticle.created_at.label("at"),
        )
        .where(
            CommunityArticle.agency_id == agency.id,
            CommunityArticle.published.is_(True),
            (CommunityArticle.language.is_(None)) | (CommunityArticle.language == language),
            (CommunityArticle.ends_on.is_(None)) | (CommunityArticle.ends_on >= today),
        )
        .order_by(CommunityArticle.created_at.desc())
        .limit(limit)
        .subquery()
    )
    featured = (
        select(
            literal("service").label("kind"),
            HsdsService.name.label("title"),
            literal(None, String).label("body"),
            literal(None, String).label("link"),
            cast(HsdsService.id, String).label("service_id"),
            literal(None, CommunityArticle.created_at.type).label("at"),
        )
        .join(Directory, Directory.id == HsdsService.directory_id)
        .where(
            Directory.agency_id == agency.id,
            HsdsService.featured.is_(True),
            HsdsService.status == "active",
        )
        .order_by(HsdsService.name)
        .limit(limit)
        .subquery()
    )
    rows = dbs().execute(union_all(select(articles), select(featured))).all()
    # A union keeps no order: newest articles first, services by name, as each part chose.
    newest_first = sorted((r for r in rows if r.kind == "article"), key=lambda r: r.at)[::-1]
    shown_articles = [ShownArticle(r.title, r.body, r.link) for r in newest_first]
    shown_services = [
        ShownService(uuid.UUID(str(r.service_id)), r.title)
        for r in sorted((r for r in rows if r.kind == "service"), key=lambda r: r.title)
    ]
    if not shown_articles and not shown_services:
        return None
    return {"articles": shown_articles, "featured": shown_services}


def forget_spotlights() -> None:
    _spotlights.clear()


def _spotlight_changed() -> None:
    """After an administrator's change commits, this process shows it at once."""
    after_commit(forget_spotlights)
