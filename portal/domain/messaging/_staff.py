"""The staff side: the inbox and its views, answering, starting, assigning, handling, and
bulk messages."""

from __future__ import annotations

from types import SimpleNamespace

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, Select, and_, bindparam, false, func, select
from sqlalchemy.orm import joinedload, load_only

from portal.domain.core import audit, clock, context, crypto, jobs
from portal.domain.core.errors import DomainError, Forbidden, NotFound
from portal.domain.core.roles import Capability, has_capability
from portal.domain.core.session import dbs, will_write
from portal.domain.core.statuses import ConversationStatus
from portal.domain.core.validation import parse_uuid
from portal.domain.messaging._client import _conversation_for, _store
from portal.domain.messaging._notices import _schedule_notice
from portal.domain.messaging._text import INBOX_VIEWS, clean_body, new_idempotency_key
from portal.domain.models import (
    CareTeamMember,
    Client,
    Conversation,
    Message,
    StaffUser,
)
from portal.domain.models.clients import CLIENT_LISTED
from portal.domain.records.access_policy import can, staff_sees, today_for

# --- the staff side ------------------------------------------------------------------------


def _require(actor) -> None:
    if not has_capability(actor.role, Capability.MESSAGE_CLIENTS) or not actor.agency_id:
        raise Forbidden(Capability.MESSAGE_CLIENTS)


def inbox_scope(actor) -> Select:
    """The actor's agency's conversations, with clients that still exist and that the actor
    may see (an ended ROI puts a partner's conversation out of sight): nothing else."""

    _require(actor)
    if not has_capability(actor.role, Capability.VIEW_CLIENTS):
        return select(Conversation).where(false())
    return select(Conversation).where(inbox_criteria(actor.agency_id, today_for(actor)))


def inbox_criteria(agency_id, today):
    """The rule of `inbox_scope`, with values or bound parameters (a statement built once)."""

    visible = select(Client.id).where(Client.deleted_at.is_(None), staff_sees(agency_id, today))
    return and_(Conversation.agency_id == agency_id, Conversation.client_id.in_(visible))


def inbox_count_columns(actor_id):
    """Every view's count over the scoped conversations, as columns of one statement."""
    return (
        func.count().filter(Conversation.unread_by_staff > 0).label("unread"),
        func.count().filter(Conversation.awaiting_since.is_not(None)).label("awaiting"),
        func.count().filter(Conversation.assigned_staff_id == actor_id).label("mine"),
        func.count().label("all"),
    )


def _view(query: Select, actor, view: str) -> Select:
    if view == "unread":
        return query.where(Conversation.unread_by_staff > 0)
    if view == "awaiting":
        return query.where(Conversation.awaiting_since.is_not(None))
    if view == "mine":
        return query.where(Conversation.assigned_staff_id == actor.id)
    return query


INBOX_PAGE = 25


def _inbox_statement(view: str):
    """One view of the inbox (`inbox_scope`'s rule with the agency, its day and the staff
    member as parameters), loading only what the inbox shows; built once per view."""

    query = select(Conversation).where(
        inbox_criteria(bindparam("agency_id"), bindparam("today", type_=Date))
    )
    query = _view(query, SimpleNamespace(id=bindparam("staff_id")), view)
    if view == "awaiting":
        query = query.order_by(Conversation.awaiting_since, Conversation.id)
    else:
        query = query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    return (
        query.options(
            load_only(
                Conversation.id,
                Conversation.public_id,
                Conversation.agency_id,
                Conversation.client_id,
                Conversation.assigned_staff_id,
                Conversation.awaiting_since,
                Conversation.last_message_at,
                Conversation.unread_by_staff,
            ),
            joinedload(Conversation.client).load_only(*CLIENT_LISTED),
            joinedload(Conversation.assigned_staff).load_only(StaffUser.id, StaffUser.display_name),
        )
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


_INBOX: dict[str, Select] = {}


def inbox(actor, view: str = "awaiting", *, page: int = 1, per_page: int = INBOX_PAGE) -> list:
    """One page of a view: awaiting oldest first (the longest wait on top), else newest."""

    view = view if view in INBOX_VIEWS else "awaiting"
    _require(actor)
    if not has_capability(actor.role, Capability.VIEW_CLIENTS):
        return []
    if view not in _INBOX:
        _INBOX[view] = _inbox_statement(view)
    params = {
        "agency_id": actor.agency_id,
        "today": today_for(actor),
        "staff_id": actor.id,
        "limit": per_page,
        "offset": (max(page, 1) - 1) * per_page,
    }
    return list(dbs().scalars(_INBOX[view], params).unique())


def inbox_counts(actor) -> dict[str, int]:
    """Every view's count in one statement (the navigation shows them: staff_navigation)."""
    if not has_capability(getattr(actor, "role", ""), Capability.MESSAGE_CLIENTS) or not getattr(
        actor, "agency_id", None
    ):
        return {view: 0 for view in INBOX_VIEWS}
    row = dbs().execute(inbox_scope(actor).with_only_columns(*inbox_count_columns(actor.id))).one()
    return {view: row._mapping[view] or 0 for view in ("unread", "awaiting", "mine", "all")}


def staff_conversation(actor, public_id) -> Conversation:
    conversation = dbs().scalar(
        inbox_scope(actor).where(Conversation.public_id == parse_uuid(public_id))
    )
    if conversation is None:
        raise NotFound(("conversation", str(public_id)[:64]))
    return conversation


def read_by_staff(actor, conversation: Conversation) -> None:
    will_write()
    conversation.unread_by_staff = 0
    audit.record(
        "conversation.read",
        conversation.client,
        details={"conversation": str(conversation.public_id)},
    )


def staff_write(
    actor, conversation: Conversation, *, body: str, key: str, broadcast: bool = False
) -> Message:
    if not can(actor, "message", conversation.client):
        raise Forbidden(Capability.MESSAGE_CLIENTS)
    body = clean_body(body)
    message, new = _store(
        conversation, key=key, body=body, author_kind="staff", author_staff_id=actor.id
    )
    if not new:
        return message
    conversation.last_message_at = clock.now()
    conversation.unread_by_client = Conversation.unread_by_client + 1  # in SQL: no lost update
    if not broadcast:  # an answer; an announcement leaves the client's questions waiting
        conversation.awaiting_since = None
        conversation.unread_by_staff = 0
        if conversation.assigned_staff_id is None:
            conversation.assigned_staff_id = actor.id
    _schedule_notice(conversation)
    audit.record(
        "message.sent",
        conversation.client,
        details={"conversation": str(conversation.public_id), "by": "staff"},
    )
    return message


def start_conversation(actor, client: Client, *, body: str, key: str) -> Conversation:
    _require(actor)
    if not can(actor, "message", client):
        raise Forbidden(Capability.MESSAGE_CLIENTS)
    conversation = _conversation_for(client, actor.agency_id)
    staff_write(actor, conversation, body=body, key=key)
    return conversation


def colleagues_for(actor, conversation: Conversation) -> list[StaffUser]:
    """Care-team members of this client in the actor's agency: who may take it over."""
    return list(
        dbs().scalars(
            select(StaffUser)
            .join(CareTeamMember, CareTeamMember.staff_id == StaffUser.id)
            .where(
                CareTeamMember.client_id == conversation.client_id,
                StaffUser.agency_id == actor.agency_id,
                StaffUser.is_active.is_(True),
            )
            .order_by(StaffUser.display_name)
        )
    )


def assign(actor, conversation: Conversation, staff_public_id) -> StaffUser:
    colleague = next(
        (
            s
            for s in colleagues_for(actor, conversation)
            if str(s.public_id) == str(staff_public_id)
        ),
        None,
    )
    if colleague is None:
        raise DomainError(_l("Choose someone on this client's care team."), field="staff")
    conversation.assigned_staff_id = colleague.id
    audit.record(
        "conversation.assigned",
        conversation.client,
        details={"conversation": str(conversation.public_id), "to": str(colleague.public_id)},
    )
    return colleague


def mark_handled(actor, conversation: Conversation) -> None:
    conversation.status = ConversationStatus.HANDLED
    conversation.awaiting_since = None
    conversation.unread_by_staff = 0
    audit.record(
        "conversation.handled",
        conversation.client,
        details={"conversation": str(conversation.public_id)},
    )


def unread_for_client_record(actor, client: Client) -> int:
    """The staff record page's panel: "2 unread" in the actor's agency's conversation."""
    if not has_capability(actor.role, Capability.MESSAGE_CLIENTS) or not actor.agency_id:
        return 0
    return (
        dbs().scalar(
            select(Conversation.unread_by_staff).where(
                Conversation.client_id == client.id, Conversation.agency_id == actor.agency_id
            )
        )
        or 0
    )


# --- bulk messages -------------------------------------------------------------------------


def send_bulk(actor, clients: list[Client], *, body: str, key: str) -> int:
    """Queue one message per client, each in their own conversation; the worker sends them."""
    _require(actor)
    body = clean_body(body)
    if not clients:
        raise DomainError(_l("Nobody matches. Change the filters."))
    key = (key or "")[:40] or new_idempotency_key()
    jobs.enqueue(
        "messages.bulk_send",
        {
            "staff": actor.id,
            "clients": [c.id for c in clients],
            "body": crypto.encrypt_text(body),  # message text never sits in clear in jobs
            "key": key,
        },
        unique_key=f"bulk:{actor.id}:{key}",
    )
    audit.record("message.bulk_queued", actor, details={"recipients": len(clients)})
    return len(clients)


@jobs.handler("messages.bulk_send")
def send_bulk_job(payload: dict) -> None:
    """Idempotent: a retried job finds the messages it already stored (one key per client)."""

    actor = dbs().get(StaffUser, payload["staff"])
    if actor is None or not actor.is_active or actor.agency_id is None:
        return
    body = crypto.decrypt_text(payload["body"])
    token = context.set_context(context.ActionContext(actor=actor))
    try:
        for client_id in payload["clients"]:
            client = dbs().get(Client, client_id)
            if client is None or not can(actor, "message", client):
                continue  # access changed since the list was shown
            conversation = _conversation_for(client, actor.agency_id)
            staff_write(
                actor,
                conversation,
                body=body,
                key=f"{payload['key']}:{client_id}",
                broadcast=True,
            )
    finally:
        context.reset_context(token)
