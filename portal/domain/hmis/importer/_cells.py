"""One row's cells, checked: HUD ids, text, codes of a HUD list, dates, timestamps."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from portal.domain.core.errors import DomainError
from portal.domain.core.validation import clean_text
from portal.domain.hmis import hud_lists
from portal.domain.hmis.importer._codes import _DATE, _INTEGER, _LOAD_CHUNK, _TIMESTAMP, ID_LENGTH
from portal.domain.hmis.importer._report import FileReport

# --- phase 1: parse and check --------------------------------------------------------------


class _Cells:
    """One row's cells, parsed column by column; problems go to the file's report."""

    def __init__(self, report: FileReport, number: int, cells: dict[str, str]):
        self.report = report
        self.number = number
        self.cells = cells
        self.failed = False

    def error(self, column: str, reason: str) -> None:
        self.failed = True
        self.report.errors.append((self.number, column, reason))

    def warn(self, column: str, reason: str) -> None:
        self.report.warnings.append((self.number, column, reason))

    def raw(self, column: str) -> str:
        return self.cells[column]

    def hud_id(self, column: str) -> str | None:
        value = self.cells[column]
        if not value:
            self.error(column, "missing")
        elif len(value) > ID_LENGTH:
            self.error(column, "too_long")
        else:
            return value
        return None

    def text(self, column: str, *, max_length: int, required: bool = False) -> str | None:
        """Cleaned as staff input is (NFC, no control characters, single spaces)."""
        try:
            value = clean_text(
                self.cells[column], field=column, max_length=max_length, required=False
            )
        except DomainError:
            self.error(column, "too_long")
            return None
        if required and not value:
            self.error(column, "missing")
        return value or None

    def code(self, column: str, values: hud_lists.HudList, *, required: bool = True) -> int | None:
        value = self.cells[column]
        if not value:
            if required:
                self.error(column, "missing")
        elif _INTEGER.fullmatch(value) and int(value) in values:
            return int(value)
        else:
            self.error(column, "invalid_code")
        return None

    def date(self, column: str, *, required: bool = False) -> date | None:
        value = self.cells[column]
        if not value:
            if required:
                self.error(column, "missing")
            return None
        try:
            if _DATE.fullmatch(value):
                return date.fromisoformat(value)
        except ValueError:
            pass
        self.error(column, "invalid_date")
        return None

    def timestamp(self, column: str) -> datetime | None:
        """A HUD timestamp. The export gives no zone, so it is read as UTC."""
        value = self.cells[column]
        if not value:
            return None
        try:
            if _TIMESTAMP.fullmatch(value):
                return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            pass
        self.error(column, "invalid_datetime")
        return None

    def deleted(self) -> bool:
        return self.timestamp("DateDeleted") is not None


@dataclass
class _Row:
    """A parsed row that passed its own checks; `resolve` decides whether it is written."""

    number: int
    hud_id: str
    values: dict[str, Any]  # model attribute -> value as it is to be stored
    refs: dict[str, str] = field(default_factory=dict)  # "project", "client" ... -> HUD id
    deleted: bool = False
    hud_updated: datetime | None = None
    skip: str | None = None  # the reason it is not written
    failed: bool = False  # a reference check failed (or one it depends on)


# What a referenced id stands for after the import, when it is not a row already stored.
_NEW = "new"  # a row of the file that will be created
_GONE = "gone"  # a row of the file that will not be created (deleted, or skipped)
_BROKEN = "broken"  # a row of the file that failed a check (already reported)


def _assign(obj: Any, values: Mapping[str, Any], *, created: bool = False) -> bool:
    """Set only the attributes whose value differs, so an unchanged row is not touched.

    A new object gets every value, None too, so all new rows insert the same columns and
    the inserts go out in batches."""
    changed = False
    for name, value in values.items():
        if created or getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), _LOAD_CHUNK):
        yield ordered[start : start + _LOAD_CHUNK]
