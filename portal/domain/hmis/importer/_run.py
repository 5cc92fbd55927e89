"""An import, all or nothing: read, parse and check, resolve against what is stored, write."""

from __future__ import annotations

from typing import Any

from portal.domain.core import audit
from portal.domain.core.session import dbs
from portal.domain.hmis.importer._codes import _ID_COLUMNS, COLUMNS, EXPORT, HANDLED_FILES
from portal.domain.hmis.importer._plan import _Plan
from portal.domain.hmis.importer._reading import (
    _export_files,
    _pick_files,
    _read_csv,
    _read_export,
    _require_files,
)
from portal.domain.hmis.importer._report import FileReport, ImportReport, _Fatal
from portal.domain.models import Agency


def import_export(source: Any, *, agency: Agency, actor: Any = None) -> ImportReport:
    """Import the export in `source` (a folder, a zip file's path, or a binary file object
    holding a zip, such as an upload) for `agency`. Flushes; the caller commits."""
    report = ImportReport()
    try:
        with _export_files(source) as available:
            files = _pick_files(available, report)
            fiscal_year, export_id = _read_export(files[EXPORT], report)
            _require_files(files, report.directive)
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
            directive=report.directive,
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
                "directive": report.directive,
                **{name: file_report.counts() for name, file_report in report.files.items()},
                "ignored_files": len(report.ignored_files),
            },
        )
    return report
