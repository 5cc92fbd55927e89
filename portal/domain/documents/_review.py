"""The review queue's kind "document": accept, reject (the request reopens), describe."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.domain.core import audit
from portal.domain.core.session import dbs
from portal.domain.core.statuses import DocumentReview, TaskStatus
from portal.domain.core.validation import parse_uuid
from portal.domain.documents._pipeline import CATEGORIES, REJECT_REASONS
from portal.domain.models import (
    Client,
    ClientAccount,
    ClientTask,
    Document,
)
from portal.domain.selfservice import review

# --- review ------------------------------------------------------------------------------------


def _to_review(document: Document, account: ClientAccount | None) -> None:
    review.submit(
        account,
        document.client,
        "document",
        {"document": str(document.public_id)},
        agency_id=document.agency_id,
    )


def document_of_item(item) -> Document | None:
    key = review.payload_of(item).get("document")
    if not key:
        return None
    return dbs().scalar(
        select(Document).where(
            Document.public_id == parse_uuid(key), Document.client_id == item.client_id
        )
    )


def _accept(client: Client, payload: dict, item) -> None:
    document = document_of_item(item)
    if document is not None:
        document.review_status = DocumentReview.ACCEPTED
        audit.record("document.accepted", client, details={"document": str(document.public_id)})


def _reopen_task(document: Document) -> None:
    """The document that answered a request was not accepted: the request is open again."""
    if document.task_id is None:
        return
    task = dbs().get(ClientTask, document.task_id)
    if task is not None and task.status == TaskStatus.DONE:
        task.status = TaskStatus.OPEN
        task.done_at = None
        audit.record("client_task.reopened", document.client, details={"task": str(task.public_id)})


def _rejected(item, payload: dict) -> None:
    document = document_of_item(item)
    if document is not None:
        document.review_status = DocumentReview.REJECTED
        document.reject_reason = item.reject_reason
        document.reject_note = item.reject_note
        _reopen_task(document)
        audit.record(
            "document.rejected",
            item.client,
            details={"document": str(document.public_id), "reason": item.reject_reason},
        )


def _describe(payload: dict) -> list[tuple[object, str]]:
    key = payload.get("document")
    document = (
        dbs().scalar(select(Document).where(Document.public_id == parse_uuid(key))) if key else None
    )
    if document is None:
        return []
    lines = [(_l("Kind of document"), str(CATEGORIES.get(document.category, document.category)))]
    if document.title:
        lines.append((_l("Title"), document.title))
    lines.append((_l("File"), f"{document.file_name} · {document.size // 1024 + 1} KB"))
    return lines


REVIEW_KIND = review.ReviewKind(
    label=_l("Document"),
    apply=_accept,
    snapshot=lambda client: {},
    describe=_describe,
    changes_record=False,
    supersedes=False,
    reasons=REJECT_REASONS,
    on_reject=_rejected,
)
