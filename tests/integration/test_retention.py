"""Retention (R64, issue 20): the schedule, the dry run, the purge, its report and its audit
trail, the stored files, and two purges at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.domain import retention
from portal.domain.core import audit, clock, crypto, jobs
from portal.domain.core.roles import Role
from portal.domain.models import (
    AccountToken,
    AuditEvent,
    CareTeamMember,
    Client,
    ClientAccount,
    ClientLocation,
    ClientPhone,
    Consent,
    ContactEvent,
    Conversation,
    Document,
    EsignConsent,
    IdentityCheck,
    Message,
    OutboxMessage,
    ReviewItem,
    TextConsent,
    TextMessage,
    UserSession,
)
from portal.integrations.storage import ObjectMissing, get_store
from tests.conftest import FROZEN_AT
from tests.support import Factories

pytestmark = pytest.mark.requirement("R64")

LONG_AGO = datetime(2018, 6, 1, 12, 0, tzinfo=UTC)


def _count(database, model, *where) -> int:
    return database.session.scalar(select(func.count()).select_from(model).where(*where))


def _client_with_portal_data(
    make: Factories, database, agency, staff, source: str = "hmis_import"
) -> Client:
    """A client who used the portal: an account, a message, a document (stored), an update
    waiting for review, a shared place, a phone given through the portal and one the agency
    keeps, a paper consent and an e-signed one, a care team and a contact (made at the clock's
    time). `source`: mirrored from the HMIS, or made by staff in the portal."""
    account = make.client_account(agency)
    client = database.session.get(Client, account.client_id)
    client.source = source
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
            ClientPhone(client_id=client.id, number="+15555550100", kind="mobile", source="portal"),
            ClientPhone(client_id=client.id, number="+15555550101", kind="home", source="agency"),
            *(
                Consent(
                    client_id=client.id,
                    recorded_by_agency_id=agency.id,
                    permission=True,
                    starts_on=clock.now().date(),
                    ends_on=clock.now().date() + timedelta(days=365),
                    source=kind,
                )
                for kind in ("paper", "electronic")
            ),
            ContactEvent(client_id=client.id, kind="check_in"),
            TextConsent(client_id=client.id, number="+15555550100", confirmed_at=clock.now()),
            TextMessage(
                client_id=client.id,
                agency_id=agency.id,
                to_number="+15555550100",
                kind="messages",
                language="en",
                stale_at=clock.now() + timedelta(days=1),
                status="queued",
            ),
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


def _events(database, action: str, after: int) -> list[AuditEvent]:
    """This test's events of `action` (the audit log outlives every other test's rows)."""
    return database.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action, AuditEvent.id > after)
    ).all()


def _last_event(database) -> int:
    return database.session.scalar(select(func.max(AuditEvent.id))) or 0


def _exists(key: str) -> bool:
    try:
        get_store().open(key).close()
    except ObjectMissing:
        return False
    return True


def _activity_now(database) -> None:
    """An event of the portal's at the clock's now. A live portal's audit log always has
    today's events, and the purge reads a quiet log as a clock that jumped; the audit log
    outlives every other test's rows, and another test may have left its newest event at any
    date (the HMIS round trip's are of 2022)."""
    audit.record("test.activity", ("test", "activity"))
    database.session.commit()


@pytest.fixture(autouse=True)
def _today_has_events(request, database):
    if "frozen_clock" in request.fixturenames:
        clock.freeze(FROZEN_AT)
        _activity_now(database)


@pytest.fixture
def long_ago(frozen_clock):
    clock.freeze(LONG_AGO)
    yield
    clock.freeze(FROZEN_AT)


# Every table the purge of a whole record reaches (through its foreign keys): a new table
# that holds a client's rows must be added here, deliberately.
WHOLE_RECORD_TABLES = {
    "account_tokens",
    "care_team_members",
    "client_accounts",
    "client_invitations",
    "client_locations",
    "client_phones",
    "client_tasks",
    "clients",
    "consent_revocations",
    "consents",
    "contact_events",
    "conversations",
    "documents",
    "enrollments",
    "esign_consents",
    "hmis_contacts",
    "hmis_entries",
    "hmis_living_situations",
    "identity_checks",
    "messages",
    "record_requests",
    "review_items",
    "signature_requests",
    "signatures",
    "text_consents",
    "text_messages",
    "user_sessions",
}


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
    before = _last_event(database)
    clock.freeze(FROZEN_AT)

    planned = retention.plan()
    assert planned.dry_run and planned.found["deleted_records"] == 1
    assert _count(database, Client, Client.id == gone_id) == 1  # a dry run changes nothing

    report = retention.purge()
    database.session.commit()
    assert report.found["deleted_records"] == 1 and report.stored_files == 1
    assert report.rows["clients"] == 1 and report.rows["messages"] == 1
    assert report.rows["care_team_members"] == 1 and report.rows["client_accounts"] == 1
    assert report.rows["consents"] == 2 and report.rows["client_phones"] == 2
    assert (
        set(report.rows) - {"outbox_messages", "text_inbound", "text_numbers"}
        == WHOLE_RECORD_TABLES
    )
    # text_messages: the gone client's text deleted with the record, and the kept client's
    # (stale in the queue since 2018) kept without its number
    assert report.rows["text_consents"] == 1 and report.rows["text_messages"] == 2
    assert _count(database, TextConsent, TextConsent.client_id == gone_id) == 0
    assert _count(database, TextMessage, TextMessage.to_number == "+15555550100") == 0
    for model in (Client, CareTeamMember, ContactEvent, ReviewItem, Document, Conversation):
        column = model.id if model is Client else model.client_id
        assert _count(database, model, column == gone_id) == 0, model
        assert _count(database, model, column == kept_id) == 1, model
    assert _count(database, UserSession, UserSession.account_kind == "client") == 1
    assert not _exists(key)
    [stub] = _events(database, "client.purged", before)
    assert stub.subject_id == gone_public
    assert stub.details == {"reason": "deleted_record", "whole_record": True}
    [summary] = _events(database, "retention.purged", before)
    assert summary.details["deleted_records"] == 1 and summary.details["stored_files"] == 1
    assert "library" not in str(summary.details)  # counts, never values
    assert len(_events(database, "retention.planned", before)) == 1  # the dry run, first


def test_a_client_gone_seven_years_loses_what_the_portal_holds_but_keeps_the_hmis_record(
    make, database, agency_a, case_manager_user, frozen_clock
):
    clock.freeze(LONG_AGO)
    gone = _client_with_portal_data(make, database, agency_a, case_manager_user)
    written_to = _client_with_portal_data(make, database, agency_a, case_manager_user)
    invited = _client_with_portal_data(make, database, agency_a, case_manager_user)
    gone_id, written_id, invited_id = gone.id, written_to.id, invited.id
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
    database.session.add(  # checked who they are last month, to invite them again: not gone
        IdentityCheck(
            client_id=invited_id,
            staff_id=case_manager_user.id,
            agency_id=agency_a.id,
            facts={"facts": ["dob", "photo"]},
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
    # What the portal collected goes with the rest; the agency's phone and the paper consent
    # are the record's.
    assert database.session.scalars(
        select(ClientPhone.source).where(ClientPhone.client_id == gone_id)
    ).all() == ["agency"]
    assert database.session.scalars(
        select(Consent.source).where(Consent.client_id == gone_id)
    ).all() == ["paper"]
    for model in (ReviewItem, Document, Conversation):
        assert _count(database, model, model.client_id == gone_id) == 0, model
        for other in (written_id, invited_id):
            assert _count(database, model, model.client_id == other) >= 1, model
    assert _count(database, ClientLocation) == 0  # all: history goes after 90 days anyway
    assert report.found["location_history"] == 2  # the ones the purge of `gone` did not take
    assert _count(database, ClientAccount, ClientAccount.client_id == gone_id) == 0
    gone_keys = {k for k in keys if not _exists(k)}
    assert len(gone_keys) == 1 and len(keys) == 3
    assert retention.plan().found["inactive_clients"] == 0  # nothing left to find


def test_a_record_staff_made_in_the_portal_goes_whole_when_its_client_is_gone_seven_years(
    make, database, agency_a, case_manager_user, frozen_clock
):
    clock.freeze(LONG_AGO)
    made_here = _client_with_portal_data(
        make, database, agency_a, case_manager_user, source="staff"
    )
    made_id, public_id = made_here.id, str(made_here.public_id)
    untouched = make.client(agency_a, source="hmis_import")  # nothing of the portal's: stays
    untouched_id = untouched.id
    before = _last_event(database)
    clock.freeze(FROZEN_AT)

    report = retention.purge()
    database.session.commit()
    assert report.found["inactive_clients"] == 1
    assert database.session.get(Client, made_id) is None  # the portal was its only keeper
    assert database.session.get(Client, untouched_id) is not None
    [stub] = _events(database, "client.purged", before)
    assert stub.subject_id == public_id
    assert stub.details == {"reason": "inactive_client", "whole_record": True}


def test_a_clock_far_ahead_holds_every_record_for_an_operator(
    make, database, agency_a, case_manager_user, frozen_clock
):
    """The clock says 2034: everything would look 8 years old."""
    _client_with_portal_data(make, database, agency_a, case_manager_user)
    retention.purge()  # today: nothing due; the audit log has today's events
    database.session.commit()
    clock.freeze(FROZEN_AT + timedelta(days=8 * 365))
    held = retention.purge()
    database.session.commit()
    assert held.held == ["inactive_clients"] and held.found["inactive_clients"] == 0
    assert _count(database, Document) == 1
    confirmed = retention.purge(confirm=True)
    database.session.commit()
    assert confirmed.found["inactive_clients"] == 1 and _count(database, Document) == 0
    summary = database.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "retention.purged")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).one()
    assert summary.details["confirmed_over_hold"] == ["inactive_clients"]


def test_a_closed_account_loses_its_sign_in_data_after_a_year_and_the_client_can_be_invited(
    make, database, agency_a, frozen_clock
):
    closed_long_ago = make.client_account(agency_a)
    closed_lately = make.client_account(agency_a)
    closed_long_ago.is_active = closed_lately.is_active = False
    closed_long_ago.deactivated_at = FROZEN_AT - timedelta(days=400)
    closed_lately.deactivated_at = FROZEN_AT - timedelta(days=300)
    closed_long_ago.pending_email = "new.me@example.org"
    database.session.add_all(
        [
            AccountToken(
                token_hash="a" * 64,
                purpose="password_reset",
                account_kind="client",
                account_id=closed_long_ago.id,
                expires_at=FROZEN_AT,
            ),
            UserSession(  # ended at the closing, still in the table
                sid_hash="b" * 64,
                account_kind="client",
                account_id=closed_long_ago.id,
                created_at=FROZEN_AT - timedelta(days=401),
                last_seen_at=FROZEN_AT - timedelta(days=400),
                expires_at=FROZEN_AT + timedelta(days=1),
            ),
            EsignConsent(
                account_id=closed_long_ago.id,
                disclosure_version=1,
                language="en",
                disclosure_sha256="c" * 64,
                accepted_at=FROZEN_AT - timedelta(days=500),
                ip="203.0.113.9",
                user_agent="Phone browser",
            ),
        ]
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
    assert closed_long_ago.first_name == "" and closed_long_ago.pending_email is None
    for model in (AccountToken, UserSession):
        assert _count(database, model, model.account_id == closed_long_ago.id) == 0, model
    consent = database.session.scalars(
        select(EsignConsent).where(EsignConsent.account_id == closed_long_ago.id)
    ).one()  # what it agreed to stays (its signatures point to it), not where from
    assert consent.ip is None and consent.user_agent is None
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
    before = _last_event(database)
    original = app.extensions["portal.settings"]
    app.extensions["portal.settings"] = original.with_overrides(retention_max_per_run=1)
    try:
        held = retention.purge()
        database.session.commit()
        assert held.held == ["inactive_clients"] and held.found["inactive_clients"] == 0
        assert _count(database, Document) == 2  # none of those removed
        assert held.found["location_history"] == 2  # the routine kinds go ahead
        [summary] = _events(database, "retention.purged", before)
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
    before = _last_event(database)
    jobs.enqueue("retention.purge", {})
    database.session.commit()
    assert jobs.run_pending() == 1
    database.session.expire_all()
    assert _count(database, Document) == 0
    assert len(_events(database, "retention.purged", before)) == 1


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
    _activity_now(database)
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
