"""A page's results in full: addresses, phones and directions links, hours, languages."""

from __future__ import annotations

import math
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import (
    String,
    or_,
    select,
    type_coerce,
)

from portal.domain.core.session import dbs
from portal.domain.directory import opening_hours
from portal.domain.directory._text import Query, Result, _distance
from portal.domain.models import (
    Directory,
    DirectoryHours,
    DirectorySearch,
    HsdsAddress,
    HsdsLocation,
    HsdsPhone,
    HsdsServiceAtLocation,
)


def _address_line(address) -> str | None:
    if address is None:
        return None
    parts = [address.address_1, address.address_2, address.city, address.state_province]
    line = ", ".join(p for p in parts if p)
    return f"{line} {address.postal_code}".strip() if address.postal_code else line or None


def phone_link(number: str | None) -> str | None:
    """A tel: link for the first number of the field ("(618) 453-3217; (618) 536-7711")."""
    if not number:
        return None
    first = re.split(r"[;,/]| or | ext", number, maxsplit=1)[0]
    digits = re.sub(r"[^\d+]", "", first)
    digits = digits[0] + digits[1:].replace("+", "") if digits else ""
    return f"tel:{digits}" if len(re.sub(r"\D", "", digits)) >= 3 else None


def directions_link(location, address) -> str | None:
    """A map link: the location's coordinates, else its street address, else none."""
    if location is not None and location.latitude is not None:
        target = f"{location.latitude:.5f},{location.longitude:.5f}"
    elif address is not None and address.address_1 and (address.city or address.postal_code):
        target = _address_line(address) or ""
    else:
        return None
    return "https://www.google.com/maps/dir/?api=1&destination=" + quote(target, safe=",")


def _key(value) -> str:
    """One form for an id however the database returned it (SQLite: 32 hex digits; PostgreSQL
    through psycopg: a UUID), so rows can be matched without making UUID objects."""
    return value.hex if isinstance(value, uuid.UUID) else str(value).replace("-", "").lower()


def _raw(column):
    return type_coerce(column, String).label(column.key)


@dataclass
class _Found:
    """What a page of results shows, read for all of them at once, by service or place key."""

    rows: dict
    links: dict
    addresses: dict
    phones: dict
    spans: dict
    zones: dict


def _details(ids: list[uuid.UUID], query: Query, now: datetime, nearest: dict) -> list[Result]:
    """The page's results: columns only (no ORM objects), a fixed number of statements."""
    if not ids:
        return []
    found = _found(ids)
    results = []
    for service_id in ids:
        row = found.rows.get(_key(service_id))
        if row is not None:
            results.append(_result(service_id, row, found, query, now, nearest))
    return results


def _found(ids: list[uuid.UUID]) -> _Found:
    s = DirectorySearch
    rows = {
        _key(r.service_id): r
        for r in dbs().execute(
            select(
                _raw(s.service_id), s.name, s.summary, s.languages, s.featured, s.directory_id
            ).where(s.service_id.in_(ids))
        )
    }
    links = defaultdict(list)
    location_ids = []
    for location in dbs().execute(
        select(
            _raw(HsdsServiceAtLocation.service_id),
            _raw(HsdsLocation.id),
            HsdsLocation.name,
            HsdsLocation.latitude,
            HsdsLocation.longitude,
        )
        .join(HsdsLocation, HsdsLocation.id == HsdsServiceAtLocation.location_id)
        .where(HsdsServiceAtLocation.service_id.in_(ids))
    ):
        links[_key(location.service_id)].append(location)
        location_ids.append(uuid.UUID(_key(location.id)))
    return _Found(
        rows=rows,
        links=links,
        addresses=_addresses(location_ids),
        phones=_phones(ids, location_ids),
        spans=_spans(ids),
        zones=dict(dbs().execute(select(Directory.id, Directory.timezone)).all()),
    )


def _addresses(location_ids) -> dict:
    addresses = {}
    for address in dbs().execute(
        select(
            _raw(HsdsAddress.location_id),
            HsdsAddress.address_1,
            HsdsAddress.address_2,
            HsdsAddress.city,
            HsdsAddress.state_province,
            HsdsAddress.postal_code,
            HsdsAddress.address_type,
        ).where(HsdsAddress.location_id.in_(location_ids))
    ):
        owner = _key(address.location_id)
        if owner not in addresses or address.address_type == "physical":
            addresses[owner] = address
    return addresses


def _phones(ids, location_ids) -> dict:
    phones = defaultdict(list)
    for phone in dbs().execute(
        select(_raw(HsdsPhone.service_id), _raw(HsdsPhone.location_id), HsdsPhone.number).where(
            or_(HsdsPhone.service_id.in_(ids), HsdsPhone.location_id.in_(location_ids))
        )
    ):
        phones[_key(phone.service_id or phone.location_id)].append(phone)
    return phones


def _spans(ids) -> dict:
    spans = defaultdict(list)
    h = DirectoryHours
    for row in dbs().execute(
        select(
            _raw(h.service_id),
            _raw(h.location_id),
            h.weekday,
            h.opens,
            h.closes,
            h.nth,
            h.spill,
            h.valid_from,
            h.valid_to,
        ).where(h.service_id.in_(ids))
    ):
        owner = (_key(row.service_id), _key(row.location_id) if row.location_id else None)
        spans[owner].append(
            opening_hours.Span(
                row.weekday,
                row.opens,
                row.closes,
                row.nth,
                row.spill,
                row.valid_from,
                row.valid_to,
            )
        )
    return spans


def _best_place(key: str, found: _Found, query: Query, local):
    """Nearest first when a place is known; then open now, then known hours."""

    def preference(location):
        here = found.spans.get((key, _key(location.id))) or []
        miles = (
            _distance(
                query.place.latitude,
                query.place.longitude,
                location.latitude,
                location.longitude,
            )
            if query.place is not None and location.latitude is not None
            else math.inf
        )
        is_open = opening_hours.is_open(here, local)
        if query.open_now:  # the place that made it "open now" comes first
            return (not is_open, miles, not here, _key(location.id))
        return (miles, not is_open, not here, _key(location.id))

    places = sorted(found.links.get(key, []), key=preference)
    return places[0] if places else None


def _result(service_id, row, found: _Found, query: Query, now: datetime, nearest: dict) -> Result:
    key = _key(service_id)
    zone = found.zones.get(row.directory_id) or "UTC"
    local = opening_hours.local_now(now, zone)
    location = _best_place(key, found, query, local)
    where = _key(location.id) if location is not None else None
    address = found.addresses.get(where) if where else None
    phones = found.phones.get(key, []) + (found.phones.get(where, []) if where else [])
    phone = next(iter(phones), None)
    result = Result(
        service_id=service_id,
        name=row.name,
        summary=row.summary,
        languages=row.languages.split(),
        distance=nearest.get(service_id),
        featured=row.featured,
        location_name=location.name if location is not None else None,
        address=_address_line(address),
        directions=directions_link(location, address),
    )
    if phone is not None:
        result.phone = phone.number
        result.phone_link = phone_link(phone.number)
    here = found.spans.get((key, where)) or []
    if here:
        result.open_now = opening_hours.is_open(here, local)
        result.always = opening_hours.always_open(here)
        if result.open_now:
            result.closes = opening_hours.closing_time(here, local)
        else:
            result.opens_at = opening_hours.next_opening(here, now, zone)
    return result
