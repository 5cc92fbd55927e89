"""Reading sources: a folder, a zip (bounded), one CSV, HSDS JSON (nested objects flattened)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from portal.domain.directory.importer._report import ImportRefused
from portal.domain.directory.importer._specs import LEGACY_TABLES, SPECS, TABLE_NAMES

MAX_MEMBER_BYTES = 200 * 1024 * 1024  # one CSV inside a zip, uncompressed
MAX_ROWS = 500_000


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
    row: dict[str, Any] = {}
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
