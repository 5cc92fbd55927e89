"""The resource directory's search (issue 9): "open now, near me, in my language".

- `reindex(directory)` rebuilds the search rows of a directory's services (after an import or
  an edit): folded text for full-text search, a one-line summary, languages, whether any
  location has coordinates, and the weekly opening spans (`portal.domain.directory.opening_hours`).
- `search(query, now)` answers one page: keywords and category shortcuts through one
  full-text interface (SQLite FTS5 or PostgreSQL tsvector, same folding and prefix matching on
  both), language, open now (SQL over the spans in each directory's time zone), and distance
  from a place (a bounding box in SQL, then haversine) with results sorted by distance.
- Searches are not written to the audit log or any log with the client's identity.
"""

from __future__ import annotations

import math
import re
import threading
import time
import unicodedata
import uuid
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    String,
    and_,
    case,
    delete,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
)

from portal.domain.core.feature import Feature
from portal.domain.core.session import after_commit, dbs
from portal.domain.core.validation import parse_uuid
from portal.domain.directory import opening_hours
from portal.domain.models import (
    Directory,
    DirectoryHours,
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
    HsdsTaxonomyTerm,
)

PER_PAGE = 20
MAX_TOKENS = 8
RADII = (1, 5, 10, 25, 50)  # miles
EARTH_MILES = 3958.8


@dataclass(frozen=True)
class Category:
    label: object
    icon: str  # a name in templates/common/icons.html
    words: tuple[str, ...]


# Each category's words are stems, in English and Spanish, matched at the start of a word: a
# service's text sorts it into categories at index time, and a client's typed words name
# categories at search time (`named_categories`), so "comida" finds the food pantries.
CATEGORIES = {
    "shelter": Category(
        _l("Shelter"),
        "bed",
        ("shelter", "housing", "bed", "homeless", "refugio", "albergue", "vivienda"),
    ),
    "food": Category(
        _l("Food"), "bowl", ("food", "meal", "pantry", "grocer", "lunch", "comida", "aliment")
    ),
    "showers": Category(
        _l("Showers and laundry"), "drop", ("shower", "laundry", "hygiene", "restroom", "ducha")
    ),
    "health": Category(
        _l("Health care"),
        "health",
        ("clinic", "health", "medic", "doctor", "dental", "mental", "counsel", "salud"),
    ),
    "legal": Category(
        _l("Legal help"), "scales", ("legal", "lawyer", "attorney", "court", "eviction", "abogad")
    ),
    "jobs": Category(
        _l("Jobs"),
        "briefcase",
        ("job", "employment", "career", "training", "resume", "empleo", "trabajo"),
    ),
    "benefits": Category(
        _l("Benefits"),
        "form",
        ("benefit", "snap", "medicaid", "ssi", "disability", "insurance", "beneficio"),
    ),
}

# ISO 639-2 codes some feeds use, to the two-letter codes the portal speaks.
_LANGUAGE_CODES = {
    "eng": "en",
    "spa": "es",
    "fra": "fr",
    "fre": "fr",
    "vie": "vi",
    "kor": "ko",
    "zho": "zh",
    "chi": "zh",
    "ara": "ar",
    "rus": "ru",
    "pol": "pl",
    "urd": "ur",
    "tgl": "tl",
    "hat": "ht",
    "por": "pt",
}
_LANGUAGE_NAMES = {
    "english": "en",
    "spanish": "es",
    "español": "es",
    "french": "fr",
    "vietnamese": "vi",
    "korean": "ko",
    "chinese": "zh",
    "mandarin": "zh",
    "cantonese": "zh",
    "arabic": "ar",
    "russian": "ru",
    "polish": "pl",
    "urdu": "ur",
    "tagalog": "tl",
    "haitian creole": "ht",
    "portuguese": "pt",
}


def fold(value: str | None) -> str:
    """Lower case, accents removed, anything but letters and digits a space: the same on the
    stored text and the query, on both databases."""
    value = unicodedata.normalize("NFKD", value or "")
    value = "".join(c for c in value if not unicodedata.combining(c)).casefold()
    return " ".join(re.findall(r"\w+", value))


def language_code(code: str | None, name: str | None = None) -> str | None:
    code = (code or "").strip().lower()
    if re.fullmatch(r"[a-z]{2}", code):
        return code
    if code in _LANGUAGE_CODES:
        return _LANGUAGE_CODES[code]
    if re.fullmatch(r"[a-z]{2}[-_][a-z]{2,4}", code):
        return code[:2]
    return _LANGUAGE_NAMES.get((name or "").strip().lower())


def _summary(service: HsdsService) -> str | None:
    text_ = " ".join((service.description or service.alternate_name or "").split())
    if not text_:
        return None
    sentence = re.split(r"(?<=[.!?])\s", text_, maxsplit=1)[0]
    return sentence if len(sentence) <= 140 else sentence[:139].rsplit(" ", 1)[0] + "…"


# --- the index --------------------------------------------------------------------------------


def reindex(directory: Directory) -> int:
    """Rebuild the search rows and opening spans of the directory's services. Returns how many
    services are searchable (active ones)."""
    after_commit(forget_searches)  # every change of directory data comes through here
    dbs().flush()
    _fts_delete(directory)
    dbs().execute(delete(DirectoryHours).where(DirectoryHours.directory_id == directory.id))
    dbs().execute(delete(DirectorySearch).where(DirectorySearch.directory_id == directory.id))
    services = list(
        dbs().scalars(
            select(HsdsService).where(
                HsdsService.directory_id == directory.id, HsdsService.status == "active"
            )
        )
    )
    if not services:
        return 0
    did = directory.id
    organizations = {
        o.id: o
        for o in dbs().scalars(select(HsdsOrganization).where(HsdsOrganization.directory_id == did))
    }
    links = defaultdict(list)  # service -> [SAL]
    for link in dbs().scalars(
        select(HsdsServiceAtLocation).where(HsdsServiceAtLocation.directory_id == did)
    ):
        links[link.service_id].append(link)
    locations = {
        loc.id: loc
        for loc in dbs().scalars(select(HsdsLocation).where(HsdsLocation.directory_id == did))
    }
    cities = defaultdict(list)
    for address in dbs().scalars(
        select(HsdsAddress).where(
            HsdsAddress.directory_id == did, HsdsAddress.location_id.is_not(None)
        )
    ):
        cities[address.location_id] += [address.city or "", address.postal_code or ""]
    terms = defaultdict(list)
    for link_id, name in dbs().execute(
        select(HsdsAttribute.link_id, HsdsTaxonomyTerm.name)
        .join(HsdsTaxonomyTerm, HsdsTaxonomyTerm.id == HsdsAttribute.taxonomy_term_id)
        .where(HsdsAttribute.directory_id == did, HsdsAttribute.link_entity == "service")
    ):
        terms[link_id].append(name)
    languages = defaultdict(set)
    language_words = defaultdict(set)
    for language in dbs().scalars(select(HsdsLanguage).where(HsdsLanguage.directory_id == did)):
        code = language_code(language.code, language.name)
        for owner in (language.service_id, language.location_id):
            if owner is not None and code:
                languages[owner].add(code)
            if owner is not None and language.name:
                language_words[owner].add(language.name)
    schedules = defaultdict(list)  # owner id -> schedules
    for schedule in dbs().scalars(select(HsdsSchedule).where(HsdsSchedule.directory_id == did)):
        owner = schedule.service_at_location_id or schedule.service_id or schedule.location_id
        if schedule.service_at_location_id:
            schedules[("sal", owner)].append(schedule)
        elif schedule.service_id:
            schedules[("service", owner)].append(schedule)
        else:
            schedules[("location", owner)].append(schedule)

    rows, hours, fts = [], [], []
    for service in services:
        organization = organizations.get(service.organization_id)
        words = [service.name, service.alternate_name, service.description]
        words += [service.eligibility_description, service.interpretation_services]
        if organization is not None and not organization.placeholder:
            words.append(organization.name)
        words += terms.get(service.id, [])
        spoken = set(languages.get(service.id, set()))
        located = False
        for link in links.get(service.id, []):
            location = locations.get(link.location_id)
            if location is None:
                continue
            words += [location.name, *cities.get(location.id, [])]
            spoken |= languages.get(location.id, set())
            words += list(language_words.get(location.id, []))
            located = located or location.latitude is not None
            effective = (
                schedules.get(("sal", link.id))
                or schedules.get(("service", service.id))
                or schedules.get(("location", location.id))
                or []
            )
            hours += _spans(service.id, location.id, did, effective)
        if not links.get(service.id):
            hours += _spans(service.id, None, did, schedules.get(("service", service.id), []))
        words += list(language_words.get(service.id, []))
        document = fold(" ".join(w for w in words if w))
        rows.append(
            {
                "service_id": service.id,
                "directory_id": did,
                "name": service.name[:500],
                "summary": _summary(service),
                "document": document,
                "languages": " " + " ".join(sorted(spoken)) + " " if spoken else "",
                "featured": service.featured,
                "located": located,
                "categories": categories_of(document),
            }
        )
        fts.append({"service_id": str(service.id), "document": document})
    dbs().execute(DirectorySearch.__table__.insert(), rows)
    if hours:
        dbs().execute(DirectoryHours.__table__.insert(), hours)
    _fts_insert(directory, fts)
    return len(rows)


def _spans(service_id, location_id, directory_id, schedules) -> list[dict]:
    out = []
    for schedule in schedules:
        for span in opening_hours.spans_for(schedule):
            out.append(
                {
                    "service_id": service_id,
                    "location_id": location_id,
                    "directory_id": directory_id,
                    "weekday": span.weekday,
                    "opens": span.opens,
                    "closes": span.closes,
                    "nth": span.nth,
                    "spill": span.spill,
                    "valid_from": span.valid_from,
                    "valid_to": span.valid_to,
                }
            )
    return out


def _postgres() -> bool:
    return dbs().get_bind().dialect.name == "postgresql"


def _fts_delete(directory: Directory) -> None:
    """SQLite: the directory's rows leave the FTS5 table (matched by the 32-hex-digit form in
    which SQLite stores the UUIDs); PostgreSQL's tsvector goes with its directory_search row."""
    if _postgres():
        return
    dbs().execute(
        text(
            "DELETE FROM directory_fts WHERE service_id IN "
            "(SELECT service_id FROM directory_search WHERE directory_id = :d)"
        ).bindparams(d=directory.id)
    )


def _fts_insert(directory: Directory, rows: list[dict]) -> None:
    if _postgres():
        dbs().execute(
            text(
                "UPDATE directory_search SET document_tsv = to_tsvector('simple', document) "
                "WHERE directory_id = :d"
            ).bindparams(d=directory.id)
        )
        return
    dbs().execute(
        text("INSERT INTO directory_fts (service_id, document) VALUES (:service_id, :document)"),
        [{"service_id": uuid.UUID(r["service_id"]).hex, "document": r["document"]} for r in rows],
    )


# --- searching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    latitude: float
    longitude: float
    label: str  # what the client gave ("60601", "your location"); never stored


@dataclass
class Query:
    text: str = ""
    category: str = ""
    open_now: bool = False
    language: str = ""
    place: Place | None = None
    radius: int = 10  # miles, when a place is known
    page: int = 1
    home_directory: int | None = None  # the reader's agency's: its featured services first


@dataclass
class Result:
    service_id: uuid.UUID
    name: str
    summary: str | None
    languages: list[str]
    distance: float | None = None  # miles; None: unknown
    open_now: bool | None = None  # None: hours unknown
    always: bool = False  # open 24 hours, every day
    closes: int | None = None  # minutes after local midnight
    opens_at: datetime | None = None
    phone: str | None = None
    phone_link: str | None = None
    directions: str | None = None
    location_name: str | None = None
    address: str | None = None
    featured: bool = False


@dataclass
class Page:
    results: list[Result] = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 1


def tokens(value: str) -> list[str]:
    return [t[:40] for t in fold(value).split()][:MAX_TOKENS]


def _match_sqlite(words: list[str]) -> str:
    """Every word, as a prefix (FTS5 syntax; each word is a quoted string, never an operator)."""
    parts = [f'"{w}"*' for w in words]
    return " AND ".join(parts)


def _match_postgres(words: list[str]) -> str:
    """Every word, as a prefix (tsquery syntax; words are letters and digits only)."""
    parts = [f"{w}:*" for w in words]
    return " & ".join(parts)


def named_categories(words: list[str]) -> list[str]:
    """The categories a search's (folded) words name, in any language the category lists hold
    ("albergue", "comida"): the index-time rule (`categories_of`) applied to the words, so a
    word names a category when it starts with one of its stems ("men" is not mental health)."""
    return categories_of(" ".join(words)).split()


def _category_clause(words: list[str]):
    """The services of every category the words name (or None): found beside the full-text
    matches, so a client's own language finds services described in another."""
    named = named_categories(words)
    if not named:
        return None
    return or_(*[DirectorySearch.categories.like(f"% {code} %") for code in named])


def with_text_search(stmt, text_query: str, *, ranked: bool = True, categories: bool = True):
    """(`stmt` limited to the services the keywords find, rank order or None); `stmt`
    unchanged (and None) when the text holds no words. Full text on both databases, as a
    prefix per word; with `categories`, the services of every category the words name too
    (`_category_clause`), ranked after the full-text matches. Unranked (results sorted by
    distance): a plain membership test, no scores computed."""
    words = tokens(text_query)
    if not words:
        return stmt, None
    by_category = _category_clause(words) if categories else None
    if _postgres():
        tsquery = func.to_tsquery("simple", _match_postgres(words))
        tsv = literal_column("directory_search.document_tsv")
        matched = tsv.op("@@")(tsquery)
        if by_category is not None:
            matched = or_(matched, by_category)
        return stmt.where(matched), func.ts_rank(tsv, tsquery).desc() if ranked else None
    if not ranked:
        # A plain membership test. The unary + keeps SQLite from driving the query through
        # directory_search's key (it would visit every match); another index (the bounding
        # box) leads, measured 23 -> 13 ms for a common word at 10,000 services.
        member = text(
            "+directory_search.service_id IN "
            "(SELECT service_id FROM directory_fts WHERE directory_fts MATCH :match)"
        ).bindparams(match=_match_sqlite(words))
        return stmt.where(member if by_category is None else or_(member, by_category)), None
    fts = (
        select(
            literal_column("service_id").label("hex_id"),
            literal_column("bm25(directory_fts)").label("rank"),
        )
        .select_from(text("directory_fts"))
        .where(text("directory_fts MATCH :match").bindparams(match=_match_sqlite(words)))
        .subquery("fts")
    )
    found = fts.c.hex_id == DirectorySearch.service_id
    if by_category is None:
        return stmt.join(fts, found), fts.c.rank.asc()
    # Full-text matches first (bm25 is negative), then the categories' services.
    matched = stmt.outerjoin(fts, found).where(or_(fts.c.hex_id.is_not(None), by_category))
    return matched, func.coalesce(fts.c.rank, 0).asc()


def _category_words(code: str) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(fold(w) for w in CATEGORIES[code].words) + ")")


def categories_of(document: str) -> str:
    """The category shortcuts a folded document belongs to (a word starting with one of the
    category's words), as " food legal " for a LIKE filter."""
    found = [code for code in CATEGORIES if _category_words(code).search(document)]
    return " " + " ".join(found) + " " if found else ""


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


def _distance(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_MILES * math.asin(min(1.0, math.sqrt(a)))


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
    s = DirectorySearch
    if query.place is None:
        stmt, rank = _filtered(query, now, s.service_id, func.count().over().label("total"))
        if stmt is None:
            return Page()
        order = [*_featured_first(query), *([rank] if rank is not None else []), s.name]
        order.append(s.service_id)
        page = max(1, query.page)
        rows = (
            dbs().execute(stmt.order_by(*order).limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
        )
        if not rows and page > 1:  # past the end: the last page
            total = dbs().scalar(
                select(func.count()).select_from(_filtered(query, now, s.service_id)[0].subquery())
            )
            page = max(1, math.ceil(total / PER_PAGE))
            rows = (
                dbs()
                .execute(stmt.order_by(*order).limit(PER_PAGE).offset((page - 1) * PER_PAGE))
                .all()
            )
        total = rows[0].total if rows else 0
        pages = max(1, math.ceil(total / PER_PAGE))
        ids = [row.service_id for row in rows]
        return Page(_details(ids, query, now, {}), total, min(page, pages), pages)

    # A place: the nearest location of each matching service within the radius, nearest
    # first; then the services whose locations have no coordinates ("distance unknown").
    low_lat, high_lat, low_lon, high_lon = _box(query.place, query.radius)
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
        return Page()
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
        miles = _distance(query.place.latitude, query.place.longitude, lat, lon)
        if miles <= query.radius and miles < nearest.get(service_id, math.inf):
            nearest[service_id] = miles
    near = sorted(nearest, key=lambda sid: (nearest[sid], sid))
    unknown_stmt, _rank = _filtered(query, now, type_coerce(s.service_id, String), ranked=False)
    unknown_order = [*_featured_first(query), s.name, s.service_id]
    no_place = s.located.is_(False)
    if query.open_now:  # also: open only at a place without coordinates (distance unknown)
        clause = _open_now_clause(now)
        open_unplaced = (
            select(DirectoryHours.service_id)
            .join(HsdsLocation, HsdsLocation.id == DirectoryHours.location_id)
            .where(HsdsLocation.latitude.is_(None), clause)
        )
        no_place = or_(no_place, s.service_id.in_(open_unplaced))
    unknown = [
        raw
        for raw in dbs().scalars(unknown_stmt.where(no_place).order_by(*unknown_order))
        if raw not in nearest
    ]
    ordered = near + unknown
    total = len(ordered)
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(1, query.page), pages)
    shown = ordered[(page - 1) * PER_PAGE : page * PER_PAGE]
    ids = [uuid.UUID(str(raw)) for raw in shown]
    distances = {uuid.UUID(str(raw)): nearest[raw] for raw in shown if raw in nearest}
    return Page(_details(ids, query, now, distances), total, page, pages)


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


def _details(ids: list[uuid.UUID], query: Query, now: datetime, nearest: dict) -> list[Result]:
    """The page's results: columns only (no ORM objects), a fixed number of statements."""
    if not ids:
        return []
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
    phones = defaultdict(list)
    for phone in dbs().execute(
        select(_raw(HsdsPhone.service_id), _raw(HsdsPhone.location_id), HsdsPhone.number).where(
            or_(HsdsPhone.service_id.in_(ids), HsdsPhone.location_id.in_(location_ids))
        )
    ):
        phones[_key(phone.service_id or phone.location_id)].append(phone)
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
    zones = dict(dbs().execute(select(Directory.id, Directory.timezone)).all())
    results = []
    for service_id in ids:
        key = _key(service_id)
        row = rows.get(key)
        if row is None:
            continue
        zone = zones.get(row.directory_id) or "UTC"
        local = opening_hours.local_now(now, zone)

        def preference(location, key=key, local=local):
            """Nearest first when a place is known; then open now, then known hours."""
            here = spans.get((key, _key(location.id))) or []
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

        places = sorted(links.get(key, []), key=preference)
        location = places[0] if places else None
        where = _key(location.id) if location is not None else None
        address = addresses.get(where) if where else None
        phone = next(iter(phones.get(key, []) + (phones.get(where, []) if where else [])), None)
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
        here = spans.get((key, where)) or []
        if here:
            result.open_now = opening_hours.is_open(here, local)
            result.always = opening_hours.always_open(here)
            if result.open_now:
                result.closes = opening_hours.closing_time(here, local)
            else:
                result.opens_at = opening_hours.next_opening(here, now, zone)
        results.append(result)
    return results


# --- places ---------------------------------------------------------------------------------


class PlaceUnknown(Exception):
    """A ZIP code or a location the search cannot use."""


def place_from_zip(value: str) -> Place:
    """A US ZIP code's centroid, from the offline `zipcodes` data."""
    import zipcodes

    code = (value or "").strip()[:10]
    if not re.fullmatch(r"\d{5}(-\d{4})?", code):
        raise PlaceUnknown("format")
    try:
        found = zipcodes.matching(code[:5])
    except (ValueError, TypeError):
        found = []
    if not found or not found[0].get("lat"):
        raise PlaceUnknown("unknown")
    return Place(float(found[0]["lat"]), float(found[0]["long"]), code[:5])


def place_from_device(latitude: str, longitude: str) -> Place:
    """The phone's location, shared for this search only (rounded to about 1 km)."""
    try:
        lat, lon = round(float(latitude), 2), round(float(longitude), 2)
    except (TypeError, ValueError):
        raise PlaceUnknown("format") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or lat != lat or lon != lon:
        raise PlaceUnknown("format")
    return Place(lat, lon, "device")


# --- one service --------------------------------------------------------------------------------


@dataclass
class LocationDetails:
    location: HsdsLocation
    address: HsdsAddress | None
    phones: list[HsdsPhone]
    hours: list[tuple[int, str, list[tuple[int, int, int]]]]  # (weekday, nth…) see hours_rows
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
    general_hours: list = field(default_factory=list)


def service_details(service_id, now: datetime) -> ServiceDetails | None:
    """An active service with its locations, hours, phones and languages; None if unknown."""

    sid = parse_uuid(service_id)
    service = dbs().get(HsdsService, sid) if sid else None
    if service is None or service.status != "active":
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


def weekly(spans: list[opening_hours.Span]) -> list[tuple[int, int, list[tuple[int, int]]]]:
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


# What this feature adds to the app (installed by portal.domain.features).
FEATURE = Feature("directory")
