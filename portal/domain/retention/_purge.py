"""The purge: who is due, and removing them (the schedule is in the package's docstring)."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Delete,
    Select,
    Table,
    delete,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)

from portal.domain import documents, selfservice
from portal.domain.core import audit, clock, jobs
from portal.domain.core.session import changed, dbs, will_write
from portal.domain.core.statuses import OutboxStatus
from portal.domain.models import (
    AccountToken,
    AuditEvent,
    Client,
    ClientAccount,
    ClientLocation,
    ClientPhone,
    Consent,
    Conversation,
    EsignConsent,
    Message,
    OutboxMessage,
    TextInbound,
    TextMessage,
    TextNumber,
    UserSession,
)
from portal.domain.models.base import Base
from portal.settings import current as current_settings

log = logging.getLogger("portal.retention")

# The mirrored HMIS record's own parts: kept when only the portal's data of a client goes.
HMIS_PARTS = frozenset(
    {
        "enrollments",
        "care_team_members",
        "consents",
        "client_phones",
        "contact_events",
        "hmis_living_situations",
        "hmis_contacts",
    }
)
PURGED_EMAIL_DOMAIN = "purged.invalid"  # RFC 2606: can never be a real address

KINDS = (
    "deleted_records",
    "inactive_clients",
    "closed_accounts",
    "sent_mail",
    "sent_texts",
    "location_history",
)
# Whole records: more of one of these than `retention_max_per_run` waits for an operator.
GUARDED = ("deleted_records", "inactive_clients", "closed_accounts")


@dataclass
class Report:
    """How many of each kind a run found (dry run) or removed, and the rows that went with
    them (per table). Counts only: nothing here names a person."""

    dry_run: bool
    found: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    rows: Counter = field(default_factory=Counter)
    stored_files: int = 0
    held: list[str] = field(default_factory=list)  # kinds waiting for an operator

    def details(self) -> dict:
        return {
            "dry_run": self.dry_run,
            **self.found,
            "rows": dict(sorted(self.rows.items())),
            "stored_files": self.stored_files,
            "held": self.held,
        }


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _cutoff(years: int) -> datetime:
    now = clock.now()
    day = _years_before(now.date(), years)
    return now.replace(year=day.year, month=day.month, day=day.day)


# --- who is due ----------------------------------------------------------------------------


def _deleted_records(only: int | None = None) -> Select:
    return _one_of(
        select(Client.id).where(
            Client.deleted_at.is_not(None), Client.purge_after <= clock.now().date()
        ),
        only,
    )


def _one_of(statement: Select, only: int | None) -> Select:
    """`statement` (whose first column is an id) for that one id, or for all."""
    return statement if only is None else statement.where(statement.selected_columns[0] == only)


def _client_tables() -> list[Table]:
    """Every table whose rows belong to one client (a `client_id` referencing clients)."""
    return [
        table
        for table in Base.metadata.sorted_tables
        if "client_id" in table.c
        and any(key.column.table.name == "clients" for key in table.c.client_id.foreign_keys)
    ]


def _last_activity(only: int | None = None):
    """Per client (or for the one client `only`, reading only their rows), the latest moment
    anything came from them or was done about them: the record itself, every row of theirs in
    any table (an invitation, an identity check, a request, a signature...), every message in
    their conversations, a sign-in."""
    account = ClientAccount
    moments = [
        select(Client.id.label("client_id"), Client.created_at.label("at")),
        select(Client.id, Client.updated_at),
        select(Client.id, Client.last_contact_at).where(Client.last_contact_at.is_not(None)),
        select(account.client_id, account.last_sign_in_at).where(
            account.client_id.is_not(None), account.last_sign_in_at.is_not(None)
        ),
        select(Conversation.client_id, Message.created_at).join(
            Message, Message.conversation_id == Conversation.id
        ),
        select(account.client_id, EsignConsent.created_at).join(
            EsignConsent, EsignConsent.account_id == account.id
        ),
    ]
    for table in _client_tables():
        if "created_at" in table.c:
            moments.append(select(table.c.client_id, table.c.created_at))
    every = union_all(*(_one_of(moment, only) for moment in moments)).subquery()
    return select(every.c.client_id, func.max(every.c.at).label("at")).group_by(every.c.client_id)


def _holds_portal_data(client_id) -> ColumnElement[bool]:
    """Something of the client's the portal collected (what the inactive purge removes)."""
    tables = [t for t in _client_tables() if t.name not in HMIS_PARTS]
    return or_(
        *(select(t.c.client_id).where(t.c.client_id == client_id).exists() for t in tables),
        select(Consent.id)
        .where(Consent.client_id == client_id, Consent.source == "electronic")
        .exists(),
        select(ClientPhone.id)
        .where(ClientPhone.client_id == client_id, ClientPhone.source == "portal")
        .exists(),
    )


def _inactive_clients(only: int | None = None) -> Select:
    """Gone for `retention_inactive_years`: a record staff made in the portal (it is the
    portal's), or one mirrored from the HMIS that holds something the portal collected."""
    last = _last_activity(only).subquery()
    statement = (
        select(Client.id)
        .join(last, last.c.client_id == Client.id)
        .where(
            Client.deleted_at.is_(None),
            last.c.at < _cutoff(current_settings().retention_inactive_years),
            or_(Client.source == "staff", _holds_portal_data(Client.id)),
        )
    )
    return _one_of(statement, only)


def _closed_accounts(only: int | None = None) -> Select:
    cutoff = _cutoff(current_settings().retention_closed_account_years)
    return _one_of(
        select(ClientAccount.id).where(
            ClientAccount.is_active.is_(False),
            ClientAccount.deactivated_at < cutoff,
            ClientAccount.email.not_like(f"%@{PURGED_EMAIL_DOMAIN}"),
        ),
        only,
    )


def _sent_mail():
    cutoff = clock.now() - timedelta(days=current_settings().retention_sent_mail_days)
    return select(OutboxMessage.id).where(
        OutboxMessage.status == OutboxStatus.SENT, OutboxMessage.sent_at < cutoff
    )


def _sent_texts():
    """Texts done with (sent, delivered, failed, dropped, or stale in the queue) for as long as
    sent mail: the row stays for the agency's monthly counts, without the number, the client
    or what it was about."""
    now = clock.now()
    cutoff = now - timedelta(days=current_settings().retention_sent_mail_days)
    return select(TextMessage.id).where(
        or_(TextMessage.status != "queued", TextMessage.stale_at < now),
        TextMessage.created_at < cutoff,
        TextMessage.to_number != "",
    )


def _text_traces() -> tuple[Delete, Delete]:
    """What people's texts told the portal, kept as long as sent mail: what an incoming text
    meant, and a number's row that records neither a STOP nor a bounce (those stay: a STOP
    must be honoured for as long as the portal texts)."""
    cutoff = clock.now() - timedelta(days=current_settings().retention_sent_mail_days)
    inbound = delete(TextInbound).where(TextInbound.created_at < cutoff)
    numbers = delete(TextNumber).where(
        TextNumber.stopped_at.is_(None),
        TextNumber.bounced_at.is_(None),
        TextNumber.created_at < cutoff,
        ~select(TextInbound.id).where(TextInbound.number == TextNumber.number).exists(),
    )
    return inbound, numbers


def _location_history():
    cutoff = clock.now() - timedelta(days=current_settings().location_history_days)
    return select(ClientLocation.id).where(ClientLocation.shared_at < cutoff)


def _count(statement) -> int:
    return dbs().scalar(select(func.count()).select_from(statement.subquery())) or 0


# --- removing ------------------------------------------------------------------------------


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _delete_rows(table: Table, where, keep: frozenset[str], report: Report) -> None:
    """Delete `table`'s rows matching `where` and, before them, every row that references them
    through a foreign key (depth first). Tables in `keep` lose only the reference."""
    ids = select(table.c.id).where(where)
    for child in Base.metadata.sorted_tables:
        for key in child.foreign_keys:
            if key.column.table is not table or child is table:
                continue
            if child.name in keep:
                dbs().execute(
                    update(child).where(key.parent.in_(ids)).values({key.parent.name: null()})
                )
            else:
                _delete_rows(child, key.parent.in_(ids), keep, report)
    if table.name == "documents":
        keys = list(dbs().scalars(select(table.c.storage_key).where(where)))
        report.stored_files += len(keys)
        documents.delete_stored_after_commit(keys)
    if table.name == "client_accounts":
        _end_sign_in(ids, report)
    report.rows[table.name] += changed(delete(table).where(where))


def _end_sign_in(account_ids, report: Report) -> None:
    """Sessions and tokens name their account by kind and id (no foreign key)."""
    for model in (UserSession, AccountToken):
        report.rows[model.__tablename__] += changed(
            delete(model).where(model.account_kind == "client", model.account_id.in_(account_ids))
        )


def _still_due(model, row_id: int, due: Select) -> bool:
    """Lock the row, then ask again (`due`: the kind's statement for this one row): of two
    purges at once (the daily job and an operator's command), the second finds nothing left
    to do instead of doing it twice."""
    will_write()
    locked = dbs().scalar(select(model.id).where(model.id == row_id).with_for_update())
    return locked is not None and _count(due) > 0


def _purge_clients(client_ids: list[int], kind: str, report: Report) -> None:
    """Each client in turn, locked and asked again. A deleted record, or a record staff made
    in the portal, goes whole; a record mirrored from the HMIS keeps its HMIS parts and loses
    what the portal collected (the e-signed consents and the phones given through the portal
    with it)."""
    reason = kind.removesuffix("s")
    clients = _table("clients")
    for client_id in client_ids:
        due = _deleted_records if kind == "deleted_records" else _inactive_clients
        if not _still_due(Client, client_id, due(client_id)):
            continue
        report.found[kind] += 1
        public_id, source = (
            dbs()
            .execute(select(Client.public_id, Client.source).where(Client.id == client_id))
            .one()
        )
        whole = kind == "deleted_records" or source == "staff"
        if whole:
            _delete_rows(clients, clients.c.id == client_id, frozenset(), report)
        else:
            for model, collected in ((Consent, "electronic"), (ClientPhone, "portal")):
                report.rows[model.__tablename__] += changed(
                    delete(model).where(model.client_id == client_id, model.source == collected)
                )
            for child in _client_tables():
                if child.name not in HMIS_PARTS:
                    _delete_rows(child, child.c.client_id == client_id, HMIS_PARTS, report)
        audit.record(
            "client.purged",
            ("client", str(public_id)),
            details={"reason": reason, "whole_record": whole},
        )


def _wipe_closed_accounts(account_ids: list[int], report: Report) -> None:
    for account_id in account_ids:
        if not _still_due(ClientAccount, account_id, _closed_accounts(account_id)):
            continue
        report.found["closed_accounts"] += 1
        account = dbs().get(ClientAccount, account_id)
        assert account is not None
        _end_sign_in(select(literal(account_id)), report)
        account.email = f"closed-{account.public_id}@{PURGED_EMAIL_DOMAIN}"
        account.password_hash = None
        account.first_name = ""
        account.client_id = None
        account.pending_email = account.pending_email_code_hmac = None
        account.pending_email_expires_at = None
        # What it agreed to sign electronically stays (its signatures point to it), without
        # the address and browser it agreed from.
        dbs().execute(
            update(EsignConsent)
            .where(EsignConsent.account_id == account_id)
            .values(ip=None, user_agent=None)
        )
        report.rows["client_accounts"] += 1
        audit.record("account.purged", account, details={"reason": "closed_account"})


# --- the run -------------------------------------------------------------------------------

# Before whole records go, the clock is checked twice: against the database server's own clock
# (another machine, usually), and against the audit log, where people's work leaves events
# every day. A clock ahead of the database's, or a newest event (other than this purge's own)
# this far behind it, means the clock jumped ahead or the portal was off that long: everything
# would look old, so whole records wait for an operator.
CLOCK_AHEAD = timedelta(days=1)
QUIET_FOR = timedelta(days=30)


def _due() -> dict[str, Select]:
    return {
        "deleted_records": _deleted_records(),
        "inactive_clients": _inactive_clients(),
        "closed_accounts": _closed_accounts(),
        "sent_mail": _sent_mail(),
        "sent_texts": _sent_texts(),
        "location_history": _location_history(),
    }


def _ordered(statement: Select) -> Select:
    """By id: two purges at once lock rows in the same order (no deadlock on PostgreSQL)."""
    return statement.order_by(statement.selected_columns[0])


def _population(kind: str) -> int:
    model = ClientAccount if kind == "closed_accounts" else Client
    return dbs().scalar(select(func.count()).select_from(model)) or 0


def _clock_jumped() -> bool:
    now = clock.now()
    server = dbs().scalar(select(func.current_timestamp()))
    if isinstance(server, datetime):
        if server.tzinfo is None:  # SQLite: UTC without a zone
            server = server.replace(tzinfo=UTC)
        if now - server > CLOCK_AHEAD:
            return True
    newest = dbs().scalar(
        select(AuditEvent.occurred_at)
        .where(AuditEvent.subject_id != "retention")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return newest is not None and now - newest > QUIET_FOR


def plan() -> Report:
    """The dry run: what a purge now would remove, counted, nothing changed; and which kinds
    of whole records would wait for an operator: more than `retention_max_per_run`, more than
    half of all of them (beyond 10), or any at all when the clock looks wrong."""
    report = Report(dry_run=True)
    for kind, statement in _due().items():
        report.found[kind] = _count(statement)
    limit = current_settings().retention_max_per_run
    jumped = _clock_jumped()
    report.held = [
        kind
        for kind in GUARDED
        if report.found[kind] > limit
        or (report.found[kind] > 10 and report.found[kind] * 2 > _population(kind))
        or (jumped and report.found[kind])
    ]
    return report


def purge(*, confirm: bool = False) -> Report:
    """Count first (the dry run, audited); then remove what is due, except a kind of whole
    records the dry run holds, which waits for an operator's `confirm` (recorded). The routine
    kinds (sent mail, location history) are never held. The report is audited, counts only."""
    planned = plan()
    audit.record("retention.planned", ("system", "retention"), details=planned.details())
    held = [] if confirm else planned.held
    if held:
        log.warning("retention purge held for an operator", extra={"held": held})
    report = Report(dry_run=False, held=held)
    due = {
        kind: list(dbs().scalars(_ordered(_due()[kind]))) for kind in GUARDED if kind not in held
    }
    for kind in ("deleted_records", "inactive_clients"):
        _purge_clients(due.get(kind, []), kind, report)
    _wipe_closed_accounts(due.get("closed_accounts", []), report)
    report.found["sent_mail"] = changed(
        delete(OutboxMessage).where(OutboxMessage.id.in_(_sent_mail().scalar_subquery()))
    )
    report.rows["outbox_messages"] += report.found["sent_mail"]
    report.found["sent_texts"] = changed(
        update(TextMessage)
        .where(TextMessage.id.in_(_sent_texts().scalar_subquery()))
        .values(to_number="", params={}, secret_params=None, client_id=None, gateway_ref=None)
    )
    report.rows["text_messages"] += report.found["sent_texts"]
    inbound, numbers = _text_traces()
    report.rows["text_inbound"] += changed(inbound)
    report.rows["text_numbers"] += changed(numbers)
    # Also its own daily job (`locations.prune`), so that where people sleep is pruned even on
    # a day this purge fails; here for the report.
    report.found["location_history"] = selfservice.prune_locations()
    report.rows["client_locations"] += report.found["location_history"]
    details = report.details()
    if confirm and planned.held:
        details["confirmed_over_hold"] = planned.held
    audit.record(
        "retention.purged",
        ("system", "retention"),
        outcome="held" if held else "success",
        details=details,
    )
    log.info("retention purge done", extra={"found": report.found, "held": held})
    return report


@jobs.handler("retention.purge", every=timedelta(days=1))
def purge_job(payload: dict) -> None:
    purge()
