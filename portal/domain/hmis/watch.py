"""The watched landing place (issue 21): the HMIS puts its exports (.zip) in a folder or an S3
prefix (HMIS_IMPORT_WATCH), and every 15 minutes the worker imports each one it has not seen
for the agency named in HMIS_IMPORT_WATCH_AGENCY.

- Once per content: a zip whose SHA-256 has a run recorded for that agency (ok or not) is
  not imported again, whatever its name, so a file dropped twice, or under two names, is
  imported once, and a failed one is not retried until its content changes. A file whose
  name, size and time match a run's is not even downloaded again.
- One watch at a time: the job is recurring, so the worker queue holds one run of it.
- Oldest first (by the time the file landed, then by name), so delta exports apply in order.
- One file per transaction: its import and its run are committed together; an import that is
  refused (a fatal code, or a row error) changes nothing and its run says why. An import that
  raises is recorded as failed too ("import_error"), unless the database itself failed (then
  the job retries later and nothing is recorded).
- Not configured (the default): the job does nothing. An agency name no agency has: logged,
  nothing imported. The landing place unreadable: the job fails and is retried with backoff;
  one file unreadable: logged and tried again next time.
- Logs carry counts and codes, never a file name or a value (R58).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import IO, Any

from sqlalchemy.exc import OperationalError

from portal.domain.accounts.agencies import agency_by_name
from portal.domain.core import jobs
from portal.domain.core.session import dbs, will_write
from portal.domain.hmis import runs
from portal.domain.hmis.importer import import_export
from portal.domain.models import Agency
from portal.integrations import hmis_landing
from portal.integrations.storage import StorageUnavailable
from portal.settings import current as current_settings

log = logging.getLogger("portal.hmis")


@jobs.handler("hmis.watch", every=timedelta(minutes=15), reads_first=True)
def watch_job(payload: dict) -> None:
    watch()


def watch() -> int:
    """Import each new zip of the landing place; returns how many runs it recorded."""
    settings = current_settings()
    location = settings.hmis_import_watch
    if not location:
        return 0
    agency = agency_by_name(settings.hmis_import_watch_agency)
    if agency is None:
        log.warning("hmis watch: no agency has the name HMIS_IMPORT_WATCH_AGENCY gives; skipped")
        return 0
    recorded = 0
    for landed in hmis_landing.list_zips(settings, location):
        seen = {"size": landed.size, "modified": landed.modified.isoformat()}
        if runs.landed_seen(agency, landed.name, seen):
            continue  # this very file has its run: not downloaded again
        try:
            copy, sha256 = hmis_landing.fetch(settings, location, landed)
        except StorageUnavailable:
            log.warning("hmis watch: a file could not be read; it is tried again next time")
            continue
        with copy:
            if runs.imported_before(agency, sha256):
                continue
            _import_one(agency, landed.name, copy, sha256, seen)
        recorded += 1
    return recorded


def _import_one(
    agency: Agency, name: str, content: IO[bytes], sha256: str, seen: dict[str, Any]
) -> None:
    will_write()
    try:
        report = import_export(content, agency=agency)
    except OperationalError:
        raise  # the database is locked or gone: the job is retried, nothing is recorded
    except Exception as exc:  # recorded, so the same content is not tried every 15 minutes
        dbs().rollback()
        log.error("hmis watch: the import failed", extra={"error": type(exc).__name__})
        run = runs.record_run(agency, "watch", name, sha256, runs.failed_report())
        run.report = {**run.report, "landed": seen}
    else:
        if not report.ok:
            dbs().rollback()  # all or nothing, whatever the import left pending
        run = runs.record_run(agency, "watch", name, sha256, report)
        run.report = {**run.report, "landed": seen}
        log.info(
            "hmis watch: imported" if report.ok else "hmis watch: refused",
            extra={"run": run.id, "fatal": report.fatal, **report.totals()},
        )
    dbs().commit()
