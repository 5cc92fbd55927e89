"""The client's side: who they may write to, their conversations, writing, reading."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from portal.domain.core import audit, clock
from portal.domain.core.errors import DomainError, NotFound
from portal.domain.core.session import dbs, read, will_write
from portal.domain.core.statuses import ConversationStatus
from portal.domain.core.validation import parse_uuid
from portal.domain.messaging import notifications
from portal.domain.messaging._text import _agency_of, clean_body, new_idempotency_key
from portal.domain.models import (
    Client,
    Conversation,
    Message,
    StaffUser,
)
from portal.domain.records.access_policy import agency_sees, can, client_of
from portal.domain.records.coordinated_entry import record_contact

# What the staff notices this module sends say (declared in portal.domain.features).
NOTICES = {
    "client_message": _l("A client sent a message. It is waiting for an answer."),
}

# --- the client side -----------------------------------------------------------------------


def recipients_for(client: Client) -> list[StaffUser]:
    """Whom the client may write to: the case manager, and care-team members who allow it."""
    return [
        seat.staff
        for seat in client.care_team
        if seat.staff.is_active
        and seat.staff.agency_id
        and (seat.is_case_manager or seat.staff.allow_client_contact)
        and can(seat.staff, "message", client)  # the owning agency, or one with an ROI in force
    ]


def client_scope(account) -> Select:
    client = client_of(account)
    return select(Conversation).where(Conversation.client_id == client.id)


def client_conversations(account) -> list[Conversation]:
    return list(
        dbs().scalars(
            client_scope(account).order_by(
                Conversation.last_message_at.desc(), Conversation.id.desc()
            )
        )
    )


_CLOSED = _l(
    "This agency cannot get new messages from you any more. Write to your case manager instead."
)


def can_write_to(conversation: Conversation) -> bool:
    """A client may go on writing while the conversation's agency may still see them (an
    agency whose Release of Information ended no longer reads the conversation)."""

    return agency_sees(_agency_of(conversation), conversation.client)


def client_conversation(account, public_id) -> Conversation:
    conversation = dbs().scalar(
        client_scope(account).where(Conversation.public_id == parse_uuid(public_id))
    )
    if conversation is None:
        raise NotFound(("conversation", str(public_id)[:64]))
    return conversation


_CLIENT_UNREAD = select(func.coalesce(func.sum(Conversation.unread_by_client), 0)).where(
    Conversation.client_id == bindparam("client_id")
)


def client_unread(account) -> int:
    return read(_CLIENT_UNREAD, client_id=client_of(account).id).scalar_one()


def _conversation_for(client: Client, agency_id: int) -> Conversation:
    conversation = dbs().scalar(
        select(Conversation).where(
            Conversation.client_id == client.id, Conversation.agency_id == agency_id
        )
    )
    if conversation is None:
        try:
            with dbs().begin_nested():
                conversation = Conversation(client_id=client.id, agency_id=agency_id)
                dbs().add(conversation)
        except IntegrityError:  # started at the same moment elsewhere: use that one
            conversation = (
                dbs()
                .scalars(
                    select(Conversation).where(
                        Conversation.client_id == client.id, Conversation.agency_id == agency_id
                    )
                )
                .one()
            )
    return conversation


def _store(conversation: Conversation, *, key: str, body: str, **author) -> tuple[Message, bool]:
    """One message per idempotency key and conversation: a replayed submit finds the first."""
    if not re.fullmatch(r"[A-Za-z0-9_:-]{1,64}", key or ""):
        key = new_idempotency_key()  # a key we did not hand out protects nothing
    same = (
        Message.conversation_id == conversation.id,
        Message.author_kind == author["author_kind"],
        Message.idempotency_key == key,
    )
    existing = dbs().scalar(select(Message).where(*same))
    if existing is not None:
        return existing, False
    message = Message(conversation_id=conversation.id, idempotency_key=key, body=body, **author)
    try:
        with dbs().begin_nested():
            dbs().add(message)
    except IntegrityError:  # the same submit, arriving twice at once
        return dbs().scalars(select(Message).where(*same)).one(), False
    return message, True


def client_write(
    account, *, body: str, key: str, recipient_id=None, conversation_id=None
) -> Message:
    """A new message from the client: to a recipient (starting or continuing the conversation
    with that person's agency) or in an existing conversation."""
    client = client_of(account)
    body = clean_body(body)
    if conversation_id:
        conversation = client_conversation(account, conversation_id)
        recipient = None
        if not can_write_to(conversation):
            raise DomainError(_CLOSED)
    else:
        recipient = next(
            (s for s in recipients_for(client) if str(s.public_id) == str(recipient_id)), None
        )
        if recipient is None or recipient.agency_id is None:
            raise DomainError(_l("Choose who to write to."), field="recipient")
        conversation = _conversation_for(client, recipient.agency_id)
    message, new = _store(
        conversation, key=key, body=body, author_kind="client", author_account_id=account.id
    )
    if not new:
        return message
    now = clock.now()
    was_waiting = conversation.awaiting_since is not None
    handed_to_new_person = recipient is not None and conversation.assigned_staff_id != recipient.id
    conversation.last_message_at = now
    conversation.awaiting_since = conversation.awaiting_since or now
    conversation.unread_by_staff = Conversation.unread_by_staff + 1  # in SQL: no lost update
    conversation.status = ConversationStatus.OPEN
    if recipient is not None:
        conversation.assigned_staff_id = recipient.id
    if not was_waiting or handed_to_new_person:  # one note per question and person, not per message
        _tell_staff(conversation, recipient)
    record_contact(client, "message")
    audit.record(
        "message.sent",
        client,
        actor=account,
        details={"conversation": str(conversation.public_id), "by": "client"},
    )
    return message


def _tell_staff(conversation: Conversation, recipient: StaffUser | None) -> None:
    """An in-app note for whoever should answer: the person written to, the one the
    conversation is assigned to, or else the agency's care-team members of this client (case
    managers first). Only people of the conversation's agency who may message the client."""

    client = conversation.client

    def may_answer(person: StaffUser | None) -> bool:
        return (
            person is not None
            and person.is_active
            and person.agency_id == conversation.agency_id
            and can(person, "message", client)
        )

    if recipient is None and conversation.assigned_staff_id is not None:
        recipient = dbs().get(StaffUser, conversation.assigned_staff_id)
    if recipient is not None and may_answer(recipient):
        people = [recipient]
    else:
        seats = sorted(client.care_team, key=lambda seat: not seat.is_case_manager)
        team = [seat.staff for seat in seats if may_answer(seat.staff)]
        managers = [seat.staff for seat in seats if seat.is_case_manager and may_answer(seat.staff)]
        people = managers or team
    for person in people:
        notifications.notify(
            person, "client_message", params={"conversation": str(conversation.public_id)}
        )


THREAD_PAGE = 200


def messages_of(
    conversation: Conversation, *, before=None, limit: int = THREAD_PAGE
) -> tuple[list[Message], Message | None, bool]:
    """Up to `limit` messages, oldest first: the newest ones, or those before the message
    whose public id is `before` ("show older messages"). Also returns the first message shown
    when there are older ones (None when the start of the conversation is on this page), and
    whether `before` named a message of this conversation (so a page of older messages)."""
    query = select(Message).where(Message.conversation_id == conversation.id)
    key = parse_uuid(before) if before else None
    anchor = dbs().scalar(query.where(Message.public_id == key)) if key is not None else None
    if anchor is not None:  # a key of another conversation finds nothing here
        query = query.where(
            (Message.created_at < anchor.created_at)
            | ((Message.created_at == anchor.created_at) & (Message.id < anchor.id))
        )
    rows = list(
        dbs().scalars(query.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    shown = rows[:limit][::-1]
    return shown, (shown[0] if more and shown else None), anchor is not None


def read_by_client(conversation: Conversation) -> None:
    """Read receipts for every staff message not read yet; the counter follows (it counts
    them, so a conversation read already costs no write)."""
    from sqlalchemy import update

    if not conversation.unread_by_client:
        return
    will_write()
    dbs().execute(
        update(Message)
        .where(
            Message.conversation_id == conversation.id,
            Message.author_kind == "staff",
            Message.read_by_client_at.is_(None),
        )
        .values(read_by_client_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    conversation.unread_by_client = 0
