"""Saving a service edited by hand: the service, its places, hours, phone and languages."""

from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.domain import directory as search
from portal.domain.accounts.staff import require
from portal.domain.core import audit
from portal.domain.core.errors import DomainError, NotFound
from portal.domain.core.roles import Capability
from portal.domain.core.session import dbs
from portal.domain.directory import importer as directory_import
from portal.domain.directory.admin._fields import (
    ServiceFields,
    _clean,
    _clean_place,
    _hhmm,
    _main_location,
    _weekly_hours,
    fields_of,
)
from portal.domain.directory.admin._spotlight import _spotlight_changed
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
    if service is None:
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
