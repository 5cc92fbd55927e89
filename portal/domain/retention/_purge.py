"""The purge: who is due, and removing them (the schedule is in the package's docstring)."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
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
    Client,
    ClientAccount,
    ClientLocation,
    Conversation,
    Document,
    Message,
    OutboxMessage,
    ReviewItem,
    UserSession,
)
from portal.domain.models.base import Base
from portal.settings import current as current_settings

log = logging.getLogger("portal.retention")

# The mirrored HMIS record's own parts: kept when only the portal's data of a client goes.
HMIS_PARTS = frozenset(
    {"enrollments", "care_team_members", "consents", "client_phones", "contact_events"}
)
PURGED_EMAIL_DOMAIN = "purged.invalid"  # RFC 2606: can never be a real address

KINDS = (
    "deleted_records",
    "inactive_clients",
    "closed_accounts",
    "sent_mail",
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
    held: list[str] = field(default_factory=list)  # kinds over the per-run limit

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


def _deleted_records():
    return select(Client.id).where(
        Client.deleted_at.is_not(None), Client.purge_after <= clock.now().date()
    )


def _last_activity():
    """Per client, the latest moment anything came from them or was done about them in the
    portal."""
    account = ClientAccount
    moments = union_all(
        select(Client.id.label("client_id"), Client.created_at.label("at")),
        select(Client.id, Client.last_contact_at).where(Client.last_contact_at.is_not(None)),
        select(Client.id, Client.updated_at),
        select(account.client_id, account.created_at).where(account.client_id.is_not(None)),
        select(account.client_id, account.last_sign_in_at).where(
            account.client_id.is_not(None), account.last_sign_in_at.is_not(None)
        ),
        select(Conversation.client_id, Message.created_at).join(
            Message, Message.conversation_id == Conversation.id
        ),
        select(Document.client_id, Document.created_at),
        select(ReviewItem.client_id, ReviewItem.created_at),
    ).subquery()
    return select(moments.c.client_id, func.max(moments.c.at).label("at")).group_by(
        moments.c.client_id
    )


def _has_portal_data(client_id) -> ColumnElement[bool]:
    return or_(
        select(ClientAccount.id).where(ClientAccount.client_id == client_id).exists(),
        select(Conversation.id).where(Conversation.client_id == client_id).exists(),
        select(Document.id).where(Document.client_id == client_id).exists(),
        select(ReviewItem.id).where(ReviewItem.client_id == client_id).exists(),
    )


def _inactive_clients():
    last = _last_activity().subquery()
    return (
        select(Client.id)
        .join(last, last.c.client_id == Client.id)
        .where(
            Client.deleted_at.is_(None),
            last.c.at < _cutoff(current_settings().retention_inactive_years),
            _has_portal_data(Client.id),
        )
    )


def _closed_accounts():
    return select(ClientAccount.id).where(
        ClientAccount.is_active.is_(False),
        ClientAccount.deactivated_at < _cutoff(current_settings().retention_closed_account_years),
        ClientAccount.email.not_like(f"%@{PURGED_EMAIL_DOMAIN}"),
    )


def _sent_mail():
    cutoff = clock.now() - timedelta(days=current_settings().retention_sent_mail_days)
    return select(OutboxMessage.id).where(
        OutboxMessage.status == OutboxStatus.SENT, OutboxMessage.sent_at < cutoff
    )


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
        _end_sign_in(ids)
    report.rows[table.name] += changed(delete(table).where(where))


def _end_sign_in(account_ids) -> None:
    """Sessions and tokens name their account by kind and id (no foreign key)."""
    for model in (UserSession, AccountToken):
        dbs().execute(
            delete(model).where(model.account_kind == "client", model.account_id.in_(account_ids))
        )


def _still_due(model, row_id: int, due) -> bool:
    """Lock the row, then ask again: of two purges at once (the daily job and an operator's
    command), the second finds nothing left to do instead of doing it twice."""
    will_write()
    locked = dbs().scalar(select(model.id).where(model.id == row_id).with_for_update())
    return locked is not None and _count(due.where(model.id == row_id)) > 0


def _purge_clients(client_ids: list[int], kind: str, report: Report) -> None:
    reason = kind.removesuffix("s")
    keep = frozenset() if kind == "deleted_records" else HMIS_PARTS
    clients = _table("clients")
    for client_id in client_ids:
        if not _still_due(Client, client_id, _due()[kind]):
            continue
        report.found[kind] += 1
        public_id = dbs().scalar(select(Client.public_id).where(Client.id == client_id))
        where = clients.c.id == client_id
        if reason == "deleted_record":
            _delete_rows(clients, where, keep, report)
        else:  # the portal's data only: every table hanging off the record but the HMIS's own
            for child in Base.metadata.sorted_tables:
                for key in child.foreign_keys:
                    if key.column.table is clients and child.name not in keep:
                        _delete_rows(child, key.parent == client_id, keep, report)
        audit.record(
            "client.purged",
            ("client", str(public_id)),
            details={"reason": reason},
        )


def _wipe_closed_accounts(account_ids: list[int], report: Report) -> None:
    for account_id in account_ids:
        if not _still_due(ClientAccount, account_id, _closed_accounts()):
            continue
        report.found["closed_accounts"] += 1
        account = dbs().get(ClientAccount, account_id)
        assert account is not None
        _end_sign_in(select(literal(account_id)))
        account.email = f"closed-{account.public_id}@{PURGED_EMAIL_DOMAIN}"
        account.password_hash = None
        account.first_name = ""
        account.client_id = None
        account.pending_email = account.pending_email_code_hmac = None
        account.pending_email_expires_at = None
        report.rows["client_accounts"] += 1
        audit.record("account.purged", account, details={"reason": "closed_account"})


# --- the run -------------------------------------------------------------------------------


def _due() -> dict[str, Select]:
    return {
        "deleted_records": _deleted_records(),
        "inactive_clients": _inactive_clients(),
        "closed_accounts": _closed_accounts(),
        "sent_mail": _sent_mail(),
        "location_history": _location_history(),
    }


def plan() -> Report:
    """The dry run: what a purge now would remove, counted, nothing changed."""
    report = Report(dry_run=True)
    for kind, statement in _due().items():
        report.found[kind] = _count(statement)
    limit = current_settings().retention_max_per_run
    report.held = [kind for kind in GUARDED if report.found[kind] > limit]
    return report


def purge(*, confirm: bool = False) -> Report:
    """Count first (the dry run, audited); then remove what is due, but for a kind of whole
    records over the per-run limit, which waits for an operator's `confirm`. The routine kinds
    (sent mail, location history) are never held. The report is audited, counts only."""
    planned = plan()
    audit.record("retention.planned", ("system", "retention"), details=planned.details())
    held = [] if confirm else planned.held
    if held:
        log.warning("retention purge held for an operator", extra={"held": held})
    report = Report(dry_run=False, held=held)
    due = {kind: list(dbs().scalars(_due()[kind])) for kind in GUARDED if kind not in held}
    for kind in ("deleted_records", "inactive_clients"):
        _purge_clients(due.get(kind, []), kind, report)
    _wipe_closed_accounts(due.get("closed_accounts", []), report)
    report.found["sent_mail"] = report.rows["outbox_messages"] = changed(
        delete(OutboxMessage).where(OutboxMessage.id.in_(_sent_mail().scalar_subquery()))
    )
    report.found["location_history"] = selfservice.prune_locations()
    report.rows["client_locations"] += report.found["location_history"]
    audit.record(
        "retention.purged",
        ("system", "retention"),
        outcome="held" if held else "success",
        details=report.details(),
    )
    log.info("retention purge done", extra={"found": report.found, "held": held})
    return report


@jobs.handler("retention.purge", every=timedelta(days=1))
def purge_job(payload: dict) -> None:
    purge()
