"""Retention (R64, issue 20): the schedule, the dry run, the purge, its report and its audit
trail, the stored files, and two purges at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.domain import retention
from portal.domain.core import clock, crypto, jobs
from portal.domain.core.roles import Role
from portal.domain.models import (
    AccountToken,
    AuditEvent,
    CareTeamMember,
    Client,
    ClientAccount,
    ClientLocation,
    ContactEvent,
    Conversation,
    Document,
    Message,
    OutboxMessage,
    ReviewItem,
    UserSession,
)
from portal.integrations.storage import ObjectMissing, get_store
from tests.conftest import FROZEN_AT
from tests.support import Factories

pytestmark = pytest.mark.requirement("R64")

LONG_AGO = datetime(2018, 6, 1, 12, 0, tzinfo=UTC)


def _count(database, model, *where) -> int:
    return database.session.scalar(select(func.count()).select_from(model).where(*where))


def _client_with_portal_data(make: Factories, database, agency, staff) -> Client:
    """A client who used the portal: an account, a message, a document (stored), an update
    waiting for review, a shared place, a care team and a contact (made at the clock's time)."""
    account = make.client_account(agency)
    client = database.session.get(Client, account.client_id)
    conversation = make.conversation(client)
    database.session.add(
        Message(
            conversation_id=conversation.id,
            author_kind="client",
            author_account_id=account.id,
            body="I sleep behind the library now",
            idempotency_key=f"k-{account.id}",
        )
    )
    make.document(client, account=account)
    make.review_item(client, account)
    database.session.add_all(
        [
            ClientLocation(
                client_id=client.id,
                details_encrypted=crypto.encrypt_json({"place": "library"}),
                shared_at=clock.now(),
            ),
            CareTeamMember(client_id=client.id, staff_id=staff.id, is_case_manager=True),
            ContactEvent(client_id=client.id, kind="check_in"),
            UserSession(
                sid_hash=f"{account.id:064d}",
                account_kind="client",
                account_id=account.id,
                created_at=clock.now(),
                last_seen_at=clock.now(),
                expires_at=clock.now() + timedelta(hours=4),
            ),
        ]
    )
    account.last_sign_in_at = client.last_contact_at = clock.now()
    database.session.commit()
    return client


def _exists(key: str) -> bool:
    try:
        get_store().open(key).close()
    except ObjectMissing:
        return False
    return True


@pytest.fixture
def long_ago(frozen_clock):
    clock.freeze(LONG_AGO)
    yield
    clock.freeze(FROZEN_AT)


def test_a_deleted_record_goes_at_its_purge_date_with_its_files_and_leaves_an_audit_stub(
    make, database, agency_a, case_manager_user, frozen_clock
):
    clock.freeze(LONG_AGO)
    gone = _client_with_portal_data(make, database, agency_a, case_manager_user)
    kept = _client_with_portal_data(make, database, agency_a, case_manager_user)
    gone.mark_deleted(datetime(2019, 1, 10, tzinfo=UTC))  # purge date 2026-01-10
    kept.mark_deleted(datetime(2019, 6, 10, tzinfo=UTC))  # 2026-06-10: not yet
    database.session.commit()
    key = database.session.scalar(select(Document.storage_key).where(Document.client_id == gone.id))
    gone_id, gone_public, kept_id = gone.id, str(gone.public_id), kept.id
    clock.freeze(FROZEN_AT)

    planned = retention.plan()
    assert planned.dry_run and planned.found["deleted_records"] == 1
    assert _count(database, Client, Client.id == gone_id) == 1  # a dry run changes nothing

    report = retention.purge()
    database.session.commit()
    assert report.found["deleted_records"] == 1 and report.stored_files == 1
    assert report.rows["clients"] == 1 and report.rows["messages"] == 1
    assert report.rows["care_team_members"] == 1 and report.rows["client_accounts"] == 1
    for model in (Client, CareTeamMember, ContactEvent, ReviewItem, Document, Conversation):
        column = model.id if model is Client else model.client_id
        assert _count(database, model, column == gone_id) == 0, model
        assert _count(database, model, column == kept_id) == 1, model
    assert _count(database, UserSession, UserSession.account_kind == "client") == 1
    assert not _exists(key)
    stub = database.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "client.purged")
    ).one()
    assert stub.subject_id == gone_public and stub.details == {"reason": "deleted_record"}
    summary = database.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "retention.purged")
    ).one()
    assert summary.details["deleted_records"] == 1 and summary.details["stored_files"] == 1
    assert "library" not in str(summary.details)  # counts, never values


def test_a_client_gone_seven_years_loses_what_the_portal_holds_but_keeps_the_hmis_record(
    make, database, agency_a, case_manager_user, frozen_clock
):
    clock.freeze(LONG_AGO)
    gone = _client_with_portal_data(make, database, agency_a, case_manager_user)
    written_to = _client_with_portal_data(make, database, agency_a, case_manager_user)
    gone_id, written_id = gone.id, written_to.id
    keys = set(database.session.scalars(select(Document.storage_key)))
    clock.freeze(FROZEN_AT - timedelta(days=30))
    conversation = database.session.scalars(
        select(Conversation).where(Conversation.client_id == written_id)
    ).one()
    database.session.add(  # staff wrote last month: not gone
        Message(
            conversation_id=conversation.id,
            author_kind="staff",
            author_staff_id=case_manager_user.id,
            body="Are you still at the library?",
            idempotency_key="recent",
        )
    )
    database.session.commit()
    clock.freeze(FROZEN_AT)

    assert retention.plan().found["inactive_clients"] == 1
    report = retention.purge()
    database.session.commit()
    assert report.found["inactive_clients"] == 1 and report.stored_files == 1
    assert database.session.get(Client, gone_id) is not None  # the HMIS's record stays
    for model in (CareTeamMember, ContactEvent):
        assert _count(database, model, model.client_id == gone_id) == 1, model
    for model in (ReviewItem, Document, Conversation):
        assert _count(database, model, model.client_id == gone_id) == 0, model
        assert _count(database, model, model.client_id == written_id) >= 1, model
    assert _count(database, ClientLocation) == 0  # both: history goes after 90 days anyway
    assert report.found["location_history"] == 1  # the one the purge of `gone` did not take
    assert _count(database, ClientAccount, ClientAccount.client_id == gone_id) == 0
    assert [k for k in keys if _exists(k)] == [
        database.session.scalar(
            select(Document.storage_key).where(Document.client_id == written_id)
        )
    ]
    assert retention.plan().found["inactive_clients"] == 0  # nothing left to find


def test_a_closed_account_loses_its_sign_in_data_after_a_year_and_the_client_can_be_invited(
    make, database, agency_a, frozen_clock
):
    closed_long_ago = make.client_account(agency_a)
    closed_lately = make.client_account(agency_a)
    closed_long_ago.is_active = closed_lately.is_active = False
    closed_long_ago.deactivated_at = FROZEN_AT - timedelta(days=400)
    closed_lately.deactivated_at = FROZEN_AT - timedelta(days=300)
    database.session.add(
        AccountToken(
            token_hash="a" * 64,
            purpose="password_reset",
            account_kind="client",
            account_id=closed_long_ago.id,
            expires_at=FROZEN_AT,
        )
    )
    database.session.commit()
    client_id, old_email = closed_long_ago.client_id, closed_long_ago.email

    report = retention.purge()
    database.session.commit()
    assert report.found["closed_accounts"] == 1
    database.session.refresh(closed_long_ago)
    assert closed_long_ago.email.endswith("@purged.invalid") and old_email not in str(
        closed_long_ago.email
    )
    assert closed_long_ago.password_hash is None and closed_long_ago.client_id is None
    assert _count(database, AccountToken, AccountToken.account_id == closed_long_ago.id) == 0
    assert _count(database, ClientAccount, ClientAccount.client_id == client_id) == 0
    database.session.refresh(closed_lately)
    assert closed_lately.password_hash is not None
    assert retention.purge().found["closed_accounts"] == 0  # once


def test_sent_mail_goes_after_30_days_and_mail_still_to_send_stays(database, frozen_clock):
    for status, sent_at in (
        ("sent", FROZEN_AT - timedelta(days=31)),
        ("sent", FROZEN_AT - timedelta(days=29)),
        ("queued", None),
    ):
        database.session.add(
            OutboxMessage(
                template="client_message",
                to_address="someone@example.org",
                language="en",
                params={"first_name": "Robin"},
                status=status,
                sent_at=sent_at,
                created_at=FROZEN_AT - timedelta(days=40),
            )
        )
    database.session.commit()
    assert retention.plan().found["sent_mail"] == 1
    assert retention.purge().found["sent_mail"] == 1
    database.session.commit()
    assert sorted(database.session.scalars(select(OutboxMessage.status))) == ["queued", "sent"]


def test_too_much_at_once_waits_for_an_operator(
    app, make, database, agency_a, case_manager_user, frozen_clock
):
    clock.freeze(LONG_AGO)
    for _ in range(2):
        _client_with_portal_data(make, database, agency_a, case_manager_user)
    clock.freeze(FROZEN_AT)
    original = app.extensions["portal.settings"]
    app.extensions["portal.settings"] = original.with_overrides(retention_max_per_run=1)
    try:
        held = retention.purge()
        database.session.commit()
        assert held.held == ["inactive_clients"] and held.found["inactive_clients"] == 0
        assert _count(database, Document) == 2  # none of those removed
        assert held.found["location_history"] == 2  # the routine kinds go ahead
        summary = database.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "retention.purged")
        ).one()
        assert summary.outcome == "held" and summary.details["held"] == ["inactive_clients"]
        runner = app.test_cli_runner()
        refused = runner.invoke(args=["retention", "--purge"])
        assert refused.exit_code == 2 and "--confirm" in refused.output
        done = runner.invoke(args=["retention", "--purge", "--confirm"])
        assert done.exit_code == 0, done.output
        assert "2  clients gone for RETENTION_INACTIVE_YEARS" in done.output
    finally:
        app.extensions["portal.settings"] = original
    database.session.expire_all()
    assert _count(database, Document) == 0


def test_the_command_is_a_dry_run_unless_told_to_purge(
    app, make, database, agency_a, case_manager_user, frozen_clock
):
    clock.freeze(LONG_AGO)
    _client_with_portal_data(make, database, agency_a, case_manager_user)
    clock.freeze(FROZEN_AT)
    dry = app.test_cli_runner().invoke(args=["retention"])
    assert dry.exit_code == 0, dry.output
    assert "due (dry run: nothing removed)" in dry.output
    assert "1  clients gone for RETENTION_INACTIVE_YEARS" in dry.output
    assert "library" not in dry.output and "Robin" not in dry.output
    database.session.expire_all()
    assert _count(database, Document) == 1


def test_the_daily_job_purges(make, database, agency_a, case_manager_user, frozen_clock):
    assert jobs.HANDLERS["retention.purge"].every == timedelta(days=1)
    clock.freeze(LONG_AGO)
    _client_with_portal_data(make, database, agency_a, case_manager_user)
    clock.freeze(FROZEN_AT)
    jobs.enqueue("retention.purge", {})
    database.session.commit()
    assert jobs.run_pending() == 1
    database.session.expire_all()
    assert _count(database, Document) == 0
    assert _count(database, AuditEvent, AuditEvent.action == "retention.purged") == 1


def test_the_schedule_refuses_less_than_seven_years_for_clients_gone():
    from portal.settings import from_env

    settings = from_env({"PORTAL_ENV": "development", "RETENTION_INACTIVE_YEARS": "5"})
    assert any("RETENTION_INACTIVE_YEARS" in p for p in settings.problems())


@pytest.mark.real_commits
def test_two_purges_at_once_purge_each_client_once(app, database):
    """The daily job and an operator's command at the same moment (both databases)."""
    make = Factories(database.session)
    clock.freeze(LONG_AGO)
    agency = make.agency()
    staff = make.staff(Role.CASE_MANAGER, agency)
    clients = [_client_with_portal_data(make, database, agency, staff) for _ in range(3)]
    ids, public_ids = [c.id for c in clients], [str(c.public_id) for c in clients]
    clock.freeze(FROZEN_AT)
    database.session.commit()
    database.session.remove()
    barrier = threading.Barrier(2)
    found: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                report = retention.purge()
                database.session.commit()
                found.append(report.found["inactive_clients"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and sum(found) == 3
    with app.app_context():
        purged = database.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "client.purged", AuditEvent.subject_id.in_(public_ids))
        )
        assert purged == 3
        assert (
            database.session.scalar(
                select(func.count()).select_from(Document).where(Document.client_id.in_(ids))
            )
            == 0
        )
