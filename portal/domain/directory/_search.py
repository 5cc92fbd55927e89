"""Searching: keywords (full text and the categories their words name), categories, open now,
distance, featured first; one page of results."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import OrderedDict, defaultdict
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    false,
    func,
    or_,
    select,
    type_coerce,
)

from portal.domain.core.session import dbs
from portal.domain.directory import opening_hours
from portal.domain.directory._results import _details, _key
from portal.domain.directory._text import (
    CATEGORIES,
    PER_PAGE,
    Page,
    Place,
    Query,
    _distance,
    language_code,
    with_text_search,
)
from portal.domain.models import (
    Directory,
    DirectoryHours,
    DirectorySearch,
    HsdsLocation,
    HsdsServiceAtLocation,
)


def _open_now_clause(now: datetime):
    """The condition on directory_hours rows open now, in each directory's time zone."""
    zones = defaultdict(list)
    for did, zone in dbs().execute(select(Directory.id, Directory.timezone)):
        zones[zone].append(did)
    clauses = []
    for zone, ids in zones.items():
        v = opening_hours.sql_values(now, zone)
        h = DirectoryHours
        rule_today = or_(h.nth == 0, h.nth == v["nth"], and_(h.nth == -1, v["last"]))
        rule_yesterday = or_(h.nth == 0, h.nth == v["y_nth"], and_(h.nth == -1, v["y_last"]))

        def valid(day, h=h):
            return and_(
                or_(h.valid_from.is_(None), h.valid_from <= day),
                or_(h.valid_to.is_(None), h.valid_to >= day),
            )

        clauses.append(
            and_(
                h.directory_id.in_(ids),
                h.weekday == v["weekday"],
                h.opens <= v["minute"],
                h.closes > v["minute"],
                or_(
                    and_(h.spill == false(), rule_today, valid(v["today"])),
                    and_(h.spill, rule_yesterday, valid(v["yesterday"])),
                ),
            )
        )
    return or_(*clauses) if clauses else None


def _open_now_filter(now: datetime):
    """Services with a span open now (at any of their locations)."""
    clause = _open_now_clause(now)
    return None if clause is None else select(DirectoryHours.service_id).where(clause)


def _open_pairs(now: datetime, box: tuple) -> set[tuple[str, str | None]]:
    """(service, place) pairs with a span open now at a place in the box, or in the service's
    own hours (place None)."""
    clause = _open_now_clause(now)
    if clause is None:
        return set()
    low_lat, high_lat, low_lon, high_lon = box
    in_box = select(HsdsLocation.id).where(
        HsdsLocation.latitude.between(low_lat, high_lat),
        HsdsLocation.longitude.between(low_lon, high_lon),
    )
    h = DirectoryHours
    return {
        (_key(service_id), _key(location_id) if location_id else None)
        for service_id, location_id in dbs().execute(
            select(type_coerce(h.service_id, String), type_coerce(h.location_id, String)).where(
                or_(h.location_id.in_(in_box), h.location_id.is_(None)), clause
            )
        )
    }


def _box(place: Place, miles: float):
    dlat = miles / 69.0
    dlon = miles / max(1e-6, 69.0 * math.cos(math.radians(place.latitude)))
    return (
        place.latitude - dlat,
        place.latitude + dlat,
        place.longitude - dlon,
        place.longitude + dlon,
    )


def _filtered(query: Query, now: datetime, *columns, ranked: bool = True, base=None, open_now=None):
    """(statement over directory_search with every filter, rank order or None), or None when
    nothing can match. `base`: another FROM (joined to directory_search) to start from."""
    s = DirectorySearch
    stmt = select(*columns).select_from(base if base is not None else s)
    where = []
    stmt, rank = with_text_search(stmt, query.text, ranked=ranked)
    if query.category in CATEGORIES:
        where.append(s.categories.like(f"% {query.category} %"))
    code = language_code(query.language)
    if code:
        where.append(s.languages.like(f"% {code} %"))
    if query.open_now if open_now is None else open_now:
        open_ids = _open_now_filter(now)
        if open_ids is None:
            return None, None
        where.append(s.service_id.in_(open_ids))
    return stmt.where(*where), rank


def _featured_first(query: Query) -> list:
    """An agency features services for its own clients: first in their results only."""
    if query.home_directory is None:
        return []
    s = DirectorySearch
    return [case((and_(s.featured, s.directory_id == query.home_directory), 0), else_=1)]


def directory_of(agency_id: int) -> int | None:
    """The agency's directory (made once, never removed), known for a minute per process."""
    now = time.monotonic()
    known = _directory_ids.get(agency_id)
    if known is not None and known[0] > now:
        return known[1]
    found = dbs().scalar(select(Directory.id).where(Directory.agency_id == agency_id))
    _directory_ids[agency_id] = (now + 60.0, found)
    return found


# Recent searches, per process. The directory is public information, the same for everyone
# (a client's agency only moves its featured services up, and it is part of the key), and
# "open now" changes by the minute: a search asked again in the same minute gets the same page
# without running again (a crowd at one shelter asks for "shelter" and "food"). A search from a
# place is never kept: a person's place is used for that search only.
RECENT_SEARCHES = 512
_recent: OrderedDict[tuple, Page] = OrderedDict()
_recent_lock = threading.Lock()


_directory_ids: dict[int, tuple[float, int | None]] = {}


def forget_searches() -> None:
    with _recent_lock:
        _recent.clear()
        _directory_ids.clear()


def search(query: Query, now: datetime) -> Page:
    if query.place is not None:
        return _search(query, now)
    minute = now.replace(second=0, microsecond=0)
    key = (
        minute,
        query.text,
        query.category,
        query.open_now,
        query.language,
        query.page,
        query.home_directory,
    )
    with _recent_lock:
        page = _recent.get(key)
        if page is not None:
            _recent.move_to_end(key)
            return page
    page = _search(query, now)
    with _recent_lock:
        _recent[key] = page
        while len(_recent) > RECENT_SEARCHES or (_recent and next(iter(_recent))[0] < minute):
            _recent.popitem(last=False)
    return page


def _search(query: Query, now: datetime) -> Page:
    return _search_anywhere(query, now) if query.place is None else _search_near(query, now)


def _search_anywhere(query: Query, now: datetime) -> Page:
    s = DirectorySearch
    stmt, rank = _filtered(query, now, s.service_id, func.count().over().label("total"))
    if stmt is None:
        return Page()
    order = [*_featured_first(query), *([rank] if rank is not None else []), s.name]
    order.append(s.service_id)
    page = max(1, query.page)
    rows = dbs().execute(stmt.order_by(*order).limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    if not rows and page > 1:  # past the end: the last page
        total = (
            dbs()
            .execute(
                select(func.count()).select_from(_filtered(query, now, s.service_id)[0].subquery())
            )
            .scalar_one()
        )
        page = max(1, math.ceil(total / PER_PAGE))
        rows = (
            dbs().execute(stmt.order_by(*order).limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
        )
    total = rows[0].total if rows else 0
    pages = max(1, math.ceil(total / PER_PAGE))
    ids = [row.service_id for row in rows]
    return Page(_details(ids, query, now, {}), total, min(page, pages), pages)


def _search_near(query: Query, now: datetime) -> Page:
    """The nearest location of each matching service within the radius, nearest first; then
    the services whose locations have no coordinates ("distance unknown")."""
    nearest = _nearest(query, now)
    if nearest is None:
        return Page()
    near = sorted(nearest, key=lambda sid: (nearest[sid], sid))
    ordered = near + _distance_unknown(query, now, nearest)
    total = len(ordered)
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(1, query.page), pages)
    shown = ordered[(page - 1) * PER_PAGE : page * PER_PAGE]
    ids = [uuid.UUID(str(raw)) for raw in shown]
    distances = {uuid.UUID(str(raw)): nearest[raw] for raw in shown if raw in nearest}
    return Page(_details(ids, query, now, distances), total, page, pages)


def _nearest(query: Query, now: datetime) -> dict[str, float] | None:
    """Each matching service's distance to its nearest place in the radius (None: no match)."""
    s = DirectorySearch
    place = query.place
    if place is None:  # nothing to be near
        return None
    low_lat, high_lat, low_lon, high_lon = _box(place, query.radius)
    # Ids come back as the database gives them (no UUID objects for hundreds of rows).
    raw_id = type_coerce(HsdsServiceAtLocation.service_id, String)
    # From the locations in the bounding box (an index on latitude, longitude) to the
    # services offered there that match the filters.
    in_box = HsdsLocation.__table__.join(
        HsdsServiceAtLocation.__table__,
        HsdsServiceAtLocation.location_id == HsdsLocation.id,
    ).join(s.__table__, s.service_id == HsdsServiceAtLocation.service_id)
    located, _rank = _filtered(
        query,
        now,
        raw_id,
        HsdsLocation.latitude,
        HsdsLocation.longitude,
        type_coerce(HsdsLocation.id, String),
        ranked=False,
        base=in_box,
        open_now=False,  # checked per place below
    )
    if located is None:
        return None
    located = located.where(
        HsdsLocation.latitude.between(low_lat, high_lat),
        HsdsLocation.longitude.between(low_lon, high_lon),
    )
    rows = dbs().execute(located).all()
    # With "open now", the distance is to a place that is open now, not to any place: the
    # (service, place) pairs open now at places in the box (a place of None: the service's
    # own hours), read in one statement.
    open_pairs = (
        _open_pairs(now, (low_lat, high_lat, low_lon, high_lon)) if query.open_now else None
    )
    nearest: dict[str, float] = {}
    for service_id, lat, lon, location_id in rows:
        if open_pairs is not None:
            sid = _key(service_id)
            if (sid, _key(location_id)) not in open_pairs and (sid, None) not in open_pairs:
                continue
        miles = _distance(place.latitude, place.longitude, lat, lon)
        if miles <= query.radius and miles < nearest.get(service_id, math.inf):
            nearest[service_id] = miles
    return nearest


def _distance_unknown(query: Query, now: datetime, nearest: dict[str, float]) -> list:
    """Matching services with no place that has coordinates (or, with "open now", open only
    at such a place), not already near."""
    s = DirectorySearch
    unknown_stmt, _rank = _filtered(query, now, type_coerce(s.service_id, String), ranked=False)
    unknown_order = [*_featured_first(query), s.name, s.service_id]
    no_place: ColumnElement[bool] = s.located.is_(False)
    if query.open_now:  # also: open only at a place without coordinates (distance unknown)
        clause = _open_now_clause(now)
        open_unplaced = (
            select(DirectoryHours.service_id)
            .join(HsdsLocation, HsdsLocation.id == DirectoryHours.location_id)
            .where(HsdsLocation.latitude.is_(None), clause)
        )
        no_place = or_(no_place, s.service_id.in_(open_unplaced))
    return [
        raw
        for raw in dbs().scalars(unknown_stmt.where(no_place).order_by(*unknown_order))
        if raw not in nearest
    ]
