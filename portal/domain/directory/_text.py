"""What a typed keyword matches: the categories and their words, folding, the full-text
clause (SQLite FTS5 or PostgreSQL tsvector), and the search's value types."""

from __future__ import annotations

import math
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    func,
    literal_column,
    or_,
    select,
    text,
)

from portal.domain.core.session import dbs
from portal.domain.models import (
    DirectorySearch,
    HsdsService,
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


def _postgres() -> bool:
    return dbs().get_bind().dialect.name == "postgresql"


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
        tsv: ColumnElement[str] = literal_column("directory_search.document_tsv")
        matched: ColumnElement[bool] = tsv.op("@@")(tsquery)
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


def _distance(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_MILES * math.asin(min(1.0, math.sqrt(a)))
