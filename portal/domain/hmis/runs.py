"""A record of every HMIS import (issue 21): uploaded by staff, found in the watched landing
place, or run by the `flask import-hmis` command; ok or not, with its report.

The stored report holds what the import's report holds, minus anything from the files'
cells: the CSV version, the directive, the fatal code, and per file the counts and the
(row, column, code) of each error and warning and the (row, code) of each skipped row, at most
`LISTED` of each (the counts say how many there were). File names the export holds but the
import does not read are counted, not named. Never a value (R58).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from portal.domain.core.errors import Forbidden
from portal.domain.core.roles import Capability, has_capability
from portal.domain.core.session import dbs
from portal.domain.core.validation import clean_text
from portal.domain.hmis.importer import ImportReport
from portal.domain.models import Agency, HmisImportRun

THROUGH = ("upload", "watch", "command")
LISTED = 200  # errors, warnings and skipped rows kept per file
# A run whose import raised (the watched landing place records it, so it is not retried).
IMPORT_ERROR = "import_error"
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class RunSummary:
    """One run as the import page lists it."""

    created_at: datetime
    through: str
    source_name: str
    ok: bool
    fatal: str | None
    totals: dict[str, int]  # imported, updated, unchanged over every file


def report_json(report: ImportReport) -> dict[str, Any]:
    """What of an import's report is stored: codes, row numbers, column names, counts."""
    return {
        "csv_version": report.csv_version,
        "directive": report.directive,
        "fatal": report.fatal,
        "fatal_file": report.fatal_file,
        "ignored_files": len(report.ignored_files),
        "files": {
            name: {
                **file.counts(),
                "errors": len(file.errors),
                "error_rows": [list(error) for error in file.errors[:LISTED]],
                "warning_rows": [list(warning) for warning in file.warnings[:LISTED]],
                "skipped_rows": [list(skipped) for skipped in file.skipped[:LISTED]],
            }
            for name, file in report.files.items()
        },
    }


def failed_report(code: str = IMPORT_ERROR) -> dict[str, Any]:
    """The stored report of a run that ended without a report of its own."""
    return {"csv_version": "", "directive": None, "fatal": code, "fatal_file": None, "files": {}}


def record_run(
    agency: Agency,
    through: str,
    source_name: str,
    sha256: str,
    report: ImportReport | dict[str, Any],
    actor: Any = None,
) -> HmisImportRun:
    """Store one run (flushed; the caller commits). `report` is the import's report, or a
    stored report already made (`failed_report`)."""
    if through not in THROUGH:
        raise ValueError(f"unknown way in: {through!r}")
    stored = report if isinstance(report, dict) else report_json(report)
    ok = report.ok if isinstance(report, ImportReport) else False
    name = clean_text(
        Path(source_name or "").name, field="source_name", max_length=100_000, required=False
    )
    run = HmisImportRun(
        agency_id=agency.id,
        through=through,
        source_name=name[:255] or "-",
        sha256=sha256,
        ok=ok,
        report=stored,
        actor_id=getattr(actor, "id", None),
    )
    dbs().add(run)
    dbs().flush()
    return run


def landed_seen(agency: Agency, name: str, landed: dict[str, Any]) -> bool:
    """Whether the watch recorded a run of a file of this name, size and time: it is not
    downloaded again to be hashed (a landing place keeps its files; most are old)."""
    query = select(HmisImportRun.report).where(
        HmisImportRun.agency_id == agency.id,
        HmisImportRun.through == "watch",
        HmisImportRun.source_name == name[:255],
    )
    return any(report.get("landed") == landed for report in dbs().scalars(query))


def imported_before(agency: Agency, sha256: str) -> bool:
    """Whether a run of this content (ok or not) is recorded for the agency."""
    query = select(HmisImportRun.id).where(
        HmisImportRun.agency_id == agency.id, HmisImportRun.sha256 == sha256
    )
    return dbs().scalar(query.limit(1)) is not None


def recent_runs(actor: Any, limit: int = 20) -> list[RunSummary]:
    """The actor's agency's runs, newest first (staff who may import, IMPORT_HMIS)."""
    if not has_capability(actor.role, Capability.IMPORT_HMIS) or not actor.agency_id:
        raise Forbidden(Capability.IMPORT_HMIS)
    runs = dbs().scalars(
        select(HmisImportRun)
        .where(HmisImportRun.agency_id == actor.agency_id)
        .order_by(HmisImportRun.created_at.desc(), HmisImportRun.id.desc())
        .limit(limit)
    )
    return [_summary(run) for run in runs]


def _summary(run: HmisImportRun) -> RunSummary:
    files = (run.report or {}).get("files", {}).values()
    totals = {
        key: sum(int(file.get(key, 0)) for file in files)
        for key in ("imported", "updated", "unchanged")
    }
    return RunSummary(
        run.created_at, run.through, run.source_name, run.ok, run.report.get("fatal"), totals
    )


def sha256_of(source: Any) -> str:
    """The SHA-256 (hex) of what an import reads: a zip file's bytes, a binary file object's
    (read, then put back at its start), or a folder's files (each one's name, size and bytes,
    by name)."""
    digest = hashlib.sha256()
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            for file in sorted(p for p in path.iterdir() if p.is_file()):
                digest.update(f"{file.name}\0{file.stat().st_size}\0".encode())
                with file.open("rb") as stream:
                    _feed(digest, _chunks(stream))
            return digest.hexdigest()
        with path.open("rb") as stream:
            _feed(digest, _chunks(stream))
        return digest.hexdigest()
    stream = getattr(source, "stream", source)  # an upload keeps its file in `stream`
    start = stream.tell()
    _feed(digest, _chunks(stream))
    stream.seek(start)
    return digest.hexdigest()


def _chunks(stream: Any) -> Iterable[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk


def _feed(digest: Any, chunks: Iterable[bytes]) -> None:
    for chunk in chunks:
        digest.update(chunk)
