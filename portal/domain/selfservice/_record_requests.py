"""A client asks for a copy of their record; staff fulfil it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select, update

from portal.domain.core import audit, clock
from portal.domain.core.errors import DomainError, Forbidden
from portal.domain.core.roles import Capability, has_capability
from portal.domain.core.session import changed, dbs
from portal.domain.core.statuses import RecordRequestStatus
from portal.domain.core.validation import (
    parse_uuid,
)
from portal.domain.messaging import notifications
from portal.domain.models import (
    Client,
    RecordRequest,
)
from portal.domain.records.access_policy import client_of
from portal.domain.records.clients import people_to_tell
from portal.domain.selfservice._vocabulary import RECORD_DELIVERY, RECORD_PARTS

# What the staff notices this module sends say (declared in portal.domain.features).
NOTICES = {
    "record_requested": _l("A client asked for a copy of their record."),
}

# --- asking for the record -------------------------------------------------------------


def request_record(account, *, parts: list[str], delivery: str) -> RecordRequest:
    client = client_of(account)
    chosen = sorted({p for p in parts if p in RECORD_PARTS})
    errors = []
    if not chosen:
        errors.append(DomainError(_l("Choose at least one part of your record."), "parts"))
    if delivery not in RECORD_DELIVERY:
        errors.append(DomainError(_l("Choose how you want to get it."), "delivery"))
    if errors:
        raise DomainError.all_of(errors)
    request = RecordRequest(
        client_id=client.id,
        agency_id=client.owning_agency_id,
        parts={"parts": chosen},
        delivery=delivery,
    )
    dbs().add(request)
    dbs().flush()
    for staff in people_to_tell(client):
        if staff.agency_id == client.owning_agency_id and has_capability(
            staff.role, Capability.MANAGE_REQUESTS
        ):
            notifications.notify(staff, "record_requested")
    audit.record(
        "record_request.created",
        client,
        actor=account,
        details={"request": str(request.public_id), "parts": chosen, "delivery": delivery},
    )
    return request


def record_requests_of(client: Client) -> list[RecordRequest]:
    return list(
        dbs().scalars(
            select(RecordRequest)
            .where(RecordRequest.client_id == client.id)
            .order_by(RecordRequest.created_at.desc(), RecordRequest.id.desc())
        )
    )


def _record_request_scope(actor):
    if not getattr(actor, "agency_id", None):
        raise Forbidden(Capability.MANAGE_REQUESTS)
    return (
        select(RecordRequest)
        .join(Client, Client.id == RecordRequest.client_id)
        .where(record_request_criteria(actor.agency_id))
    )


def record_request_criteria(agency_id):
    """The rule of the record requests staff see (joined to clients), values or parameters."""
    return and_(RecordRequest.agency_id == agency_id, Client.deleted_at.is_(None))


def open_record_requests(actor) -> list[RecordRequest]:
    return list(
        dbs().scalars(
            _record_request_scope(actor)
            .where(RecordRequest.status == RecordRequestStatus.OPEN)
            .order_by(RecordRequest.created_at, RecordRequest.id)
        )
    )


def open_record_request_count(actor) -> int:
    if not getattr(actor, "agency_id", None):
        return 0
    query = _record_request_scope(actor).where(RecordRequest.status == RecordRequestStatus.OPEN)
    return dbs().scalar(select(func.count()).select_from(query.subquery())) or 0


def fulfil_record_request(actor, public_id) -> RecordRequest:
    request = dbs().scalar(
        _record_request_scope(actor).where(RecordRequest.public_id == parse_uuid(public_id))
    )
    if request is None:  # the id comes from a form: the same answer whether it exists elsewhere
        raise DomainError(_l("This request is not open any more."))
    won = changed(
        update(RecordRequest)
        .where(RecordRequest.id == request.id, RecordRequest.status == RecordRequestStatus.OPEN)
        .values(
            status=RecordRequestStatus.FULFILLED,
            fulfilled_at=clock.now(),
            fulfilled_by_id=actor.id,
        )
        .execution_options(synchronize_session=False)
    )
    if won != 1:
        raise DomainError(_l("This request is already fulfilled."))
    dbs().refresh(request)
    audit.record(
        "record_request.fulfilled", request.client, details={"request": str(request.public_id)}
    )
    return request
