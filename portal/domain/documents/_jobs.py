"""The worker's jobs: scan each stored file, rescan what waits, sweep orphaned objects."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.domain.core import audit, clock, jobs
from portal.domain.core.roles import Capability, roles_with
from portal.domain.core.session import after_commit, dbs, will_write
from portal.domain.core.statuses import DocumentReview, ScanStatus
from portal.domain.documents._pipeline import ORPHAN_AGE, _store
from portal.domain.documents._review import _reopen_task, _to_review
from portal.domain.messaging import notifications
from portal.domain.models import (
    CareTeamMember,
    ClientAccount,
    Document,
    StaffUser,
)
from portal.settings import current as current_settings

log = logging.getLogger("portal.documents")

# What the staff notices this module sends say (declared in portal.domain.features).
NOTICES = {
    "document_quarantined": _l(
        "A file on a client's record failed the malware check. It is quarantined: nobody can "
        "open it. Ask for the document another way."
    ),
    "document_missing": _l(
        "A file on a client's record is missing from document storage. Ask for it again and tell "
        "whoever runs the storage."
    ),
}

# --- worker jobs -------------------------------------------------------------------------------


@jobs.handler("documents.scan", max_attempts=12, reads_first=True)
def scan_job(payload: dict) -> None:
    """Scan one stored file. A scanner that cannot be reached raises: the job retries with
    backoff and the file stays pending (never served); a sweep re-queues what is left. The
    file streams to clamd before anything is written (SQLite's write lock is not held)."""
    from portal.integrations import clamd
    from portal.integrations.storage import ObjectMissing

    document = dbs().get(Document, payload["document"])
    if document is None or document.scan_status not in (ScanStatus.PENDING, ScanStatus.UNSCANNED):
        return
    address = current_settings().clamd_address
    if not address:
        raise clamd.ScannerUnavailable("no scanner configured")
    try:
        stream = _store().open(document.storage_key)
    except ObjectMissing:
        mark_missing(document)
        return
    try:
        result = clamd.scan(address, stream)
    finally:
        stream.close()
    will_write()
    document.scanned_at = clock.now()
    details = {"document": str(document.public_id)}
    if result.clean:
        document.scan_status = ScanStatus.CLEAN
        audit.record("document.scanned", document.client, details={**details, "result": "clean"})
        if (
            document.uploaded_by_account_id is not None
            and document.review_status == DocumentReview.WAITING
        ):
            _to_review(document, dbs().get(ClientAccount, document.uploaded_by_account_id))
        return
    document.scan_status = ScanStatus.INFECTED
    document.scan_signature = (result.signature or "unknown")[:120]
    audit.record(
        "document.quarantined",
        document.client,
        details={**details, "signature": document.scan_signature},
    )
    _reopen_task(document)
    for staff in _people_to_tell(document):
        notifications.notify(
            staff,
            "document_quarantined",
            params={"client": str(document.client.public_id)},
        )


def mark_missing(document: Document) -> None:
    """The row's object is gone from the store (restored from an old backup, deleted by hand):
    never served, audited, the care team told, the client asked again."""
    import logging

    logging.getLogger("portal.documents").error(
        "stored object missing", extra={"document": str(document.public_id)}
    )
    if document.scan_status == ScanStatus.MISSING:
        return
    will_write()
    document.scan_status = ScanStatus.MISSING
    audit.record("document.missing", document.client, details={"document": str(document.public_id)})
    _reopen_task(document)
    for staff in _people_to_tell(document):
        notifications.notify(
            staff, "document_missing", params={"client": str(document.client.public_id)}
        )


def _care_team(document: Document):

    return list(
        dbs().scalars(
            select(StaffUser)
            .join(CareTeamMember, CareTeamMember.staff_id == StaffUser.id)
            .where(
                CareTeamMember.client_id == document.client_id,
                StaffUser.agency_id == document.agency_id,
                StaffUser.is_active.is_(True),
            )
        )
    )


def _people_to_tell(document: Document):
    """The client's care team in the document's agency; without one, its reviewers."""

    team = _care_team(document)
    if team:
        return team
    return list(
        dbs().scalars(
            select(StaffUser).where(
                StaffUser.agency_id == document.agency_id,
                StaffUser.is_active.is_(True),
                StaffUser.role.in_([str(r) for r in roles_with(Capability.REVIEW_CHANGES)]),
            )
        )
    )


@jobs.handler("documents.rescan_pending", every=timedelta(minutes=30))
def rescan_pending_job(payload: dict) -> None:
    """Files still pending (the scanner was down past the scan job's retries) are tried again."""
    if not current_settings().clamd_address:
        return
    waiting = Document.scan_status.in_(
        (ScanStatus.PENDING, ScanStatus.UNSCANNED)
    )  # unscanned: before a scanner
    for document_id in dbs().scalars(select(Document.id).where(waiting).limit(500)):
        jobs.enqueue("documents.scan", {"document": document_id}, unique_key=f"scan:{document_id}")


def delete_stored_after_commit(keys: list[str]) -> None:
    """Delete these stored files once the transaction that deleted their rows commits (never
    before: a rollback must leave every row its file). A file that cannot be deleted then is an
    orphan, which `sweep_orphans` removes the next day."""
    if not keys:
        return

    def remove() -> None:
        store = _store()
        for key in keys:
            try:
                store.delete(key)
            except Exception as exc:  # the store is away: the sweeper's, tomorrow
                log.warning(
                    "a stored file was left to the sweeper", extra={"error": type(exc).__name__}
                )

    after_commit(remove)


def sweep_orphans() -> int:
    """Delete stored objects older than a day that no document row references (a crash between
    the PUT and the commit). Returns how many were deleted."""
    store = _store()
    removed = 0
    batch: list[str] = []

    def flush() -> int:
        known = set(
            dbs().scalars(select(Document.storage_key).where(Document.storage_key.in_(batch)))
        )
        gone = 0
        for key in batch:
            if key not in known:
                store.delete(key)
                gone += 1
        batch.clear()
        return gone

    for stored in store.older_than(clock.now() - ORPHAN_AGE):
        if not stored.key.startswith("documents/"):
            continue  # not ours: other objects in a shared bucket are left alone
        batch.append(stored.key)
        if len(batch) >= 500:
            removed += flush()
    if batch:
        removed += flush()
    if removed:
        audit.record(
            "documents.orphans_removed", ("storage", "documents"), details={"count": removed}
        )
    return removed


@jobs.handler("documents.sweep_orphans", every=timedelta(days=1), reads_first=True)
def sweep_job(payload: dict) -> None:
    sweep_orphans()
