"""Importing Open Referral HSDS into the resource directory (issue 9).

Sources: an HSDS 3 CSV datapackage (a folder or a zip of CSV files), the HSDS 3 JSON shapes
(a full or list service, organization, location, service_at_location, taxonomy term, or the
`tabular.json` of all tables), and legacy HSDS 1.1 feeds (`regular_schedules`,
`postal_addresses`, `physical_addresses`, integer ids).

Rules:
- Upserts by id, so importing the same data again changes nothing (every row "unchanged").
  Ids that are not UUIDs (HSDS 1.1 integers) become uuid5 ids, stable for the directory; rows
  without an id get one from their content.
- Every reference is checked against the rows of this import and the directory's rows. A row
  whose required reference (or required value) is missing is skipped, and the report says why;
  an optional reference that points nowhere is cleared, with a warning.
- Tables and columns the portal does not keep are ignored with a warning.
- A legacy feed that names organizations it does not include gets one stand-in organization
  per missing id (so every service is kept); a legacy feed without `service_at_location` offers
  each service it brings at the locations of its organization that it brings (their schedules
  are the service's hours). Only what the import brings is linked: a service it does not bring,
  or one whose places were stated (by a `service_at_location` row or an administrator), keeps
  exactly its places, and a service is never linked twice to the same location.
- The whole import is one transaction: the caller commits.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import uuid
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path

from sqlalchemy import String, insert, select

from portal.domain import directory as search
from portal.domain.core import audit, clock
from portal.domain.core.session import dbs, get_or_create
from portal.domain.models import (
    Directory,
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

LEGACY_NAMESPACE = uuid.UUID("0b6f1c9e-3c55-5c1e-9a53-5d0f2c7e4a10")
MAX_MEMBER_BYTES = 200 * 1024 * 1024  # one CSV inside a zip, uncompressed
MAX_ROWS = 500_000
EXAMPLES = 20  # skipped rows listed per table in the report
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WEEKDAYS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
    "1": "MO",
    "2": "TU",
    "3": "WE",
    "4": "TH",
    "5": "FR",
    "6": "SA",
    "7": "SU",
}
_BYDAY = re.compile(
    r"^(?:[+-]?[1-5]?(?:MO|TU|WE|TH|FR|SA|SU))(?:,[+-]?[1-5]?(?:MO|TU|WE|TH|FR|SA|SU))*$"
)


@dataclass(frozen=True)
class Spec:
    model: type
    columns: dict[str, str]  # name -> kind: text, long, uuid, float, int, date, time, email, uri
    required: tuple[str, ...] = ()
    refs: dict[str, str] = field(default_factory=dict)  # column -> table it must name
    required_refs: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()  # at least one of these references must hold


SPECS: dict[str, Spec] = {
    "organization": Spec(
        HsdsOrganization,
        {
            "name": "text",
            "alternate_name": "text",
            "description": "long",
            "email": "email",
            "website": "uri",
            "year_incorporated": "int",
            "legal_status": "text",
            "uri": "uri",
            "parent_organization_id": "uuid",
        },
        required=("name",),
        refs={"parent_organization_id": "organization"},
    ),
    "taxonomy": Spec(
        HsdsTaxonomy,
        {"name": "text", "description": "long", "uri": "uri", "version": "text"},
        required=("name",),
    ),
    "taxonomy_term": Spec(
        HsdsTaxonomyTerm,
        {
            "code": "text",
            "name": "text",
            "description": "long",
            "parent_id": "uuid",
            "taxonomy": "text",
            "language": "text",
            "taxonomy_id": "uuid",
            "term_uri": "uri",
        },
        required=("name",),
        refs={"taxonomy_id": "taxonomy", "parent_id": "taxonomy_term"},
    ),
    "location": Spec(
        HsdsLocation,
        {
            "location_type": "text",
            "url": "uri",
            "organization_id": "uuid",
            "name": "text",
            "alternate_name": "text",
            "description": "long",
            "transportation": "long",
            "latitude": "float",
            "longitude": "float",
            "external_identifier": "text",
            "external_identifier_type": "text",
        },
        refs={"organization_id": "organization"},
    ),
    "service": Spec(
        HsdsService,
        {
            "organization_id": "uuid",
            "name": "text",
            "alternate_name": "text",
            "description": "long",
            "url": "uri",
            "email": "email",
            "status": "text",
            "interpretation_services": "long",
            "application_process": "long",
            "fees_description": "long",
            "accreditations": "long",
            "eligibility_description": "long",
            "minimum_age": "float",
            "maximum_age": "float",
            "assured_date": "date",
            "assurer_email": "email",
            "alert": "long",
        },
        required=("name",),
        refs={"organization_id": "organization"},
    ),
    "service_at_location": Spec(
        HsdsServiceAtLocation,
        {"service_id": "uuid", "location_id": "uuid", "description": "long"},
        refs={"service_id": "service", "location_id": "location"},
        required_refs=("service_id", "location_id"),
    ),
    "address": Spec(
        HsdsAddress,
        {
            "location_id": "uuid",
            "organization_id": "uuid",
            "attention": "text",
            "address_1": "text",
            "address_2": "text",
            "city": "text",
            "region": "text",
            "state_province": "text",
            "postal_code": "text",
            "country": "text",
            "address_type": "text",
        },
        required=("address_1",),
        refs={"location_id": "location", "organization_id": "organization"},
        one_of=("location_id", "organization_id"),
    ),
    "phone": Spec(
        HsdsPhone,
        {
            "location_id": "uuid",
            "service_id": "uuid",
            "organization_id": "uuid",
            "service_at_location_id": "uuid",
            "number": "text",
            "extension": "text",
            "type": "text",
            "description": "long",
        },
        required=("number",),
        refs={
            "location_id": "location",
            "service_id": "service",
            "organization_id": "organization",
            "service_at_location_id": "service_at_location",
        },
        one_of=("location_id", "service_id", "organization_id", "service_at_location_id"),
    ),
    "schedule": Spec(
        HsdsSchedule,
        {
            "service_id": "uuid",
            "location_id": "uuid",
            "service_at_location_id": "uuid",
            "valid_from": "date",
            "valid_to": "date",
            "dtstart": "date",
            "timezone": "float",
            "until": "date",
            "count": "int",
            "wkst": "text",
            "freq": "text",
            "interval": "int",
            "byday": "text",
            "byweekno": "text",
            "bymonthday": "text",
            "byyearday": "text",
            "description": "long",
            "opens_at": "time",
            "closes_at": "time",
            "schedule_link": "uri",
            "attending_type": "long",
            "notes": "long",
        },
        refs={
            "service_id": "service",
            "location_id": "location",
            "service_at_location_id": "service_at_location",
        },
        one_of=("service_id", "location_id", "service_at_location_id"),
    ),
    "language": Spec(
        HsdsLanguage,
        {
            "service_id": "uuid",
            "location_id": "uuid",
            "phone_id": "uuid",
            "name": "text",
            "code": "text",
            "note": "long",
        },
        refs={"service_id": "service", "location_id": "location", "phone_id": "phone"},
        one_of=("service_id", "location_id", "phone_id"),
    ),
    "attribute": Spec(
        HsdsAttribute,
        {
            "link_id": "uuid",
            "link_type": "text",
            "link_entity": "text",
            "taxonomy_term_id": "uuid",
            "value": "long",
        },
        required=("link_id", "link_entity"),
        refs={"taxonomy_term_id": "taxonomy_term"},
        required_refs=("taxonomy_term_id",),
    ),
}
ORDER = list(SPECS)  # parents before children

TABLE_NAMES = {
    "organizations": "organization",
    "services": "service",
    "locations": "location",
    "service_at_locations": "service_at_location",
    "services_at_location": "service_at_location",
    "services_at_locations": "service_at_location",
    "addresses": "address",
    "phones": "phone",
    "schedules": "schedule",
    "languages": "language",
    "taxonomies": "taxonomy",
    "taxonomy_terms": "taxonomy_term",
    "attributes": "attribute",
    # HSDS 1.1
    "regular_schedules": "regular_schedule",
    "holiday_schedules": "holiday_schedule",
    "postal_addresses": "postal_address",
    "physical_addresses": "physical_address",
    "services_taxonomy": "service_taxonomy",
    "service_taxonomy": "service_taxonomy",
    "taxonomy": "taxonomy_term_legacy",
}
NOT_KEPT = {
    "accessibility",
    "accessibility_for_disabilities",
    "contacts",
    "cost_options",
    "funding",
    "fundings",
    "meta_table_descriptions",
    "metadata",
    "organization_identifiers",
    "programs",
    "required_documents",
    "service_areas",
    "service_capacity",
    "units",
    "url",
    "urls",
    "eligibility",
    "payments_accepted",
    "holiday_schedule",
}
ATTRIBUTE_ENTITIES = {"service", "organization", "location", "service_at_location"}
LEGACY_TABLES = {"regular_schedule", "postal_address", "physical_address", "service_taxonomy"}


# --- the report ------------------------------------------------------------------------------


@dataclass
class TableReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> rows
    examples: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason)

    @property
    def imported(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def skip(self, number: int, reason: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append((number, reason))


@dataclass
class ImportReport:
    tables: dict[str, TableReport] = field(default_factory=lambda: defaultdict(TableReport))
    warnings: Counter = field(default_factory=Counter)  # message -> times
    legacy: bool = False
    searchable: int = 0  # active services clients can find

    def warn(self, message: str) -> None:
        self.warnings[message] += 1

    def summary(self) -> dict:
        return {
            table: {
                "inserted": r.inserted,
                "updated": r.updated,
                "unchanged": r.unchanged,
                "skipped": sum(r.skipped.values()),
            }
            for table, r in self.tables.items()
        }

    def lines(self) -> list[str]:
        """The report in words, for the command line and the upload page."""
        out = []
        for table in ORDER:
            if table not in self.tables:
                continue
            r = self.tables[table]
            out.append(
                f"{table}: {r.imported} imported ({r.inserted} new, {r.updated} changed, "
                f"{r.unchanged} unchanged), {sum(r.skipped.values())} skipped"
            )
            for reason, count in r.skipped.most_common():
                out.append(f"  skipped {count}: {reason}")
        out.append(f"{self.searchable} services can be found by clients")
        for message, count in self.warnings.most_common():
            out.append(f"warning: {message}" + (f" ({count} times)" if count > 1 else ""))
        return out


class ImportRefused(Exception):
    """The source cannot be read at all (not a datapackage, not HSDS JSON, too big)."""


# --- reading sources -------------------------------------------------------------------------


def _table_name(file_name: str) -> str:
    stem = Path(file_name).name.rsplit(".", 1)[0].strip().lower()
    return TABLE_NAMES.get(stem, stem)


def _csv_rows(text_stream) -> Iterator[dict[str, str]]:
    reader = csv.DictReader(text_stream)
    for count, row in enumerate(reader):
        if count >= MAX_ROWS:
            raise ImportRefused(f"more than {MAX_ROWS} rows in one table")
        yield {(k or "").strip().lower(): v for k, v in row.items() if k is not None}


def read_folder(folder: Path) -> dict[str, list[dict]]:
    tables: dict[str, list[dict]] = {}
    for path in sorted(folder.glob("*.csv")):
        with open(path, encoding="utf-8-sig", newline="") as stream:
            tables[_table_name(path.name)] = list(_csv_rows(stream))
    if not tables:
        raise ImportRefused("no CSV files in the folder")
    return tables


MAX_MEMBERS = 64
MAX_TOTAL_BYTES = 400 * 1024 * 1024  # all the CSV files of a zip, uncompressed


def _known(name: str) -> bool:
    return name in SPECS or name in LEGACY_TABLES


def read_zip(data: bytes | Path) -> dict[str, list[dict]]:
    """A zipped datapackage: its CSV files (a folder inside the zip is fine). Only tables the
    portal keeps are read (the others are listed, for the report's warnings); members are
    read as streams with limits per file, in all and on the number of files, so a zip bomb
    stops at a limit."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
    except zipfile.BadZipFile:
        raise ImportRefused("the file is not a zip of CSV files") from None
    tables: dict[str, list[dict]] = {}
    total = 0
    with archive:
        members = [
            m
            for m in archive.infolist()
            if not m.is_dir()
            and m.filename.lower().endswith(".csv")
            and "__MACOSX" not in m.filename
        ]
        if len(members) > MAX_MEMBERS:
            raise ImportRefused(f"more than {MAX_MEMBERS} CSV files in the zip")
        for member in members:
            name = member.filename
            table = _table_name(name)
            if not _known(table):
                tables.setdefault(table, [])
                continue
            if member.file_size > MAX_MEMBER_BYTES:
                raise ImportRefused(f"{Path(name).name} is larger than the limit")
            with archive.open(member) as raw:
                data_bytes = raw.read(MAX_MEMBER_BYTES + 1)
            total += len(data_bytes)
            if len(data_bytes) > MAX_MEMBER_BYTES or total > MAX_TOTAL_BYTES:
                raise ImportRefused(f"{Path(name).name} is larger than the limit")
            tables[table] = read_csv_bytes(name, data_bytes)[table]
    if not tables:
        raise ImportRefused("no CSV files in the zip")
    return tables


def read_csv_bytes(name: str, data: bytes) -> dict[str, list[dict]]:
    """One CSV table from bytes (its table named by the file name)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(f"{Path(name).name} is not UTF-8 text") from None
    try:
        return {_table_name(name): list(_csv_rows(io.StringIO(text, newline="")))}
    except csv.Error:
        raise ImportRefused(f"{Path(name).name} is not a readable CSV file") from None


# How nested JSON objects become rows: key -> (table, column of the child naming the parent).
NESTED = {
    "organization": {
        "locations": ("location", "organization_id"),
        "services": ("service", "organization_id"),
        "phones": ("phone", "organization_id"),
        "attributes": ("attribute", "link_id"),
    },
    "service": {
        "phones": ("phone", "service_id"),
        "schedules": ("schedule", "service_id"),
        "languages": ("language", "service_id"),
        "service_at_locations": ("service_at_location", "service_id"),
        "attributes": ("attribute", "link_id"),
    },
    "location": {
        "addresses": ("address", "location_id"),
        "phones": ("phone", "location_id"),
        "schedules": ("schedule", "location_id"),
        "languages": ("language", "location_id"),
        "attributes": ("attribute", "link_id"),
    },
    "service_at_location": {
        "phones": ("phone", "service_at_location_id"),
        "schedules": ("schedule", "service_at_location_id"),
        "attributes": ("attribute", "link_id"),
    },
    "phone": {"languages": ("language", "phone_id")},
}
# Single nested objects: key -> (table, column of the parent naming the child).
NESTED_ONE = {
    "service": {"organization": ("organization", "organization_id")},
    "service_at_location": {
        "location": ("location", "location_id"),
        "service": ("service", "service_id"),
    },
    "taxonomy_term": {"taxonomy_detail": ("taxonomy", "taxonomy_id")},
    "attribute": {"taxonomy_term": ("taxonomy_term", "taxonomy_term_id")},
}


def _guess_kind(obj: dict) -> str | None:
    keys = set(obj)
    if "service_at_locations" in keys or ("status" in keys and "name" in keys):
        return "service"
    if "location_type" in keys or "addresses" in keys:
        return "location"
    if "location" in keys and ("service" in keys or "description" in keys) and "name" not in keys:
        return "service_at_location"
    if "taxonomy_detail" in keys or ("code" in keys and "term_uri" in keys):
        return "taxonomy_term"
    if {"website", "legal_status", "year_incorporated"} & keys or "locations" in keys:
        return "organization"
    if "version" in keys and "name" in keys and "description" in keys:
        return "taxonomy"
    return None


def _flatten(kind: str, obj: dict, tables: dict[str, list[dict]], depth: int = 0) -> None:
    if depth > 8:  # HSDS nests a few levels; deeper is a crafted file, not data
        raise ImportRefused("the JSON nests too deeply")
    row = {}
    for key, value in obj.items():
        if key in NESTED.get(kind, {}) and isinstance(value, list):
            table, column = NESTED[kind][key]
            for child in value:
                if isinstance(child, dict):
                    child = dict(child)
                    child.setdefault(column, obj.get("id"))
                    if table == "attribute":
                        child.setdefault("link_entity", kind)
                    _flatten(table, child, tables, depth + 1)
        elif key in NESTED_ONE.get(kind, {}) and isinstance(value, dict):
            table, column = NESTED_ONE[kind][key]
            _flatten(table, value, tables, depth + 1)
            row.setdefault(column, value.get("id"))
        elif isinstance(value, (dict, list)):
            row[key] = value  # kept so the importer can warn about it
        else:
            row[key] = "" if value is None else str(value) if not isinstance(value, str) else value
    tables.setdefault(kind, []).append(row)


def read_json(data: bytes | str, kind: str | None = None) -> dict[str, list[dict]]:
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ImportRefused("the file is not JSON (or nests too deeply)") from None
    tables: dict[str, list[dict]] = {}
    if isinstance(document, dict) and any(k.endswith(".csv") for k in document):
        for name, rows in document.items():  # tabular.json: every table
            if isinstance(rows, list):
                tables[_table_name(name)] = [
                    {k: "" if v is None else str(v) for k, v in r.items()}
                    for r in rows
                    if isinstance(r, dict)
                ]
        return tables
    items = document.get("contents") if isinstance(document, dict) else document
    if isinstance(document, dict) and "contents" not in document:
        items = [document]
    if not isinstance(items, list):
        raise ImportRefused("the JSON is not an HSDS object or list")
    for item in items:
        if not isinstance(item, dict):
            continue
        item_kind = kind or _guess_kind(item)
        if item_kind not in SPECS:
            raise ImportRefused("the JSON is not an HSDS service, organization or location")
        _flatten(item_kind, item, tables)
    return tables


def read_source(path: Path, kind: str | None = None) -> dict[str, list[dict]]:
    """A folder of CSV files, a zip of them, a JSON file, or one CSV file."""
    if path.is_dir():
        return read_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return read_zip(path)
    if suffix == ".json":
        return read_json(path.read_bytes(), kind)
    if suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as stream:
            return {_table_name(path.name): list(_csv_rows(stream))}
    raise ImportRefused("use a folder or zip of HSDS CSV files, or an HSDS JSON file")


# --- values ------------------------------------------------------------------------------------


def _text(value) -> str | None:
    if value is None:
        return None
    value = unicodedata.normalize("NFC", str(value))
    value = _CONTROL.sub("", value).strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].strip()  # a CSV cell quoted twice, e.g. """+44 1234 234567"""
    return value or None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _uuid(value: str, *, table: str, directory: Directory) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        return uuid.uuid5(LEGACY_NAMESPACE, f"{directory.public_id}/{table}/{value}")


def _time(value: str) -> time | None:
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap]\.?m\.?)?", value.lower())
    if not match:
        return None
    hour, minute, second = int(match[1]), int(match[2] or 0), int(match[3] or 0)
    if match[4]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match[4].startswith("p") else 0)
    if hour == 24 and minute == 0 and second == 0:
        return time(23, 59, 59)  # "until midnight"
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _value(kind: str, raw, *, column: str, table: str, directory: Directory):
    """(value, problem): the typed value, or None and why it could not be read."""
    text = _text(raw)
    if text is None:
        return None, None
    if kind in ("text", "long"):
        return text, None
    if kind == "uuid":
        return _uuid(text, table=_ref_table(table, column), directory=directory), None
    if kind in ("float", "int"):
        try:
            number = float(text)
        except ValueError:
            return None, "not a number"
        if number != number or number in (float("inf"), float("-inf")):
            return None, "not a number"
        if abs(number) > 2_147_483_647:
            return None, "out of range"
        if kind == "int":
            return (int(number), None) if number.is_integer() else (None, "not a whole number")
        return number, None
    if kind == "date":
        try:
            return date.fromisoformat(text[:10]), None
        except ValueError:
            return None, "not a date (YYYY-MM-DD)"
    if kind == "time":
        parsed = _time(text)
        return (parsed, None) if parsed else (None, "not a time (HH:MM)")
    if kind == "email":
        if "@" in text and " " not in text and len(text) <= 254:
            return text, None
        return None, "not an email address"
    if kind == "uri":
        if re.match(r"(?i)^https?://[^\s]+$", text):
            return text, None
        if re.match(r"(?i)^(www\.)?[a-z0-9-]+(\.[a-z0-9-]+)+(/[^\s]*)?$", text):
            return "https://" + text, None
        return None, "not a web address"
    raise ValueError(kind)


def _ref_table(table: str, column: str) -> str:
    if column == "id":
        return table
    spec = SPECS.get(table)
    if spec and column in spec.refs:
        return spec.refs[column]
    return column.removesuffix("_id")


def _max_lengths(model) -> dict[str, int]:
    return {
        c.name: c.type.length
        for c in model.__table__.columns
        if isinstance(c.type, String) and c.type.length
    }


# --- legacy HSDS 1.1 ----------------------------------------------------------------------------


def _from_legacy(tables: dict[str, list[dict]], report: ImportReport) -> None:
    """HSDS 1.1 tables in HSDS 3 shape."""
    schedules = tables.setdefault("schedule", [])
    for row in tables.pop("regular_schedule", []):
        day = _WEEKDAYS.get((row.get("weekday") or "").strip().lower())
        if day is None:
            report.warn("a regular schedule without a readable weekday was left out")
            continue
        schedules.append(
            {
                "id": row.get("id", ""),
                "service_id": row.get("service_id", ""),
                "location_id": row.get("location_id", ""),
                "service_at_location_id": row.get("service_at_location_id", ""),
                "freq": "WEEKLY",
                "byday": day,
                "opens_at": row.get("opens_at", ""),
                "closes_at": row.get("closes_at", ""),
            }
        )
    addresses = tables.setdefault("address", [])
    for legacy, kind in (("postal_address", "postal"), ("physical_address", "physical")):
        for row in tables.pop(legacy, []):
            # The two HSDS 1.1 tables number their rows separately: postal 1 is not physical 1.
            # Physical ids stay as they were (an earlier import's rows update in place).
            row_id = (row.get("id") or "").strip()
            if legacy == "postal_address" and row_id and not _is_uuid(row_id):
                row = {**row, "id": f"{legacy}-{row_id}"}
            addresses.append({**row, "address_type": kind})
    if tables.pop("service_taxonomy", None) is not None:
        report.warn("table services_taxonomy (HSDS 1.1) is not kept")
    for row in tables.get("service", []):
        if not row.get("fees_description") and row.get("fees"):
            row["fees_description"] = row["fees"]


# --- the import ---------------------------------------------------------------------------------


def directory_for(agency, *, timezone: str | None = None) -> Directory:
    """The agency's directory, made on first use (its time zone: the agency's; one per agency,
    so two first uses at once make one)."""

    def make() -> Directory:
        directory = Directory(
            agency_id=agency.id, name=agency.name, timezone=timezone or agency.timezone
        )
        dbs().add(directory)
        dbs().flush()
        return directory

    return get_or_create(
        lambda: dbs().scalar(select(Directory).where(Directory.agency_id == agency.id)), make
    )


def import_tables(
    directory: Directory, tables: dict[str, list[dict]], *, actor=None
) -> ImportReport:
    """Upsert the tables into the directory; returns the report. One transaction: the caller
    commits (or rolls back to undo the whole import)."""
    report = ImportReport()
    tables = {name: rows for name, rows in tables.items()}
    report.legacy = bool(LEGACY_TABLES & set(tables))
    for name in sorted(set(tables)):
        if name in NOT_KEPT:
            report.warn(f"table {name} is not kept by the portal")
            tables.pop(name)
        elif name not in SPECS and name not in LEGACY_TABLES and name != "holiday_schedule":
            report.warn(f"unknown table {name} was ignored")
            tables.pop(name)
    if report.legacy:
        _from_legacy(tables, report)
    if not any(tables.get(t) for t in SPECS):
        raise ImportRefused("no HSDS tables found (organizations, services, locations…)")

    known: dict[str, set[uuid.UUID]] = {t: set() for t in SPECS}  # ids that will exist
    brought: dict[str, set[uuid.UUID]] = {t: set() for t in SPECS}  # ids this import upserts
    existing: dict[str, dict[uuid.UUID, object]] = {}
    for table in ORDER:
        model = SPECS[table].model
        existing[table] = {
            row.id: row
            for row in dbs().scalars(select(model).where(model.directory_id == directory.id))
        }
        known[table] |= set(existing[table])

    for table in ORDER:
        rows = tables.get(table) or []
        if not rows:
            continue
        spec = SPECS[table]
        result = report.tables[table]
        lengths = _max_lengths(spec.model)
        unknown = {c for row in rows[:1] for c in row} - set(spec.columns) - {"id"}
        for column in sorted(unknown):
            report.warn(f"column {table}.{column} is not kept by the portal")
        prepared = []
        for number, row in enumerate(rows, start=2):  # row 1 is the header
            values, reason = _prepare(table, spec, row, directory, report, lengths)
            if reason:
                result.skip(number, reason)
                continue
            prepared.append((number, values))
            known[table].add(values["id"])
        foreign = _foreign_ids(
            spec.model, [v["id"] for _n, v in prepared if v["id"] not in existing[table]], directory
        )
        if foreign:  # never taken over, and nothing of this import may point at them
            kept = []
            for number, values in prepared:
                if values["id"] in foreign:
                    result.skip(number, "the id is in another agency's directory")
                    known[table].discard(values["id"])
                else:
                    kept.append((number, values))
            prepared = kept
        if report.legacy and table in ("location", "service"):
            _add_placeholders(prepared, directory, known, existing, report)
        merged: dict[uuid.UUID, tuple[int, dict]] = {}
        for number, values in prepared:
            reason = _check_refs(table, spec, values, known, report)
            if reason:
                result.skip(number, reason)
                known[table].discard(values["id"])
                continue
            if values["id"] in merged:  # nested JSON repeats an object: one row, fields merged
                first = merged[values["id"]][1]
                for column, value in values.items():
                    if first.get(column) is None:
                        first[column] = value
                continue
            merged[values["id"]] = (number, values)
        brought[table] |= set(merged)
        inserts: list[dict] = []
        for values in (v for _n, v in merged.values()):
            _upsert(table, values, directory, existing, result, inserts)
        for start in range(0, len(inserts), 1000):  # new rows in bulk
            dbs().execute(insert(spec.model), inserts[start : start + 1000])
        dbs().flush()

    if report.legacy and not tables.get("service_at_location"):
        _link_by_organization(directory, report, brought["service"], brought["location"])
    dbs().flush()

    report.searchable = search.reindex(directory)
    audit.record(
        "directory.imported",
        directory,
        actor=actor,
        details={"tables": report.summary(), "legacy": report.legacy},
    )
    return report


def _prepare(table, spec, row, directory, report, lengths):
    """(values, skip reason)."""
    raw_id = _text(row.get("id"))
    if raw_id is None:
        content = json.dumps({k: v for k, v in sorted(row.items()) if v}, sort_keys=True)
        row_id = uuid.uuid5(LEGACY_NAMESPACE, f"{directory.public_id}/{table}/content/{content}")
    else:
        row_id = _uuid(raw_id, table=table, directory=directory)
    values = {"id": row_id}
    for column, kind in spec.columns.items():
        value, problem = _value(
            kind, row.get(column), column=column, table=table, directory=directory
        )
        if problem:
            if column in spec.required:
                return None, f"{column} is {problem}"
            report.warn(f"{table}.{column}: a value that is {problem} was left empty")
        if isinstance(value, str) and column in lengths and len(value) > lengths[column]:
            if column in spec.required:
                return None, f"{column} is longer than {lengths[column]} characters"
            report.warn(f"{table}.{column}: a value longer than {lengths[column]} was left empty")
            value = None
        values[column] = value
    for column in spec.required:
        if values.get(column) is None:
            return None, f"{column} is missing"
    if table == "location":
        lat, lon = values.get("latitude"), values.get("longitude")
        if (lat is None) != (lon is None) or (
            lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180)
        ):
            report.warn("location: coordinates out of range were left empty")
            values["latitude"] = values["longitude"] = None
        values["location_type"] = (values.get("location_type") or "physical").lower()
        if values["location_type"] not in ("physical", "postal", "virtual"):
            values["location_type"] = "physical"
    if table == "service":
        values["status"] = (values.get("status") or "active").lower()
        if values["status"] not in ("active", "inactive", "defunct", "temporarily closed"):
            report.warn(f"service.status: {values['status'][:40]!r} was read as active")
            values["status"] = "active"
    if table == "schedule":
        byday = (values.get("byday") or "").replace(" ", "").upper() or None
        if byday and not _BYDAY.match(byday):
            report.warn("schedule.byday: an unreadable value was left empty")
            byday = None
        values["byday"] = byday
        values["freq"] = (values.get("freq") or "").upper() or None
        values["wkst"] = (values.get("wkst") or "").upper()[:2] or None
    if table == "attribute":
        entity = (values.get("link_entity") or "").lower()
        if entity not in ATTRIBUTE_ENTITIES:
            return (
                None,
                "link_entity must be service, organization, location or service_at_location",
            )
        values["link_entity"] = entity
        values["link_type"] = values.get("link_type") or "category"
        values["link_id"] = _uuid(_text(row.get("link_id")), table=entity, directory=directory)
    if table == "address":
        values["address_type"] = (values.get("address_type") or "physical").lower()
        country = (values.get("country") or "").upper()
        values["country"] = country if re.fullmatch(r"[A-Z]{2}", country) else None
    # A column the source does not have leaves the stored value alone (an update) or takes
    # its default (a new row): a services.csv without "status" does not re-show hidden ones.
    kept = {"id", "link_id", "link_entity", "link_type"}
    return {k: v for k, v in values.items() if k in kept or k in row}, None


def _check_refs(table, spec, values, known, report) -> str | None:
    for column, target in spec.refs.items():
        ref = values.get(column)
        if ref is None:
            if column in spec.required_refs:
                return f"{column} is missing"
            continue
        if ref in known[target]:
            continue
        if column in spec.required_refs:
            return f"{column} names {_a(target)} that is not in this import or the directory"
        report.warn(f"{table}.{column} named {_a(target)} that does not exist: cleared")
        values[column] = None
    if spec.one_of and all(values.get(c) is None for c in spec.one_of):
        owners = " or ".join(c.removesuffix("_id") for c in spec.one_of)
        return f"belongs to no {owners} the portal keeps"
    if table == "attribute" and values["link_id"] not in known[values["link_entity"]]:
        return (
            f"link_id names {_a(values['link_entity'])} that is not in this import or the directory"
        )
    return None


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _add_placeholders(prepared, directory, known, existing, report) -> None:
    """A legacy feed's rows name organizations it does not include: one stand-in each, so
    the services stay (clients see the service and its locations, not the stand-in)."""
    made = 0
    for _number, values in prepared:
        ref = values.get("organization_id")
        if ref is None or ref in known["organization"]:
            continue
        if dbs().get(HsdsOrganization, ref) is not None:
            continue  # another directory's: the reference is cleared by the check
        dbs().add(
            HsdsOrganization(
                id=ref,
                directory_id=directory.id,
                name="Organization not in the feed",
                placeholder=True,
            )
        )
        known["organization"].add(ref)
        existing["organization"][ref] = {"id": ref}
        made += 1
    if made:
        dbs().flush()
        report.tables["organization"].inserted += made
        report.warn(f"{made} organizations named but not included were added as stand-ins")


def _foreign_ids(model, ids: list[uuid.UUID], directory: Directory) -> set[uuid.UUID]:
    """Which of these ids are rows of another directory."""
    found: set[uuid.UUID] = set()
    for start in range(0, len(ids), 1000):
        found |= set(
            dbs().scalars(
                select(model.id).where(
                    model.id.in_(ids[start : start + 1000]), model.directory_id != directory.id
                )
            )
        )
    return found


INSERT_DEFAULTS = {
    "service": {"status": "active"},
    "location": {"location_type": "physical"},
    "address": {"address_type": "physical"},
}


def _upsert(table, values, directory, existing, result, inserts: list[dict]) -> None:
    row = existing[table].get(values["id"])
    if row is None:
        inserts.append(
            {
                **dict.fromkeys(SPECS[table].columns),
                **INSERT_DEFAULTS.get(table, {}),
                "directory_id": directory.id,
                "updated_at": clock.now(),
                **values,
            }
        )
        existing[table][values["id"]] = values
        result.inserted += 1
        return
    if isinstance(row, dict):  # inserted earlier in this import
        result.unchanged += 1
        return
    changed = False
    for column, value in values.items():
        if column != "id" and getattr(row, column) != value:
            setattr(row, column, value)
            changed = True
    if changed:
        result.updated += 1
    else:
        result.unchanged += 1


def _guessed_link(service_id: uuid.UUID, location_id: uuid.UUID) -> uuid.UUID:
    """The id of the link a feed without service_at_location makes (stable: an import of the
    same feed again finds it)."""
    return uuid.uuid5(LEGACY_NAMESPACE, f"{service_id}@{location_id}")


def _link_by_organization(
    directory: Directory,
    report: ImportReport,
    services: set[uuid.UUID],
    locations: set[uuid.UUID],
) -> None:
    """Legacy feeds without service_at_location: each service this import brings, at the
    locations of its organization this import brings. A service the import does not bring is
    never touched, nor one offered somewhere by a stated link (a feed's service_at_location or
    an administrator's place); one offered only by links guessed like these is guessed again
    (a place the feed adds later is added). A service is never linked twice to the same
    location, whatever the id of the link it has."""
    at_organization = defaultdict(list)
    for location_id, organization_id in dbs().execute(
        select(HsdsLocation.id, HsdsLocation.organization_id).where(
            HsdsLocation.directory_id == directory.id, HsdsLocation.organization_id.is_not(None)
        )
    ):
        if location_id in locations:
            at_organization[organization_id].append(location_id)
    linked: set[tuple[uuid.UUID, uuid.UUID]] = set()  # (service, location)
    stated: set[uuid.UUID] = set()  # services offered somewhere by a link not guessed here
    for link_id, service_id, location_id in dbs().execute(
        select(
            HsdsServiceAtLocation.id,
            HsdsServiceAtLocation.service_id,
            HsdsServiceAtLocation.location_id,
        ).where(HsdsServiceAtLocation.directory_id == directory.id)
    ):
        linked.add((service_id, location_id))
        if link_id != _guessed_link(service_id, location_id):
            stated.add(service_id)
    result = report.tables["service_at_location"]
    for service_id, organization_id in dbs().execute(
        select(HsdsService.id, HsdsService.organization_id).where(
            HsdsService.directory_id == directory.id
        )
    ):
        if service_id not in services or service_id in stated:
            continue
        for location_id in at_organization.get(organization_id, []):
            if (service_id, location_id) in linked:
                result.unchanged += 1
                continue
            dbs().add(
                HsdsServiceAtLocation(
                    id=_guessed_link(service_id, location_id),
                    directory_id=directory.id,
                    service_id=service_id,
                    location_id=location_id,
                )
            )
            linked.add((service_id, location_id))
            result.inserted += 1
    if result.inserted:
        report.warn(
            "the feed has no service_at_location: each service is offered at its "
            "organization's locations"
        )
