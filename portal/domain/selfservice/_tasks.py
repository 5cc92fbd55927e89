"""Staff requests to the client: update your details or your location, by a date."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from portal.domain import texting
from portal.domain.core import audit, clock
from portal.domain.core.errors import DomainError, Forbidden
from portal.domain.core.roles import Capability
from portal.domain.core.session import changed, dbs
from portal.domain.core.statuses import TaskStatus
from portal.domain.core.validation import (
    parse_uuid,
)
from portal.domain.models import (
    Client,
    ClientTask,
)
from portal.domain.records.access_policy import can
from portal.domain.selfservice._vocabulary import TASK_KINDS

# --- staff requests to the client ------------------------------------------------------


def create_task(actor, client: Client, *, kind: str, due_on: date | None) -> ClientTask:
    if not can(actor, "edit", client):
        raise Forbidden(Capability.EDIT_CLIENTS)
    if kind not in TASK_KINDS:
        raise DomainError(_l("Choose what to ask for."), field="kind")
    if due_on is not None and due_on < actor.agency.today():
        raise DomainError(_l("Choose a date from today on."), field="due_on")
    task = ClientTask(
        client_id=client.id,
        agency_id=actor.agency_id,
        kind=kind,
        due_on=due_on,
        created_by_id=actor.id,
    )
    dbs().add(task)
    dbs().flush()
    audit.record("client_task.created", client, details={"kind": kind, "task": str(task.public_id)})
    texting.notify_record(
        client.id,
        "requests",
        mail_template="new_request",
        params={"task": str(task.public_id)},
        agency_id=task.agency_id,
    )
    return task


TASK_ORDER = (ClientTask.due_on.is_(None), ClientTask.due_on, ClientTask.id)


def open_tasks(client: Client) -> list[ClientTask]:
    return list(
        dbs().scalars(
            select(ClientTask)
            .where(ClientTask.client_id == client.id, ClientTask.status == TaskStatus.OPEN)
            .order_by(*TASK_ORDER)
        )
    )


def complete_tasks(client: Client, kind: str) -> int:
    done = changed(
        update(ClientTask)
        .where(
            ClientTask.client_id == client.id,
            ClientTask.kind == kind,
            ClientTask.status == TaskStatus.OPEN,
        )
        .values(status=TaskStatus.DONE, done_at=clock.now())
    )
    if done:
        audit.record("client_task.done", client, details={"kind": kind, "count": done})
    return done


def cancel_task(actor, client: Client, public_id) -> None:
    if not can(actor, "edit", client):
        raise Forbidden(Capability.EDIT_CLIENTS)
    task = dbs().scalar(
        select(ClientTask).where(
            ClientTask.public_id == parse_uuid(public_id), ClientTask.client_id == client.id
        )
    )
    if task is None:  # the id comes from a form: the same answer whether it exists elsewhere
        raise DomainError(_l("This request is not open any more."))
    if task.status == TaskStatus.OPEN:
        task.status = TaskStatus.CANCELLED
        task.done_at = clock.now()
        audit.record("client_task.cancelled", client, details={"task": str(task.public_id)})
