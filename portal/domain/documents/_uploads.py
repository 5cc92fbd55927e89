"""Documents on each side: the client's (their own, their open requests) and staff's (a
client's documents, uploads to a record, requests for documents)."""

from __future__ import annotations

from typing import BinaryIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.domain import texting
from portal.domain.core import audit, clock
from portal.domain.core.errors import DomainError, Forbidden, NotFound
from portal.domain.core.roles import Capability
from portal.domain.core.session import dbs
from portal.domain.core.statuses import DocumentReview, ScanStatus, TaskStatus
from portal.domain.core.validation import clean_text, parse_uuid
from portal.domain.documents._pipeline import _save, clean_category
from portal.domain.documents._review import _to_review
from portal.domain.models import (
    Client,
    ClientAccount,
    ClientTask,
    Document,
)
from portal.domain.records.access_policy import can, client_of, visible_clients
from portal.domain.records.coordinated_entry import record_contact

# --- the client side ---------------------------------------------------------------------------


def client_scope(client: Client):
    """What a client sees of their documents: what they sent, and what staff chose to share."""
    return select(Document).where(
        Document.client_id == client.id,
        Document.uploaded_by_account_id.is_not(None) | Document.shown_to_client.is_(True),
    )


def record_scope(client: Client):
    return select(Document).where(Document.client_id == client.id)


def open_document_tasks(client: Client) -> list[ClientTask]:
    return list(
        dbs().scalars(
            select(ClientTask)
            .where(
                ClientTask.client_id == client.id,
                ClientTask.kind == "document",
                ClientTask.status == TaskStatus.OPEN,
            )
            .order_by(ClientTask.due_on.is_(None), ClientTask.due_on, ClientTask.id)
        )
    )


NO_REQUEST = "none"  # the client said an upload answers none of their open requests


def answered_request(client: Client, task_id, category: str | None) -> ClientTask | None:
    """The open document request an upload answers: the one the client came from or chose;
    with no choice, the only open request for this kind of document (two or more: the client
    is asked which); none when they said it answers none."""
    if task_id == NO_REQUEST:
        return None
    if task_id:
        return open_task(client, task_id)
    same_kind = [t for t in open_document_tasks(client) if category and t.category == category]
    if len(same_kind) > 1:
        raise DomainError(
            _l("Your care team asked for more than one of these. Choose which one this is."),
            field="task",
        )
    return same_kind[0] if same_kind else None


def open_task(client: Client, task_id) -> ClientTask | None:
    """The client's open document request with this public id (else None)."""
    if not task_id:
        return None
    task = dbs().scalar(
        select(ClientTask).where(
            ClientTask.public_id == parse_uuid(task_id),
            ClientTask.client_id == client.id,
            ClientTask.kind == "document",
        )
    )
    return task if task is not None and task.status == TaskStatus.OPEN else None


def client_upload(
    account: ClientAccount,
    *,
    stream: BinaryIO,
    filename: str | None,
    category: str | None,
    title: str | None,
    key: str | None,
    task_id=None,
) -> Document:

    client = client_of(account)
    task = answered_request(client, task_id, category)
    if task is not None and not category:
        category = task.category
    document, new = _save(
        client,
        stream=stream,
        filename=filename,
        category=category,
        title=title or (task.title if task is not None else None),
        key=key,
        agency_id=task.agency_id if task is not None else client.owning_agency_id,
        uploaded_by={"uploaded_by_account_id": account.id},
        task=task,
    )
    if not new:
        return document
    if task is not None:
        task.status = TaskStatus.DONE
        task.done_at = clock.now()
        audit.record(
            "client_task.done",
            client,
            actor=account,
            details={"kind": "document", "task": str(task.public_id)},
        )
    if document.scan_status == ScanStatus.UNSCANNED:
        _to_review(document, account)
    record_contact(client, "portal_update")
    audit.record(
        "document.uploaded",
        client,
        actor=account,
        details={
            "document": str(document.public_id),
            "category": document.category,
            "type": document.content_type,
            "size": document.size,
            "by": "client",
        },
    )
    return document


def client_documents(account) -> list[Document]:

    return list(
        dbs().scalars(
            client_scope(client_of(account)).order_by(
                Document.created_at.desc(), Document.id.desc()
            )
        )
    )


def client_document(account, public_id) -> Document:

    document = dbs().scalar(
        client_scope(client_of(account)).where(Document.public_id == parse_uuid(public_id))
    )
    if document is None:
        raise NotFound(("document", str(public_id)[:64]))
    return document


def client_state(document: Document) -> str:
    if document.scan_status == ScanStatus.INFECTED:
        return "quarantined"
    if document.scan_status == ScanStatus.MISSING:
        return "missing"
    if document.scan_status == ScanStatus.PENDING:
        return "checking"
    return document.review_status


# --- the staff side ----------------------------------------------------------------------------


def staff_documents(actor, client: Client) -> list[Document]:
    if not can(actor, "documents", client):
        raise Forbidden(Capability.VIEW_CLIENTS)
    return list(
        dbs().scalars(record_scope(client).order_by(Document.created_at.desc(), Document.id.desc()))
    )


def staff_document(actor, public_id) -> Document:
    """A document the actor may see: one of their agency's clients (owning agency only)."""

    visible = visible_clients(actor).with_only_columns(Client.id)
    document = dbs().scalar(
        select(Document).where(
            Document.public_id == parse_uuid(public_id), Document.client_id.in_(visible)
        )
    )
    if document is None or not can(actor, "documents", document.client):
        raise NotFound(("document", str(public_id)[:64]))
    return document


def staff_upload(
    actor,
    client: Client,
    *,
    stream: BinaryIO,
    filename: str | None,
    category: str | None,
    title: str | None,
    key: str | None,
    shown_to_client: bool = False,
) -> Document:
    if not can(actor, "edit", client):
        raise Forbidden(Capability.EDIT_CLIENTS)
    document, new = _save(
        client,
        stream=stream,
        filename=filename,
        category=category,
        title=title,
        key=key,
        agency_id=actor.agency_id,
        uploaded_by={"uploaded_by_staff_id": actor.id},
    )
    if new:
        document.review_status = DocumentReview.ACCEPTED  # staff put it there themselves
        document.shown_to_client = bool(shown_to_client)
        audit.record(
            "document.uploaded",
            client,
            details={
                "document": str(document.public_id),
                "category": document.category,
                "type": document.content_type,
                "size": document.size,
                "by": "staff",
            },
        )
    return document


def _open_request(client: Client, category: str, title: str) -> ClientTask | None:
    return dbs().scalar(
        select(ClientTask).where(
            ClientTask.client_id == client.id,
            ClientTask.kind == "document",
            ClientTask.status == TaskStatus.OPEN,
            ClientTask.category == category,
            ClientTask.title == title,
        )
    )


def request_documents(
    actor,
    clients: list[Client],
    *,
    category: str | None,
    title: str | None,
    due_on,
    note: str | None,
) -> list[ClientTask]:
    """Ask one or several clients for a document; it shows on their dashboard."""
    errors = []
    chosen_category = chosen_title = ""
    try:
        chosen_category = clean_category(category)
    except DomainError as refusal:
        errors.append(refusal)
    try:
        chosen_title = clean_text(
            title,
            field="title",
            max_length=120,
            message=_l("Say which document, for example: pay stubs from October."),
        )
    except DomainError as refusal:
        errors.append(refusal)
    try:
        note = clean_text(note, field="note", max_length=500, required=False) or None
    except DomainError as refusal:
        errors.append(refusal)
    if due_on is not None and due_on < actor.agency.today():
        errors.append(DomainError(_l("Choose a date from today on."), field="due_on"))
    if errors:
        raise DomainError.all_of(errors)
    if not clients:
        raise DomainError(_l("Nobody matches. Change the filters."))
    tasks = []
    for client in clients:
        if not can(actor, "edit", client):
            continue  # access changed since the list was shown
        asked = _open_request(client, chosen_category, chosen_title)
        if asked is not None:
            tasks.append(asked)
            continue  # asked already (or the same form sent twice): one request stands
        task = ClientTask(
            client_id=client.id,
            agency_id=actor.agency_id,
            kind="document",
            category=chosen_category,
            title=chosen_title,
            note=note,
            due_on=due_on,
            created_by_id=actor.id,
        )
        dbs().add(task)
        dbs().flush()
        audit.record(
            "client_task.created",
            client,
            details={"kind": "document", "category": chosen_category, "task": str(task.public_id)},
        )
        texting.notify_record(
            client.id,
            "documents",
            mail_template="document_request",
            params={"task": str(task.public_id)},
            agency_id=task.agency_id,
        )
        tasks.append(task)
    if not tasks:
        raise Forbidden(Capability.EDIT_CLIENTS)
    return tasks
