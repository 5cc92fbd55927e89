"""The directory in the shapes of the HSDS 3 OpenAPI definition (issue 9): services with
their organization, locations (addresses, phones, schedules, languages), phones, schedules,
languages and attributes. Loaded in bulk for a page of services (a fixed number of queries
whatever the page size). Tables the portal does not keep come out as empty lists, so every
field of the shape is there."""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import func, or_, select

from portal.domain import directory
from portal.domain.core.session import dbs
from portal.domain.core.statuses import ServiceStatus
from portal.domain.core.validation import parse_uuid
from portal.domain.models import (
    DirectorySearch,
    HsdsAddress,
    HsdsAttribute,
    HsdsLanguage,
    HsdsLocation,
    HsdsOrganization,
    HsdsPhone,
    HsdsSchedule,
    HsdsService,
    HsdsServiceAtLocation,
    HsdsTaxonomy,
    HsdsTaxonomyTerm,
)

VERSION = "3.0"
OPENAPI_URL = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/openapi.json"
MAX_PER_PAGE = 100
# Not kept for these: empty, so the shape holds.
_EMPTY: dict[str, list] = {"attributes": [], "metadata": []}


def _plain(value):
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _fields(row, names) -> dict:
    return {name: _plain(getattr(row, name, None)) for name in names}


LANGUAGE = ("id", "service_id", "location_id", "phone_id", "name", "code", "note")
PHONE = (
    "id",
    "location_id",
    "service_id",
    "organization_id",
    "contact_id",  # contacts are not kept: always null
    "service_at_location_id",
    "number",
    "extension",
    "type",
    "description",
)
SCHEDULE = (
    "id",
    "service_id",
    "location_id",
    "service_at_location_id",
    "valid_from",
    "valid_to",
    "dtstart",
    "timezone",
    "until",
    "count",
    "wkst",
    "freq",
    "interval",
    "byday",
    "byweekno",
    "bymonthday",
    "byyearday",
    "description",
    "opens_at",
    "closes_at",
    "schedule_link",
    "attending_type",
    "notes",
)
ADDRESS = (
    "id",
    "location_id",
    "attention",
    "address_1",
    "address_2",
    "city",
    "region",
    "state_province",
    "postal_code",
    "country",
    "address_type",
)
LOCATION = (
    "id",
    "location_type",
    "url",
    "name",
    "alternate_name",
    "description",
    "transportation",
    "latitude",
    "longitude",
    "external_identifier",
    "external_identifier_type",
)
ORGANIZATION = (
    "id",
    "name",
    "alternate_name",
    "description",
    "email",
    "website",
    "year_incorporated",
    "legal_status",
    "uri",
    "parent_organization_id",
)
SERVICE = (
    "id",
    "name",
    "alternate_name",
    "description",
    "url",
    "email",
    "status",
    "interpretation_services",
    "application_process",
    "fees_description",
    "accreditations",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "assured_date",
    "assurer_email",
    "alert",
)
TERM = (
    "id",
    "code",
    "name",
    "description",
    "parent_id",
    "taxonomy",
    "language",
    "taxonomy_id",
    "term_uri",
)


def metadata() -> dict:
    return {"version": VERSION, "profile": None, "openapi_url": OPENAPI_URL}


def page_of(
    *, search: str = "", taxonomy_term_id: str = "", page: int = 1, per_page: int = 25
) -> dict:
    """The list shape: total_items, total_pages, page_number, size, first_page, last_page,
    empty, contents (active services, best match first when searching, else by name)."""
    s = DirectorySearch
    stmt = select(s.service_id)
    order = [s.name, s.service_id]
    if search:  # the API's search is full text only, on both databases
        stmt, rank = directory.with_text_search(stmt, search, categories=False)
        if rank is not None:
            order = [rank, *order]
    if taxonomy_term_id:
        term = parse_uuid(taxonomy_term_id)
        stmt = stmt.where(
            s.service_id.in_(
                select(HsdsAttribute.link_id).where(
                    HsdsAttribute.link_entity == "service",
                    HsdsAttribute.taxonomy_term_id == term,
                )
            )
        )
    total = dbs().execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    ids = list(dbs().scalars(stmt.order_by(*order).limit(per_page).offset((page - 1) * per_page)))
    contents = services(ids)
    return {
        "total_items": total,
        "total_pages": pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page == pages,
        "empty": not contents,
        "contents": contents,
    }


def one(service_id) -> dict | None:

    sid = parse_uuid(service_id)
    if sid is None:
        return None
    found = services([sid])
    return found[0] if found else None


def services(ids: list[uuid.UUID]) -> list[dict]:
    """Full services, in the order of `ids` (unknown or inactive ones left out)."""
    if not ids:
        return []
    rows = {
        s.id: s
        for s in dbs().scalars(
            select(HsdsService).where(
                HsdsService.id.in_(ids), HsdsService.status == ServiceStatus.ACTIVE
            )
        )
    }
    related = _related(ids, rows)
    return [_service_json(rows[service_id], related) for service_id in ids if service_id in rows]


@dataclass
class _Related:
    """What the services refer to, each read once for all of them, by owner id."""

    links: dict
    locations: dict
    organizations: dict
    addresses: dict
    phones: dict
    languages: dict
    schedules: dict
    attributes: dict


def _related(ids: list[uuid.UUID], rows: dict) -> _Related:
    links = defaultdict(list)
    for link in dbs().scalars(
        select(HsdsServiceAtLocation).where(HsdsServiceAtLocation.service_id.in_(ids))
    ):
        links[link.service_id].append(link)
    link_ids = [link.id for group in links.values() for link in group]
    location_ids = {link.location_id for group in links.values() for link in group}
    locations = {
        loc.id: loc
        for loc in dbs().scalars(select(HsdsLocation).where(HsdsLocation.id.in_(location_ids)))
    }
    organization_ids = {s.organization_id for s in rows.values() if s.organization_id}
    organizations = {
        o.id: o
        for o in dbs().scalars(
            select(HsdsOrganization).where(
                HsdsOrganization.id.in_(organization_ids), HsdsOrganization.placeholder.is_(False)
            )
        )
    }
    addresses = defaultdict(list)
    for address in dbs().scalars(
        select(HsdsAddress).where(HsdsAddress.location_id.in_(location_ids))
    ):
        addresses[address.location_id].append({**_fields(address, ADDRESS), **_EMPTY})
    phone_rows = list(
        dbs().scalars(
            select(HsdsPhone).where(
                or_(
                    HsdsPhone.service_id.in_(ids),
                    HsdsPhone.location_id.in_(location_ids),
                    HsdsPhone.service_at_location_id.in_(link_ids),
                    HsdsPhone.organization_id.in_(list(organizations)),
                )
            )
        )
    )
    languages = _languages(ids, location_ids, phone_rows)
    return _Related(
        links=links,
        locations=locations,
        organizations=organizations,
        addresses=addresses,
        phones=_phones(phone_rows, languages),
        languages=languages,
        schedules=_schedules(ids, location_ids, link_ids),
        attributes=_attributes(ids),
    )


def _languages(ids, location_ids, phone_rows) -> dict:
    languages = defaultdict(list)
    for language in dbs().scalars(
        select(HsdsLanguage).where(
            or_(
                HsdsLanguage.service_id.in_(ids),
                HsdsLanguage.location_id.in_(location_ids),
                HsdsLanguage.phone_id.in_([p.id for p in phone_rows]),
            )
        )
    ):
        entry = {**_fields(language, LANGUAGE), **_EMPTY}
        for owner in (language.service_id, language.location_id, language.phone_id):
            if owner is not None:
                languages[owner].append(entry)
    return languages


def _phones(phone_rows, languages: dict) -> dict:
    phones = defaultdict(list)
    for phone in phone_rows:
        entry = {**_fields(phone, PHONE), "languages": languages.get(phone.id, []), **_EMPTY}
        extension = (phone.extension or "").strip()
        entry["extension"] = int(extension) if extension.isdigit() else None  # a number in HSDS
        for owner in (
            phone.service_id,
            phone.location_id,
            phone.service_at_location_id,
            phone.organization_id,
        ):
            if owner is not None:
                phones[owner].append(entry)
    return phones


def _schedules(ids, location_ids, link_ids) -> dict:
    schedules = defaultdict(list)
    for schedule in dbs().scalars(
        select(HsdsSchedule).where(
            or_(
                HsdsSchedule.service_id.in_(ids),
                HsdsSchedule.location_id.in_(location_ids),
                HsdsSchedule.service_at_location_id.in_(link_ids),
            )
        )
    ):
        owner = schedule.service_at_location_id or schedule.service_id or schedule.location_id
        schedules[owner].append({**_fields(schedule, SCHEDULE), **_EMPTY})
    return schedules


def _attributes(ids) -> dict:
    attributes = defaultdict(list)
    for attribute, term, taxonomy in dbs().execute(
        select(HsdsAttribute, HsdsTaxonomyTerm, HsdsTaxonomy)
        .join(HsdsTaxonomyTerm, HsdsTaxonomyTerm.id == HsdsAttribute.taxonomy_term_id)
        .outerjoin(HsdsTaxonomy, HsdsTaxonomy.id == HsdsTaxonomyTerm.taxonomy_id)
        .where(HsdsAttribute.link_entity == "service", HsdsAttribute.link_id.in_(ids))
    ):
        detail = (
            _fields(taxonomy, ("id", "name", "description", "uri", "version"))
            if taxonomy is not None
            else None
        )
        attributes[attribute.link_id].append(
            {
                **_fields(attribute, ("id", "link_type", "link_entity", "value")),
                "taxonomy_term": {**_fields(term, TERM), "taxonomy_detail": detail, "metadata": []},
                "metadata": [],
            }
        )
    return attributes


def _location_json(location_id, related: _Related) -> dict:
    location = related.locations[location_id]
    return {
        **_fields(location, LOCATION),
        "organization_id": _plain(location.organization_id),
        "languages": related.languages.get(location_id, []),
        "addresses": related.addresses.get(location_id, []),
        "contacts": [],
        "accessibility": [],
        "phones": related.phones.get(location_id, []),
        "schedules": related.schedules.get(location_id, []),
        "attributes": [],
        "metadata": [],
    }


def _organization_json(organization, related: _Related) -> dict | None:
    if organization is None:
        return None
    return {
        **_fields(organization, ORGANIZATION),
        "tax_status": None,
        "logo": None,
        "funding": [],
        "contacts": [],
        "phones": related.phones.get(organization.id, []),
        "locations": [],
        "programs": [],
        "organization_identifiers": [],
        "attributes": [],
        "metadata": [],
    }


def _service_json(service, related: _Related) -> dict:
    organization = related.organizations.get(service.organization_id)
    return {
        **_fields(service, SERVICE),
        "organization_id": str(organization.id) if organization else None,
        "program_id": None,  # programs are not kept
        "wait_time": None,  # not kept (HSDS 3.0 deprecated fields)
        "fees": None,
        "licenses": None,
        "last_modified": _plain(service.updated_at),
        "phones": related.phones.get(service.id, []),
        "schedules": related.schedules.get(service.id, []),
        "service_areas": [],
        "service_at_locations": [
            {
                "id": str(link.id),
                "service_id": str(link.service_id),
                "location_id": str(link.location_id),
                "description": link.description,
                "contacts": [],
                "phones": related.phones.get(link.id, []),
                "schedules": related.schedules.get(link.id, []),
                "location": _location_json(link.location_id, related),
                "attributes": [],
                "metadata": [],
            }
            for link in related.links.get(service.id, [])
            if link.location_id in related.locations
        ],
        "languages": related.languages.get(service.id, []),
        "organization": _organization_json(organization, related),
        "funding": [],
        "cost_options": [],
        "program": None,
        "required_documents": [],
        "contacts": [],
        "attributes": related.attributes.get(service.id, []),
        "metadata": [],
    }
