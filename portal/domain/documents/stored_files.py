"""Every stored file a row points to, checked against the document store (R70): after a
restore, and whenever an operator wants to know the files are whole.

The rows that point into the store:
- `documents.storage_key` with its `sha256` and `size`: uploads, staff uploads and the signed
  PDFs the portal makes (previews are rendered on request, never stored);
- `signatures.pdf_document_id` / `pdf_sha256`: the sealed PDF of a signature, checked with
  `esign.verify` (the signed text re-hashed, the stored bytes, the digital seal);
- `consent_revocations.pdf_document_id` / `pdf_sha256`: the sealed PDF of a revocation
  (`esign.verify_revocation`).

A document marked lost (`scan_status = "missing"`, issue 7) whose object is gone is counted,
not a problem: the portal already says so to the client. Problems name rows by public id and
objects by key, never a name or a file's content.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select

from portal.domain import esign
from portal.domain.core.errors import DomainError
from portal.domain.core.session import dbs
from portal.domain.core.statuses import ScanStatus
from portal.domain.models import ConsentRevocation, Document, Signature

CHUNK = 1024 * 1024
BATCH = 500


@dataclass
class Report:
    documents: int = 0
    bytes: int = 0
    known_lost: int = 0
    signatures: int = 0
    revocations: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _stored(store, key: str) -> tuple[int, str] | str:
    """(size, SHA-256) of the stored object, or why it could not be read."""
    from portal.integrations.storage import ObjectMissing, StorageUnavailable

    try:
        stream = store.open(key)
    except ObjectMissing:
        return "missing from the store"
    except StorageUnavailable:
        return "cannot be read from the store"
    digest, size = hashlib.sha256(), 0
    try:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    except StorageUnavailable:
        return "cannot be read from the store (cut off or its checksum failed)"
    finally:
        stream.close()
    return size, digest.hexdigest()


def _check_documents(store, report: Report) -> None:
    columns = (
        Document.id,
        Document.public_id,
        Document.storage_key,
        Document.sha256,
        Document.size,
        Document.scan_status,
    )
    last = 0
    while True:  # keyset pages of plain rows: memory stays flat however many documents
        rows = dbs().execute(
            select(*columns).where(Document.id > last).order_by(Document.id).limit(BATCH)
        )
        page = rows.all()
        if not page:
            return
        for row in page:
            report.documents += 1
            found = _stored(store, row.storage_key)
            where = f"document {row.public_id} ({row.storage_key})"
            if isinstance(found, str):
                if found.startswith(ScanStatus.MISSING) and row.scan_status == ScanStatus.MISSING:
                    report.known_lost += 1
                else:
                    report.problems.append(f"{where}: {found}")
                continue
            size, sha256 = found
            report.bytes += size
            if sha256 != row.sha256:
                report.problems.append(f"{where}: SHA-256 differs from the row")
            elif size != row.size:
                report.problems.append(f"{where}: size differs from the row")
        last = page[-1].id


def _check_sealed(model, verify, name: str, report: Report) -> int:
    from portal.integrations.storage import StorageUnavailable

    checked = 0
    ids = list(dbs().scalars(select(model.id).order_by(model.id)))
    for start in range(0, len(ids), BATCH):
        for row in dbs().scalars(select(model).where(model.id.in_(ids[start : start + BATCH]))):
            checked += 1
            try:
                problems = verify(row)
            except DomainError:  # production without a seal certificate in INSTANCE_PATH/esign
                problems = ["the seal certificate is not set up here"]
            except StorageUnavailable:
                problems = ["the signed PDF cannot be read from the store"]
            report.problems += [f"{name} {row.public_id}: {problem}" for problem in problems]
    return checked


def check(store=None) -> Report:
    """Every row's object is in `store` (the app's by default) with the SHA-256 and size on
    record, and every sealed PDF still verifies. Reads only."""
    from portal.integrations.storage import get_store

    store = store if store is not None else get_store()
    report = Report()
    _check_documents(store, report)
    report.signatures = _check_sealed(Signature, esign.verify, "signature", report)
    report.revocations = _check_sealed(
        ConsentRevocation, esign.verify_revocation, "revocation", report
    )
    return report
