"""Each value read as its kind, and HSDS 1.1 files turned into HSDS 3 tables."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import date, time

from sqlalchemy import String

from portal.domain.directory.importer._report import ImportReport
from portal.domain.directory.importer._specs import _CONTROL, _WEEKDAYS, LEGACY_NAMESPACE, SPECS
from portal.domain.models import (
    Directory,
)

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


def parse_time(value: str) -> time | None:
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
    return _READERS[kind](text)


def _number(text: str, *, whole: bool = False):
    try:
        number = float(text)
    except ValueError:
        return None, "not a number"
    if number != number or number in (float("inf"), float("-inf")):
        return None, "not a number"
    if abs(number) > 2_147_483_647:
        return None, "out of range"
    if whole:
        return (int(number), None) if number.is_integer() else (None, "not a whole number")
    return number, None


def _date(text: str):
    try:
        return date.fromisoformat(text[:10]), None
    except ValueError:
        return None, "not a date (YYYY-MM-DD)"


def _clock_time(text: str):
    parsed = parse_time(text)
    return (parsed, None) if parsed else (None, "not a time (HH:MM)")


def _email(text: str):
    if "@" in text and " " not in text and len(text) <= 254:
        return text, None
    return None, "not an email address"


def _web_address(text: str):
    if re.match(r"(?i)^https?://[^\s]+$", text):
        return text, None
    if re.match(r"(?i)^(www\.)?[a-z0-9-]+(\.[a-z0-9-]+)+(/[^\s]*)?$", text):
        return "https://" + text, None
    return None, "not a web address"


# How a text cell becomes each kind of value: (value, problem).
_READERS = {
    "float": _number,
    "int": lambda text: _number(text, whole=True),
    "date": _date,
    "time": _clock_time,
    "email": _email,
    "uri": _web_address,
}


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
