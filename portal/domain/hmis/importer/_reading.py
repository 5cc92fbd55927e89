"""Reading an export: a folder or a zip (bounded), the files picked, Export.csv, each CSV."""

from __future__ import annotations

import csv
import io
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

from portal.domain.hmis import hud_lists
from portal.domain.hmis.importer._codes import (
    _INTEGER,
    _VERSION,
    COLUMNS,
    DELTA_REFRESH,
    EXPORT,
    HANDLED_FILES,
    MAX_FILE_BYTES,
    REQUIRED_FILES,
)
from portal.domain.hmis.importer._report import FileReport, ImportReport, _Fatal

# --- reading the files -------------------------------------------------------------------

Opener = Callable[[], IO[bytes]]


def _opener(path: Path) -> Opener:
    return lambda: path.open("rb")


@contextmanager
def _export_files(source: Any) -> Iterator[list[tuple[str, Opener]]]:
    """Every file of the export as (name without folders, opener), from a folder or a zip."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            yield [(p.name, _opener(p)) for p in sorted(path.iterdir()) if p.is_file()]
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
    """The handled files by their HUD name (matched without regard to case). Export.csv must
    be there; whether Client.csv must be too, its ExportDirective says (`_require_files`)."""
    files: dict[str, Opener] = {}
    for name, opener in available:
        canonical = _CANONICAL.get(name.lower())
        if canonical is None:
            report.ignored_files.append(name)
        elif canonical in files:
            raise _Fatal("duplicate_file", canonical)
        else:
            files[canonical] = opener
    if EXPORT not in files:
        raise _Fatal("missing_file", EXPORT)
    return files


def _require_files(files: dict[str, Opener], directive: int | None) -> None:
    """A delta refresh needs only Export.csv; a full refresh (or an export that does not say)
    needs Client.csv too."""
    if directive == DELTA_REFRESH:
        return
    for name in REQUIRED_FILES:
        if name not in files:
            raise _Fatal("missing_file", name)


def _read_export(opener: Opener, report: ImportReport) -> tuple[int, str]:
    """(fiscal year of the layout, ExportID every row must carry); the directive goes on the
    report (None when Export.csv has no ExportDirective column, or leaves it blank)."""
    probe = FileReport(EXPORT)
    rows = _read_csv(opener, COLUMNS[EXPORT], probe, optional=("ExportDirective",)).rows
    if probe.errors or len(rows) != 1 or not rows[0][1]["ExportID"]:
        raise _Fatal("invalid_export_csv")
    cells = rows[0][1]
    match = _VERSION.fullmatch(cells["CSVVersion"])
    if match is None:
        raise _Fatal("unsupported_version")
    report.csv_version = cells["CSVVersion"]
    directive = cells["ExportDirective"]
    if directive:
        if not _INTEGER.fullmatch(directive) or int(directive) not in hud_lists.EXPORT_DIRECTIVE:
            raise _Fatal("invalid_export_directive")
        report.directive = int(directive)
    return int(match.group(1)), cells["ExportID"]


@dataclass
class _Table:
    """A file's data rows: (number, used cells stripped), 1 = the first data row."""

    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    readable: bool = True  # False: the file as a whole could not be read (row 0 error)
    broken_ids: set[str] = field(default_factory=set)  # ids on rows too short or too long


def _check_header(header: list[str], columns: tuple[str, ...], report: FileReport) -> None:
    if not header:
        report.errors.append((0, "", "empty_file"))
    for name in columns if header else ():
        if header.count(name) > 1:
            report.errors.append((0, name, "duplicate_column"))
        elif name not in header:
            report.errors.append((0, name, "missing_column"))


def _read_csv(
    opener: Opener,
    columns: tuple[str, ...],
    report: FileReport,
    id_column: str = "",
    *,
    optional: tuple[str, ...] = (),
) -> _Table:
    """The file's rows, the used `columns` of each; an `optional` column is read when the
    header has it (once), else every row's value for it is empty."""
    table = _Table()
    number = 0
    try:
        with opener() as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
            reader = csv.reader(text)
            header = [name.strip() for name in next(reader, [])]
            _check_header(header, columns, report)
            if report.errors:
                return _Table(readable=False)
            index = {name: header.index(name) for name in columns}
            present = {name: header.index(name) for name in optional if header.count(name) == 1}
            index.update(present)
            absent = dict.fromkeys(set(optional) - present.keys(), "")
            for number, cells in enumerate(reader, start=1):
                if not cells:
                    continue  # a blank line
                if len(cells) != len(header):
                    report.errors.append((number, "", "wrong_field_count"))
                    if id_column and index[id_column] < len(cells):
                        table.broken_ids.add(cells[index[id_column]].strip())
                    continue
                row = {name: cells[i].strip() for name, i in index.items()}
                table.rows.append((number, {**row, **absent}))
    except UnicodeDecodeError:
        report.errors.append((0, "", "not_utf8"))
        return _Table(readable=False)
    except csv.Error:
        report.errors.append((number + 1, "", "unreadable_csv"))
        return _Table(readable=False)
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise _Fatal("unreadable_zip") from None  # a damaged member
    return table
