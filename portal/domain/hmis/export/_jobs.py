"""The export's daily jobs: files past their days forgotten; and, when HMIS_EXPORT_DROP names
an S3 prefix, each active agency's export made and put there for the HMIS to pick up."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update

from portal.domain.core import clock, jobs
from portal.domain.core.errors import DomainError
from portal.domain.core.session import dbs, will_write
from portal.domain.hmis.export._make import content_of, expire_exports, make_export
from portal.domain.models import Agency, HmisExport
from portal.integrations import s3_drop
from portal.settings import current as current_settings

log = logging.getLogger("portal.hmis")


@jobs.handler("hmis.exports_expire", every=timedelta(days=1))
def expire_job(payload: dict) -> None:
    forgotten = expire_exports()
    if forgotten:
        log.info("hmis exports past their days: %d files forgotten", forgotten)


def _drop_name(export: HmisExport) -> str:
    return f"{export.hud_export_id}.zip"


@jobs.handler("hmis.exports_drop", every=timedelta(days=1), reads_first=True)
def drop_job(payload: dict) -> None:
    """Make each active agency's export (committed first), then put every export made for
    the drop and not yet put. A failed put leaves it for the next run: at least once, the
    same bytes under the same name (the HMIS's import reads a row id once)."""
    settings = current_settings()
    if not settings.hmis_export_drop:
        return
    agencies = list(dbs().scalars(select(Agency.id).where(Agency.is_active.is_(True))))
    for agency_id in agencies:
        will_write()
        agency = dbs().get(Agency, agency_id)
        if agency is None:
            continue
        try:
            make_export(agency, None, through="job")
        except DomainError:
            dbs().rollback()  # nothing new for this agency
            continue
        dbs().commit()
    pending = list(
        dbs().scalars(
            select(HmisExport.id).where(
                HmisExport.made_through == "job",
                HmisExport.dropped_at.is_(None),
                HmisExport.content_encrypted.is_not(None),
            )
        )
    )
    for export_id in pending:
        export = dbs().get(HmisExport, export_id)
        if export is None:
            continue
        name, content = _drop_name(export), content_of(export, None, through="job")
        dbs().commit()  # the audit event; the put is outside any transaction
        s3_drop.put_bytes(settings, settings.hmis_export_drop, name, content)
        will_write()
        dbs().execute(
            update(HmisExport).where(HmisExport.id == export_id).values(dropped_at=clock.now())
        )
        dbs().commit()
