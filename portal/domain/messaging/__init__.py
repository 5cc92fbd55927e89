"""Secure messaging between clients and their care team (issue 6).

- A conversation belongs to one client and one agency (`Conversation.agency_id`); staff reach
  only their agency's conversations (`inbox_scope`), clients only their own (`client_scope`).
- Clients write to their case manager or a care-team member who allows client-initiated
  contact; staff reply, assign to a care-team colleague, mark handled, or start a conversation.
- Bodies are plain text. `render()` escapes everything, links URLs, and passes the result
  through bleach with the message allowlist (portal.domain.core.sanitiser).
- A replayed submit stores one message: each form carries an idempotency key, unique per
  conversation.
- "Respond in a timely manner" is measured: a client message awaits a reply until staff answer;
  it is overdue after `response_target_business_days` business days in the agency's time zone,
  skipping weekends and the public holidays of `holiday_calendar`.
- Clients get an email that says only that there is a new message, with a link: at most one per
  conversation per hour (a worker job), never when they turned notices off.
"""

from __future__ import annotations

import html
import re
import secrets
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import Date, Select, and_, bindparam, false, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, load_only

from portal.domain.core import audit, clock, context, crypto, jobs, mail, sanitiser
from portal.domain.core.errors import DomainError, Forbidden, NotFound
from portal.domain.core.roles import Capability, has_capability
from portal.domain.core.session import dbs, read, will_write
from portal.domain.core.validation import parse_uuid, strip_unshowable
from portal.domain.messaging import notifications
from portal.domain.models import (
    Agency,
    CareTeamMember,
    Client,
    ClientAccount,
    Conversation,
    Message,
    StaffUser,
)
from portal.domain.models.clients import CLIENT_LISTED
from portal.domain.records.access_policy import agency_sees, can, client_of, staff_sees, today_for
from portal.domain.records.coordinated_entry import record_contact
from portal.settings import current as current_settings

MAX_BODY = 5000
NOTICE_EVERY = timedelta(hours=1)
INBOX_VIEWS = ("unread", "awaiting", "mine", "all")


# --- text in, safe HTML out ----------------------------------------------------------------


def clean_body(text: str | None) -> str:
    """What is stored: the text as typed, with line breaks, minus what no page can show."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    text = strip_unshowable(text).strip()
    if not text:
        raise DomainError(_l("Write a message first."), field="body")
    if len(text) > MAX_BODY:
        raise DomainError(
            _l("Messages can be up to %(count)s characters.", count=MAX_BODY), field="body"
        )
    return text


def render(text: str) -> Markup:
    """Plain text to HTML: everything escaped, paragraphs and line breaks kept, URLs and email
    addresses linked, then bleach's allowlist over the result. A conversation page shows every
    message each time it is opened, and bleach is most of that page's time: a text already
    made into HTML in this process is not made again."""
    return Markup(_render_html(text or ""))  # noqa: S704 - bleach allowlisted


@lru_cache(maxsize=2048)
def _render_html(text: str) -> str:
    paragraphs = []
    for block in re.split(r"\n{2,}", strip_unshowable(text)):
        escaped = html.escape(block, quote=True)  # the text as text: every & < > " ' escaped
        linked = sanitiser.linkify(escaped)
        paragraphs.append("<p>" + linked.replace("\n", "<br>") + "</p>")
    return sanitiser.clean("".join(paragraphs), sanitiser.MESSAGE)


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(24)


# --- business days -----------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _holidays(calendar: str, year: int) -> frozenset[date]:
    import holidays

    country, _, subdivision = calendar.partition("-")
    try:
        days = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    except NotImplementedError:
        return frozenset()
    return frozenset(days.keys())


def is_business_day(day: date, calendar: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(calendar, day.year)


def reply_due(since: datetime, timezone: str) -> datetime:
    """The end of the Nth business day after the day the message came (agency time zone)."""
    settings = current_settings()
    zone = ZoneInfo(timezone)
    day = since.astimezone(zone).date()
    left = settings.response_target_business_days
    while left > 0:
        day += timedelta(days=1)
        if is_business_day(day, settings.holiday_calendar):
            left -= 1
    end = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(days=1)
    return end.astimezone(since.tzinfo)


def is_overdue(conversation: Conversation) -> bool:
    if conversation.awaiting_since is None:
        return False
    agency = _agency_of(conversation)
    return clock.now() > reply_due(conversation.awaiting_since, agency.timezone)


def agency_names(ids) -> dict[int, str]:

    if not ids:
        return {}
    return dict(dbs().execute(select(Agency.id, Agency.name).where(Agency.id.in_(ids))).all())


def _agency_of(conversation: Conversation):

    return dbs().get(Agency, conversation.agency_id)


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
    return read(_CLIENT_UNREAD, client_id=client_of(account).id).scalar()


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
            conversation = dbs().scalar(
                select(Conversation).where(
                    Conversation.client_id == client.id, Conversation.agency_id == agency_id
                )
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
        return dbs().scalar(select(Message).where(*same)), False
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
        if recipient is None:
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
    conversation.status = "open"
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
    if may_answer(recipient):
        people = [recipient]
    else:
        seats = sorted(client.care_team, key=lambda seat: not seat.is_case_manager)
        team = [seat.staff for seat in seats if may_answer(seat.staff)]
        managers = [seat.staff for seat in seats if seat.is_case_manager and may_answer(seat.staff)]
        people = managers or team
    for person in people:
        notifications.notify(
            person, "client_message", link=f"/staff/conversations/{conversation.public_id}#newest"
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
    conversation.status = "handled"
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


# --- the email notice ----------------------------------------------------------------------


def _schedule_notice(conversation: Conversation) -> None:
    """At most one email per conversation per hour: a job, later if one went out recently."""
    now = clock.now()
    last = conversation.client_notified_at
    run_at = now if last is None or now - last >= NOTICE_EVERY else last + NOTICE_EVERY
    jobs.enqueue(
        "messages.notify_client",
        {"conversation": conversation.id},
        run_at=run_at,
        unique_key=f"message-notice:{conversation.id}",
    )


@jobs.handler("messages.notify_client")
def notify_client_job(payload: dict) -> None:
    conversation = dbs().get(Conversation, payload["conversation"])
    if conversation is None or conversation.unread_by_client == 0:
        return  # read in the meantime: nothing to tell
    account = dbs().scalar(
        select(ClientAccount).where(ClientAccount.client_id == conversation.client_id)
    )
    if account is None or not account.is_active or not account.email_notifications:
        return
    conversation.client_notified_at = clock.now()
    mail.queue(
        "new_message",
        to=account.email,
        language=account.preferred_language,
        params={
            "name": account.first_name,
            "link": f"{current_settings().base_url}/messages/{conversation.public_id}#newest",
        },
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
    if actor is None or not actor.is_active:
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
