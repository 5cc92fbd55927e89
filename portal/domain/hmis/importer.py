"""Import a HUD HMIS CSV export (FY2024 and FY2026 layouts) into the portal's client record.

What is imported: Organization.csv, Project.csv, Client.csv, Enrollment.csv and Exit.csv,
upserted by their HUD ids (OrganizationID, ProjectID, PersonalID, EnrollmentID; an Exit puts
its ExitID, ExitDate and Destination on its enrollment). Export.csv says which layout it is
(`CSVVersion` "2024 v..." or "2026 v..."; anything else is fatal) and which export every row
belongs to (`ExportID`, checked on every row). Export.csv and Client.csv are required; the
other four are optional, and every other file is listed in `ImportReport.ignored_files`
unread. Only the columns used must exist, so each layout's demographic columns are ignored.
File names match without regard to case; in a zip, folders are ignored.

Two phases. First every row of every file is read, parsed and checked (value lists, dates,
lengths, duplicate ids, and every reference: a project's organization, an enrollment's client
and project, an exit's enrollment and client), against the files and against what the
database already holds. Problems are collected as (row, column, reason code); row 1 is the
first data row, row 0 the header. Only when no file has a single problem is anything written,
inside a savepoint (`begin_nested`), so an unexpected exception leaves nothing behind either;
the caller commits. One bad row anywhere changes nothing at all, and the report then carries
only the errors. Reports name files, row numbers, column names and codes: never a cell value,
as cells hold PII. One audit event ("hmis.imported") carries the counts per file.

Stored rows are loaded up front, one query per table (by the HUD ids the files name or point
at), never one per row. A row whose values all equal what is stored is counted unchanged and
not touched (values are compared before anything is assigned), so a second import of the same
files changes no row and moves no `updated_at` or `imported_at`. `imported_at` is when an
import last changed the row.

Agencies: a new organization is mapped to the importing agency (as is an unmapped one). An
organization mapped to another agency keeps its mapping, and its rows, its projects' rows,
their enrollments and exits are skipped ("organization_of_another_agency"). A new client is
owned by the importing agency (`source` "hmis_import"); a client owned by another agency is
never changed ("owned_by_another_agency"). An enrollment in one of the importing agency's
projects may point at another agency's client: that is what makes it a serving agency.

Decisions:
- Times: DateUpdated and DateDeleted carry no zone in the export; they are read as UTC and
  stored timezone-aware (`hud_date_updated`).
- DOB with DOBDataQuality 8, 9 or 99: HUD says these go with no date, so the date is dropped
  with a warning ("dob_dropped_for_quality") and the quality kept. An error would refuse real
  exports (the sample has such a row) over a date the record must not keep anyway.
  DOBDataQuality 1 or 2 without a date becomes 99, warned ("dob_quality_without_dob"). A DOB
  that is not a real YYYY-MM-DD date is an error ("invalid_date"); one before 1900 or after
  the agency's today is an error too ("out_of_range").
- SSN goes through `ssn.parse_ssn` with its SSNDataQuality. An unusable format is an error
  ("invalid_ssn"). Digits with quality 8, 9 or 99 contradict the quality: the quality wins
  and the digits are not stored ("ssn_dropped_for_quality"): a client who prefers not to
  answer keeps no SSN here, as with a refused consent, and HUD leaves SSN blank with those
  codes. Quality 1 or 2 without an SSN becomes 99 ("ssn_quality_without_ssn"). An SSN that
  breaks a validity rule is kept with the quality parse_ssn gives (2), warned
  ("ssn_invalid_pattern"; the rule is not named, it would hint at the digits); a quality that
  parse_ssn changes otherwise is warned too ("ssn_quality_changed"). The SSN is stored
  encrypted; `ssn_last4` only when its last four are all digits.
- Deleted in the HMIS (DateDeleted): an existing client is soft-deleted (`deleted_at`); a new
  one is not created ("deleted_in_hmis"). Organizations, projects and enrollments have no
  soft delete in the portal: a deleted one is skipped ("deleted_in_hmis"), a stored one kept.
  A deleted exit reopens its enrollment when it is the exit the enrollment carries and the
  file brings no other. A row pointing at a row that will not exist (deleted, or skipped as
  new) is skipped ("references_deleted_row").
- A client soft-deleted in the portal is not brought back by an import ("deleted_in_portal"):
  the deletion may be a retention decision. A client row whose DateUpdated is older than the
  one stored is skipped ("older_than_stored"), so an old export cannot undo a newer one.
- Names are cleaned as staff input is (`validation.clean_text`: NFC, no control characters,
  single spaces), then limited to 50 characters each.
- ProjectType may be blank (HUD 2.02.6: not a Continuum project). Export.csv's HashStatus is
  not checked: the sample exports say 3 ("Hashed - other") yet hold clear values; a truly
  hashed SSN fails as "invalid_ssn".
- Warnings on rows that end up skipped are dropped from the report.

Codes (all listed in ERROR_CODES, SKIP_REASONS, WARNING_CODES and FATAL_CODES): a row error
says which column; "unknown_reference" is a broken reference (the column says to what); file
errors sit on row 0 (missing_column, duplicate_column, empty_file, not_utf8) except
unreadable_csv, on the row where reading broke. References into a file that could not be
read are not reported again. A fatal code about one file (missing_file, duplicate_file,
file_too_large) also puts that file in `files`, with the code as its error on row 0.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select

from portal.domain.core import audit, clock, crypto
from portal.domain.core.errors import DomainError
from portal.domain.core.session import dbs
from portal.domain.core.validation import clean_text
from portal.domain.hmis import hud_lists
from portal.domain.models import Agency, Client, Enrollment, Organization, Project
from portal.domain.records.ssn import (
    DATA_NOT_COLLECTED,
    NOT_KNOWN_QUALITIES,
    SSN,
    last_four,
    parse_ssn,
)

EXPORT = "Export.csv"
ORGANIZATION = "Organization.csv"
PROJECT = "Project.csv"
CLIENT = "Client.csv"
ENROLLMENT = "Enrollment.csv"
EXIT = "Exit.csv"
HANDLED_FILES = (EXPORT, ORGANIZATION, PROJECT, CLIENT, ENROLLMENT, EXIT)
REQUIRED_FILES = (EXPORT, CLIENT)

# The columns the import reads; any other column is ignored.
COLUMNS: Mapping[str, tuple[str, ...]] = {
    EXPORT: ("ExportID", "CSVVersion"),
    ORGANIZATION: (
        "OrganizationID",
        "OrganizationName",
        "VictimServiceProvider",
        "DateDeleted",
        "ExportID",
    ),
    PROJECT: (
        "ProjectID",
        "OrganizationID",
        "ProjectName",
        "OperatingStartDate",
        "OperatingEndDate",
        "ProjectType",
        "DateDeleted",
        "ExportID",
    ),
    CLIENT: (
        "PersonalID",
        "FirstName",
        "MiddleName",
        "LastName",
        "NameSuffix",
        "NameDataQuality",
        "SSN",
        "SSNDataQuality",
        "DOB",
        "DOBDataQuality",
        "DateUpdated",
        "DateDeleted",
        "ExportID",
    ),
    ENROLLMENT: (
        "EnrollmentID",
        "PersonalID",
        "ProjectID",
        "EntryDate",
        "HouseholdID",
        "RelationshipToHoH",
        "DateDeleted",
        "ExportID",
    ),
    EXIT: (
        "ExitID",
        "EnrollmentID",
        "PersonalID",
        "ExitDate",
        "Destination",
        "DateDeleted",
        "ExportID",
    ),
}

# The HUD id of each handled file's rows.
_ID_COLUMNS = {
    ORGANIZATION: "OrganizationID",
    PROJECT: "ProjectID",
    CLIENT: "PersonalID",
    ENROLLMENT: "EnrollmentID",
    EXIT: "ExitID",
}

# Every code a report can carry, for the pages and commands that turn them into words.
ERROR_CODES = frozenset(
    {
        "missing",
        "too_long",
        "invalid_code",
        "invalid_date",
        "invalid_datetime",
        "out_of_range",
        "invalid_ssn",
        "duplicate_id",
        "wrong_field_count",
        "unknown_export",
        "unknown_reference",
        "personal_id_mismatch",
        "before_entry_date",
        "before_start_date",
        "missing_column",
        "duplicate_column",
        "empty_file",
        "not_utf8",
        "unreadable_csv",
    }
)
SKIP_REASONS = frozenset(
    {
        "deleted_in_hmis",
        "deleted_in_portal",
        "older_than_stored",
        "owned_by_another_agency",
        "organization_of_another_agency",
        "references_deleted_row",
    }
)
WARNING_CODES = frozenset(
    {
        "dob_dropped_for_quality",
        "dob_quality_without_dob",
        "ssn_dropped_for_quality",
        "ssn_quality_without_ssn",
        "ssn_invalid_pattern",
        "ssn_quality_changed",
    }
)
FATAL_CODES = frozenset(
    {
        "source_not_found",
        "not_a_zip",
        "unreadable_zip",
        "file_too_large",
        "duplicate_file",
        "missing_file",
        "invalid_export_csv",
        "unsupported_version",
    }
)

MAX_FILE_BYTES = 512 * 1024 * 1024  # per handled file in a zip: refuses zip bombs
ID_LENGTH = 32  # HUD S32
NAME_LENGTH = 50  # HUD S50 for each part of a client's name
TITLE_LENGTH = 200  # HUD S200 for organization and project names
EARLIEST_DOB = date(1900, 1, 1)
_LOAD_CHUNK = 5000  # ids per IN (...) when loading existing rows

_VERSION = re.compile(r"(2024|2026) v[0-9]+(?:\.[0-9]+)*")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_INTEGER = re.compile(r"[0-9]{1,9}")


@dataclass
class FileReport:
    """What happened to one CSV file. Rows are numbered from 1 (the first data row)."""

    name: str
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, reason)
    warnings: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, reason)

    def counts(self) -> dict[str, int]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": len(self.skipped),
            "warnings": len(self.warnings),
        }


@dataclass
class ImportReport:
    csv_version: str = ""
    files: dict[str, FileReport] = field(default_factory=dict)
    ignored_files: list[str] = field(default_factory=list)
    fatal: str | None = None
    fatal_file: str | None = None  # the file a fatal code is about (missing, twice, too large)

    @property
    def ok(self) -> bool:
        return self.fatal is None and not any(f.errors for f in self.files.values())

    def totals(self) -> dict[str, int]:
        """Rows new, updated and unchanged over every file."""
        return {
            key: sum(getattr(f, key) for f in self.files.values())
            for key in ("imported", "updated", "unchanged")
        }


class _Fatal(Exception):
    def __init__(self, code: str, file: str | None = None):
        super().__init__(code)
        self.code = code
        self.file = file  # the file it is about, when there is one


def import_export(source: Any, *, agency: Agency, actor: Any = None) -> ImportReport:
    """Import the export in `source` (a folder, a zip file's path, or a binary file object
    holding a zip, such as an upload) for `agency`. Flushes; the caller commits."""
    report = ImportReport()
    try:
        with _export_files(source) as available:
            files = _pick_files(available, report)
            fiscal_year, export_id = _read_export(files[EXPORT], report)
            tables = {}
            for name in HANDLED_FILES[1:]:
                if name in files:
                    report.files[name] = FileReport(name)
                    tables[name] = _read_csv(
                        files[name], COLUMNS[name], report.files[name], _ID_COLUMNS[name]
                    )
    except _Fatal as fatal:
        failed = ImportReport(
            csv_version=report.csv_version,
            fatal=fatal.code,
            fatal_file=fatal.file,
            ignored_files=report.ignored_files,  # what the zip held instead, to say so
        )
        if fatal.file:
            failed.files[fatal.file] = FileReport(fatal.file, errors=[(0, "", fatal.code)])
        return failed

    plan = _Plan(agency, fiscal_year, export_id, report.files)
    plan.parse(tables)
    plan.resolve()
    if not report.ok:
        for file_report in report.files.values():  # nothing happens: only the errors count
            file_report.skipped.clear()
            file_report.warnings.clear()
        return report

    with dbs().begin_nested():
        plan.write()
        audit.record(
            "hmis.imported",
            agency,
            actor=actor,
            details={
                "csv_version": report.csv_version,
                **{name: file_report.counts() for name, file_report in report.files.items()},
                "ignored_files": len(report.ignored_files),
            },
        )
    return report


# --- reading the files -------------------------------------------------------------------

Opener = Callable[[], IO[bytes]]


@contextmanager
def _export_files(source: Any) -> Iterator[list[tuple[str, Opener]]]:
    """Every file of the export as (name without folders, opener), from a folder or a zip."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            yield [(p.name, partial(p.open, "rb")) for p in sorted(path.iterdir()) if p.is_file()]
        elif path.is_file():
            with path.open("rb") as stream, _zip_files(stream) as files:
                yield files
        else:
            raise _Fatal("source_not_found")
        return
    # An upload (Werkzeug's FileStorage keeps its file in `stream`) or any binary file object.
    with _zip_files(getattr(source, "stream", source)) as files:
        yield files


@contextmanager
def _zip_files(stream: IO[bytes]) -> Iterator[list[tuple[str, Opener]]]:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _Fatal("not_a_zip") from None
    with archive:
        yield [
            (
                info.filename.replace("\\", "/").rsplit("/", 1)[-1],
                partial(_open_member, archive, info),
            )
            for info in archive.infolist()
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        ]


def _open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes]:
    if info.file_size > MAX_FILE_BYTES:
        raise _Fatal("file_too_large", info.filename.rsplit("/", 1)[-1])
    try:
        return archive.open(info)
    except (RuntimeError, NotImplementedError, zipfile.BadZipFile):
        raise _Fatal("unreadable_zip") from None  # encrypted, unknown compression, damaged


_CANONICAL = {name.lower(): name for name in HANDLED_FILES}


def _pick_files(available: list[tuple[str, Opener]], report: ImportReport) -> dict[str, Opener]:
    """The handled files by their HUD name (matched without regard to case)."""
    files: dict[str, Opener] = {}
    for name, opener in available:
        canonical = _CANONICAL.get(name.lower())
        if canonical is None:
            report.ignored_files.append(name)
        elif canonical in files:
            raise _Fatal("duplicate_file", canonical)
        else:
            files[canonical] = opener
    for name in REQUIRED_FILES:
        if name not in files:
            raise _Fatal("missing_file", name)
    return files


def _read_export(opener: Opener, report: ImportReport) -> tuple[int, str]:
    """(fiscal year of the layout, ExportID every row must carry)."""
    probe = FileReport(EXPORT)
    rows = _read_csv(opener, COLUMNS[EXPORT], probe).rows
    if probe.errors or len(rows) != 1 or not rows[0][1]["ExportID"]:
        raise _Fatal("invalid_export_csv")
    cells = rows[0][1]
    match = _VERSION.fullmatch(cells["CSVVersion"])
    if match is None:
        raise _Fatal("unsupported_version")
    report.csv_version = cells["CSVVersion"]
    return int(match.group(1)), cells["ExportID"]


@dataclass
class _Table:
    """A file's data rows: (number, used cells stripped), 1 = the first data row."""

    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    readable: bool = True  # False: the file as a whole could not be read (row 0 error)
    broken_ids: set[str] = field(default_factory=set)  # ids on rows too short or too long


def _read_csv(
    opener: Opener, columns: tuple[str, ...], report: FileReport, id_column: str = ""
) -> _Table:
    table = _Table()
    number = 0
    try:
        with opener() as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
            reader = csv.reader(text)
            header = [name.strip() for name in next(reader, [])]
            if not header:
                report.errors.append((0, "", "empty_file"))
            for name in columns if header else ():
                if header.count(name) > 1:
                    report.errors.append((0, name, "duplicate_column"))
                elif name not in header:
                    report.errors.append((0, name, "missing_column"))
            if report.errors:
                return _Table(readable=False)
            index = {name: header.index(name) for name in columns}
            for number, cells in enumerate(reader, start=1):
                if not cells:
                    continue  # a blank line
                if len(cells) != len(header):
                    report.errors.append((number, "", "wrong_field_count"))
                    if id_column and index[id_column] < len(cells):
                        table.broken_ids.add(cells[index[id_column]].strip())
                    continue
                table.rows.append((number, {name: cells[i].strip() for name, i in index.items()}))
    except UnicodeDecodeError:
        report.errors.append((0, "", "not_utf8"))
        return _Table(readable=False)
    except csv.Error:
        report.errors.append((number + 1, "", "unreadable_csv"))
        return _Table(readable=False)
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise _Fatal("unreadable_zip") from None  # a damaged member
    return table


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


class _Plan:
    def __init__(
        self, agency: Agency, fiscal_year: int, export_id: str, reports: dict[str, FileReport]
    ):
        self.agency = agency
        self.lists = hud_lists.for_fiscal_year(fiscal_year)
        self.export_id = export_id
        self.reports = reports
        self.today = agency.today()
        self.rows: dict[str, dict[str, _Row]] = {name: {} for name in _ID_COLUMNS}
        self.broken: dict[str, set[str]] = {name: set() for name in _ID_COLUMNS}
        self.unreadable: set[str] = set()  # files whose ids are unknown: no reference fails
        # What is stored already, by HUD id (and what the import creates, once written).
        self.organizations: dict[str, Organization] = {}
        self.projects: dict[str, Project] = {}
        self.clients: dict[str, Client] = {}
        self.enrollments: dict[str, Enrollment] = {}
        self.enrollment_person: dict[str, str] = {}  # stored EnrollmentID -> its PersonalID
        self.live_exits: dict[str, _Row] = {}  # EnrollmentID -> its exit row, not deleted

    def parse(self, tables: Mapping[str, _Table]) -> None:
        parsers = {
            ORGANIZATION: self._organization,
            PROJECT: self._project,
            CLIENT: self._client,
            ENROLLMENT: self._enrollment,
            EXIT: self._exit,
        }
        for name, table in tables.items():
            report, column = self.reports[name], _ID_COLUMNS[name]
            if not table.readable:
                self.unreadable.add(name)
            for number, raw in table.rows:
                cells = _Cells(report, number, raw)
                hud_id = cells.hud_id(column)
                if hud_id is not None and (
                    hud_id in self.rows[name] or hud_id in self.broken[name]
                ):
                    cells.error(column, "duplicate_id")
                    hud_id = None
                if cells.raw("ExportID") != self.export_id:
                    cells.error("ExportID", "unknown_export")
                row = parsers[name](cells, hud_id or "")
                if hud_id is None:
                    continue
                if cells.failed:
                    self.broken[name].add(hud_id)
                else:
                    self.rows[name][hud_id] = row
            self.broken[name] |= table.broken_ids - self.rows[name].keys()
        # One exit per enrollment (a delta export may add one and delete another).
        for row in self.rows[EXIT].values():
            if row.deleted:
                continue
            if row.refs["enrollment"] in self.live_exits:
                self._error(EXIT, row, "EnrollmentID", "duplicate_id")
            self.live_exits.setdefault(row.refs["enrollment"], row)

    def _organization(self, cells: _Cells, hud_id: str) -> _Row:
        values = {
            "name": cells.text("OrganizationName", max_length=TITLE_LENGTH, required=True),
            "victim_service_provider": cells.code(
                "VictimServiceProvider", self.lists[hud_lists.VICTIM_SERVICE_PROVIDER.name]
            )
            == 1,
        }
        return _Row(cells.number, hud_id, values, deleted=cells.deleted())

    def _project(self, cells: _Cells, hud_id: str) -> _Row:
        start = cells.date("OperatingStartDate", required=True)
        end = cells.date("OperatingEndDate")
        if start and end and end < start:
            cells.error("OperatingEndDate", "before_start_date")
        values = {
            "name": cells.text("ProjectName", max_length=TITLE_LENGTH, required=True),
            # HUD 2.02.6: may be blank when the project is not a Continuum project.
            "project_type": cells.code("ProjectType", self.lists["ProjectType"], required=False),
            "operating_start": start,
            "operating_end": end,
        }
        refs = {"organization": cells.hud_id("OrganizationID") or ""}
        return _Row(cells.number, hud_id, values, refs, deleted=cells.deleted())

    def _client(self, cells: _Cells, hud_id: str) -> _Row:
        values: dict[str, Any] = {
            "first_name": cells.text("FirstName", max_length=NAME_LENGTH),
            "middle_name": cells.text("MiddleName", max_length=NAME_LENGTH),
            "last_name": cells.text("LastName", max_length=NAME_LENGTH),
            "name_suffix": cells.text("NameSuffix", max_length=NAME_LENGTH),
            "name_quality": cells.code("NameDataQuality", self.lists["NameDataQuality"]),
        }
        dob_quality = cells.code("DOBDataQuality", self.lists["DOBDataQuality"])
        dob = cells.date("DOB")
        if dob is not None and not EARLIEST_DOB <= dob <= self.today:
            cells.error("DOB", "out_of_range")
        if dob is not None and dob_quality not in (None, 1, 2):
            cells.warn("DOB", "dob_dropped_for_quality")
            dob = None
        elif dob_quality in (1, 2) and not cells.raw("DOB"):
            cells.warn("DOBDataQuality", "dob_quality_without_dob")
            dob_quality = 99
        values["dob"], values["dob_quality"] = dob, dob_quality
        ssn_quality = cells.code("SSNDataQuality", self.lists["SSNDataQuality"])
        parsed = self._ssn(cells, ssn_quality) if ssn_quality is not None else None
        if parsed is not None:
            values["ssn"], values["ssn_quality"] = parsed.value, parsed.quality
        return _Row(
            cells.number,
            hud_id,
            values,
            deleted=cells.deleted(),
            hud_updated=cells.timestamp("DateUpdated"),
        )

    @staticmethod
    def _ssn(cells: _Cells, quality: int) -> SSN | None:
        raw = cells.raw("SSN")
        try:
            parsed = parse_ssn(raw, quality=quality)
        except DomainError:
            try:
                parse_ssn(raw)  # the format alone
            except DomainError:
                cells.error("SSN", "invalid_ssn")
                return None
            # The format is fine: the digits and the quality contradict each other.
            if quality in NOT_KNOWN_QUALITIES:
                cells.warn("SSN", "ssn_dropped_for_quality")
                return SSN(None, quality, ())
            cells.warn("SSNDataQuality", "ssn_quality_without_ssn")
            return SSN(None, DATA_NOT_COLLECTED, ())
        if parsed.warnings:
            cells.warn("SSN", "ssn_invalid_pattern")
        elif parsed.quality != quality:
            cells.warn("SSNDataQuality", "ssn_quality_changed")
        return parsed

    def _enrollment(self, cells: _Cells, hud_id: str) -> _Row:
        household = cells.raw("HouseholdID")
        if len(household) > ID_LENGTH:
            cells.error("HouseholdID", "too_long")
        values = {
            "entry_date": cells.date("EntryDate", required=True),
            "household_id": household or None,
            "relationship_to_hoh": cells.code("RelationshipToHoH", self.lists["RelationshipToHoH"]),
        }
        refs = {
            "client": cells.hud_id("PersonalID") or "",
            "project": cells.hud_id("ProjectID") or "",
        }
        return _Row(cells.number, hud_id, values, refs, deleted=cells.deleted())

    def _exit(self, cells: _Cells, hud_id: str) -> _Row:
        values = {
            "hud_exit_id": hud_id,
            "exit_date": cells.date("ExitDate", required=True),
            "destination": cells.code("Destination", self.lists["Destination"]),
        }
        refs = {
            "enrollment": cells.hud_id("EnrollmentID") or "",
            "client": cells.hud_id("PersonalID") or "",
        }
        return _Row(cells.number, hud_id, values, refs, deleted=cells.deleted())

    # -- what is stored, every reference, and what is skipped ------------------------------

    def resolve(self) -> None:
        self._load()
        for name, resolve in (
            (ORGANIZATION, self._resolve_organization),
            (PROJECT, self._resolve_project),
            (CLIENT, self._resolve_client),
            (ENROLLMENT, self._resolve_enrollment),
            (EXIT, self._resolve_exit),
        ):
            for row in self.rows[name].values():
                if not row.failed:
                    resolve(row)
        for report in self.reports.values():  # a skipped row's warnings do not matter
            skipped = {number for number, _ in report.skipped}
            report.warnings[:] = [w for w in report.warnings if w[0] not in skipped]

    def _load(self) -> None:
        """One query per table (per 5000 ids): the stored rows the files name or point at."""
        rows = self.rows
        wanted = (
            (
                Organization,
                Organization.hud_organization_id,
                self.organizations,
                _ids(rows[ORGANIZATION], rows[PROJECT], "organization"),
            ),
            (
                Project,
                Project.hud_project_id,
                self.projects,
                _ids(rows[PROJECT], rows[ENROLLMENT], "project"),
            ),
            (
                Client,
                Client.personal_id,
                self.clients,
                _ids(rows[CLIENT], rows[ENROLLMENT], "client"),
            ),
        )
        for model, column, found, ids in wanted:
            for chunk in _chunks(ids):
                for obj in dbs().scalars(select(model).where(column.in_(chunk))):
                    found[getattr(obj, column.key)] = obj
        enrollment_ids = _ids(rows[ENROLLMENT], rows[EXIT], "enrollment")
        for chunk in _chunks(enrollment_ids):
            query = (
                select(Enrollment, Client.personal_id)
                .join(Client, Enrollment.client_id == Client.id)
                .where(Enrollment.hud_enrollment_id.in_(chunk))
            )
            for enrollment, personal_id in dbs().execute(query):
                self.enrollments[enrollment.hud_enrollment_id] = enrollment
                self.enrollment_person[enrollment.hud_enrollment_id] = personal_id

    def _after(self, name: str, hud_id: str, stored: Mapping[str, Any]) -> Any:
        """What `hud_id` stands for after the import: the stored object, _NEW, _GONE or
        _BROKEN; None when it is nowhere (a broken reference)."""
        if hud_id in stored:
            return stored[hud_id]
        row = self.rows[name].get(hud_id)
        if row is None:
            return _BROKEN if hud_id in self.broken[name] or name in self.unreadable else None
        if row.failed:
            return _BROKEN
        return _NEW if row.skip is None else _GONE

    def _skip(self, name: str, row: _Row, reason: str) -> None:
        row.skip = reason
        self.reports[name].skipped.append((row.number, reason))

    def _error(self, name: str, row: _Row, column: str, reason: str) -> None:
        row.failed = True
        self.reports[name].errors.append((row.number, column, reason))

    def _mine(self, agency_id: int | None) -> bool:
        return agency_id in (None, self.agency.id)

    def _organization_agency(self, hud_id: str) -> int | None:
        stored = self.organizations.get(hud_id)
        return stored.agency_id if stored is not None else None

    def _project_agency(self, hud_id: str) -> int | None:
        """The agency of the project's organization once the import is written."""
        row = self.rows[PROJECT].get(hud_id)
        stored = self.projects.get(hud_id)
        if row is not None and (row.skip is None or stored is None):
            return self._organization_agency(row.refs["organization"])
        return stored.organization.agency_id if stored is not None else None

    def _resolve_organization(self, row: _Row) -> None:
        if not self._mine(self._organization_agency(row.hud_id)):
            self._skip(ORGANIZATION, row, "organization_of_another_agency")
        elif row.deleted:
            self._skip(ORGANIZATION, row, "deleted_in_hmis")

    def _resolve_project(self, row: _Row) -> None:
        organization = self._after(ORGANIZATION, row.refs["organization"], self.organizations)
        stored = self.projects.get(row.hud_id)
        if organization is None:
            self._error(PROJECT, row, "OrganizationID", "unknown_reference")
        elif organization is _BROKEN:
            row.failed = True
        elif not self._mine(self._organization_agency(row.refs["organization"])) or (
            stored is not None and not self._mine(stored.organization.agency_id)
        ):
            self._skip(PROJECT, row, "organization_of_another_agency")
        elif organization is _GONE:
            self._skip(PROJECT, row, "references_deleted_row")
        elif row.deleted:
            self._skip(PROJECT, row, "deleted_in_hmis")

    def _resolve_client(self, row: _Row) -> None:
        stored = self.clients.get(row.hud_id)
        if stored is None:
            if row.deleted:
                self._skip(CLIENT, row, "deleted_in_hmis")
        elif stored.owning_agency_id != self.agency.id:
            self._skip(CLIENT, row, "owned_by_another_agency")
        elif row.deleted:
            pass  # soft-deleted when written
        elif stored.deleted_at is not None:
            self._skip(CLIENT, row, "deleted_in_portal")
        elif (
            stored.hud_date_updated is not None
            and row.hud_updated is not None
            and row.hud_updated < stored.hud_date_updated
        ):
            self._skip(CLIENT, row, "older_than_stored")

    def _resolve_enrollment(self, row: _Row) -> None:
        client = self._after(CLIENT, row.refs["client"], self.clients)
        project = self._after(PROJECT, row.refs["project"], self.projects)
        stored = self.enrollments.get(row.hud_id)
        if client is None:
            self._error(ENROLLMENT, row, "PersonalID", "unknown_reference")
        if project is None:
            self._error(ENROLLMENT, row, "ProjectID", "unknown_reference")
        if row.failed or _BROKEN in (client, project):
            row.failed = True
        elif not self._mine(self._project_agency(row.refs["project"])) or (
            stored is not None and not self._mine(stored.project.organization.agency_id)
        ):
            self._skip(ENROLLMENT, row, "organization_of_another_agency")
        elif _GONE in (client, project):
            self._skip(ENROLLMENT, row, "references_deleted_row")
        elif row.deleted:
            self._skip(ENROLLMENT, row, "deleted_in_hmis")

    def _resolve_exit(self, row: _Row) -> None:
        enrollment_id = row.refs["enrollment"]
        enrollment = self._after(ENROLLMENT, enrollment_id, self.enrollments)
        if enrollment is None:
            self._error(EXIT, row, "EnrollmentID", "unknown_reference")
            return
        if enrollment is _BROKEN:
            row.failed = True
            return
        # The enrollment as it will be: the file's row when it is written, else the stored one.
        file_row = self.rows[ENROLLMENT].get(enrollment_id)
        if file_row is not None and (file_row.skip is None or enrollment is _GONE):
            person, entry = file_row.refs["client"], file_row.values["entry_date"]
            agency_id = self._project_agency(file_row.refs["project"])
        else:
            person, entry = self.enrollment_person[enrollment_id], enrollment.entry_date
            agency_id = enrollment.project.organization.agency_id
        if row.refs["client"] != person:
            self._error(EXIT, row, "PersonalID", "personal_id_mismatch")
        elif row.values["exit_date"] < entry:
            self._error(EXIT, row, "ExitDate", "before_entry_date")
        elif not self._mine(agency_id):
            self._skip(EXIT, row, "organization_of_another_agency")
        elif enrollment is _GONE:
            self._skip(EXIT, row, "references_deleted_row")
        elif row.deleted and (
            enrollment is _NEW
            or enrollment.hud_exit_id != row.hud_id
            or enrollment_id in self.live_exits
        ):
            self._skip(EXIT, row, "deleted_in_hmis")

    # -- phase 2: write ------------------------------------------------------------------

    def write(self) -> None:
        now = clock.now()
        session = dbs()
        self._write_organizations(now)
        session.flush()  # ids for the projects
        self._write_projects(now)
        self._write_clients(now)
        session.flush()  # ids for the enrollments
        self._write_enrollments(now)
        self._write_exits(now)
        session.flush()

    def _to_write(self, name: str) -> Iterator[_Row]:
        return (row for row in self.rows[name].values() if row.skip is None and not row.failed)

    def _count(self, name: str, created: bool, changed: bool) -> None:
        report = self.reports[name]
        if created:
            report.imported += 1
        elif changed:
            report.updated += 1
        else:
            report.unchanged += 1

    def _write_organizations(self, now: datetime) -> None:
        for row in self._to_write(ORGANIZATION):
            organization = self.organizations.get(row.hud_id)
            created = organization is None
            if organization is None:
                organization = self.organizations[row.hud_id] = Organization(
                    hud_organization_id=row.hud_id
                )
                dbs().add(organization)
            # New and unmapped organizations become the importing agency's.
            values = {**row.values, "agency_id": organization.agency_id or self.agency.id}
            changed = _assign(organization, values, created=created)
            if changed:
                organization.imported_at = now
            self._count(ORGANIZATION, created, changed)

    def _write_projects(self, now: datetime) -> None:
        for row in self._to_write(PROJECT):
            organization = self.organizations[row.refs["organization"]]
            project = self.projects.get(row.hud_id)
            created = project is None
            if project is None:
                project = self.projects[row.hud_id] = Project(hud_project_id=row.hud_id)
                dbs().add(project)
            changed = _assign(project, row.values, created=created)
            if project.organization_id != organization.id:
                project.organization = organization
                changed = True
            if changed:
                project.imported_at = now
            self._count(PROJECT, created, changed)

    def _write_clients(self, now: datetime) -> None:
        for row in self._to_write(CLIENT):
            client = self.clients.get(row.hud_id)
            if row.deleted:  # stored (a new one was skipped): soft-delete it
                changed = client.deleted_at is None
                if changed:
                    client.mark_deleted(now)
                self._count(CLIENT, False, changed)
                continue
            created = client is None
            if client is None:
                client = self.clients[row.hud_id] = Client(
                    personal_id=row.hud_id,
                    owning_agency_id=self.agency.id,
                    source="hmis_import",
                )
                dbs().add(client)
            values = {k: v for k, v in row.values.items() if k != "ssn"}
            values["hud_date_updated"] = row.hud_updated
            changed = _assign(client, values, created=created)
            ssn_value = row.values["ssn"]
            stored = crypto.decrypt_text(client.ssn_encrypted) if client.ssn_encrypted else None
            if created or stored != ssn_value:
                client.ssn_encrypted = crypto.encrypt_text(ssn_value) if ssn_value else None
                last = last_four(ssn_value)
                client.ssn_last4 = last if last and last.isdigit() else None
                changed = True
            if changed:
                client.imported_at = now
            self._count(CLIENT, created, changed)

    def _write_enrollments(self, now: datetime) -> None:
        for row in self._to_write(ENROLLMENT):
            enrollment = self.enrollments.get(row.hud_id)
            created = enrollment is None
            if enrollment is None:
                enrollment = self.enrollments[row.hud_id] = Enrollment(hud_enrollment_id=row.hud_id)
                dbs().add(enrollment)
            values = {
                **row.values,
                "client_id": self.clients[row.refs["client"]].id,
                "project_id": self.projects[row.refs["project"]].id,
            }
            if created:  # the exit, if any, comes from Exit.csv
                values.update(hud_exit_id=None, exit_date=None, destination=None)
            changed = _assign(enrollment, values, created=created)
            if changed:
                enrollment.imported_at = now
            self._count(ENROLLMENT, created, changed)

    def _write_exits(self, now: datetime) -> None:
        for row in self._to_write(EXIT):
            enrollment = self.enrollments[row.refs["enrollment"]]
            if row.deleted:  # the exit the enrollment carries was deleted: reopen it
                values = {"hud_exit_id": None, "exit_date": None, "destination": None}
            else:
                values = row.values
            created = not row.deleted and enrollment.hud_exit_id is None
            changed = _assign(enrollment, values)
            if changed:
                enrollment.imported_at = now
            self._count(EXIT, created, changed)


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


def _ids(rows: Mapping[str, _Row], referring: Mapping[str, _Row], ref: str) -> set[str]:
    """The ids of a file's rows and the ids other rows point at."""
    return set(rows) | {row.refs[ref] for row in referring.values() if row.refs[ref]}


def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), _LOAD_CHUNK):
        yield ordered[start : start + _LOAD_CHUNK]
