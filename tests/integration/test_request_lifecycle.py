"""Issue 15: one transaction per request, no session row for visitors with nothing to keep,
and an error path that cannot fail (503 when the database is busy or gone, a success when the
work was saved, a friendly page always)."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from portal.access import client_only, public
from portal.domain import messaging
from portal.domain.accounts.onboarding import PRIVACY_VERSION
from portal.domain.accounts.passwords import hash_password
from portal.domain.core import clock
from portal.domain.core.session import after_commit
from portal.domain.models import Agency, Client, ClientAccount, Message, UserSession
from portal.extensions import db
from tests.support import TEST_PASSWORD, CheckingClient, build_app, make_settings, signed_in

COOKIE = "__Host-portal"


def session_rows(database) -> int:
    return database.session.scalar(select(func.count()).select_from(UserSession))


# --- anonymous visitors ----------------------------------------------------------------------


def test_anonymous_pages_404s_and_a_language_choice_create_no_session_row(anonymous, database):
    for path in (
        "/",
        "/sign-in",
        "/staff/sign-in",
        "/forgot-password",
        "/no-such-page",
        "/privacy",
    ):
        anonymous.get(path)
    anonymous.form("/language", {"lang": "es", "next": "/"}, token_from="/")
    assert session_rows(database) == 0
    cookie = anonymous.get_cookie(COOKIE).value
    assert "." in cookie  # signed data, not a row's random id
    assert '<html lang="es">' in anonymous.get("/").get_data(as_text=True)  # the choice is kept


def test_a_failed_sign_in_creates_no_row_and_its_form_still_works(anonymous, database, make):
    account = make.client_account()
    wrong = anonymous.form("/sign-in", {"email": account.email, "password": "x" * 16})
    assert wrong.status_code == 200 and session_rows(database) == 0
    right = anonymous.form("/sign-in", {"email": account.email, "password": TEST_PASSWORD})
    assert right.status_code == 303 and session_rows(database) == 1


def test_a_tampered_or_foreign_anonymous_cookie_is_ignored(app, database):
    browser = app.test_client()
    browser.set_cookie(COOKIE, "eyJsYW5nIjoiZXMifQ.forged.signature")
    page = browser.get("/")
    assert page.status_code == 200 and '<html lang="en">' in page.get_data(as_text=True)
    assert "forged" not in (browser.get_cookie(COOKIE).value if browser.get_cookie(COOKIE) else "")
    assert session_rows(database) == 0


@pytest.mark.requirement("R22")
def test_an_invitation_being_redeemed_binds_a_row_to_the_browser(app, database, make):
    """State bound to this browser (which invitation, which step) lives in a row."""
    from portal.domain.core.roles import Role
    from portal.domain.core.tokens import hash_token
    from portal.domain.models import ClientInvitation, IdentityCheck

    agency = make.agency()
    staff = make.staff(Role.CASE_MANAGER, agency)
    client = make.client(agency, email="robin@example.org", dob=date(1990, 6, 1))
    check = IdentityCheck(client_id=client.id, staff_id=staff.id, agency_id=agency.id, facts={})
    database.session.add(check)
    database.session.flush()
    raw = uuid.uuid4().hex
    database.session.add(
        ClientInvitation(
            client_id=client.id,
            agency_id=agency.id,
            issued_by_id=staff.id,
            identity_check_id=check.id,
            delivery="email",
            token_hash=hash_token(raw),
            expires_at=clock.now() + timedelta(hours=72),
        )
    )
    database.session.commit()
    browser = app.test_client()
    assert browser.get(f"/invitation/{raw}").status_code == 200
    assert session_rows(database) == 0  # opening the link changes nothing
    started = browser.form(f"/invitation/{raw}", {})
    assert started.status_code == 303 and started.headers["Location"].endswith("/date-of-birth")
    assert session_rows(database) == 1
    assert "." not in browser.get_cookie(COOKIE).value  # a random id now


# --- one transaction per request ------------------------------------------------------------


class Statements:
    def __init__(self, engine):
        self.engine, self.sql, self.begins = engine, [], 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "begin", self._begin)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "begin", self._begin)

    def _statement(self, conn, cursor, statement, *args):
        if not statement.startswith(("BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK")):
            self.sql.append(statement.split(None, 3)[:3])

    def _begin(self, conn):
        self.begins += 1

    @property
    def writes(self) -> list[str]:
        return [" ".join(s) for s in self.sql if s[0] in ("INSERT", "UPDATE", "DELETE")]


def test_a_signed_in_page_writes_its_activity_at_most_once_a_minute(
    app, frozen_clock, client_user, database
):
    with Statements(db.engine) as seen:
        assert client_user.get("/home").status_code == 200
    assert seen.writes == []  # signed in a moment ago: nothing to write
    frozen_clock.advance(timedelta(seconds=59))
    with Statements(db.engine) as seen:
        client_user.get("/home")
    assert seen.writes == []
    frozen_clock.advance(timedelta(seconds=2))
    with Statements(db.engine) as seen:
        client_user.get("/home")
    assert seen.writes == ["UPDATE user_sessions SET"]
    row = database.session.scalar(select(UserSession).where(UserSession.ended_at.is_(None)))
    assert row.last_seen_at == clock.now()


@pytest.mark.requirement("R24")
def test_the_timeout_warning_gets_the_real_deadline(app, frozen_clock, client_user):
    frozen_clock.advance(timedelta(seconds=40))  # activity written 40 s ago: 15 min - 40 s
    page = client_user.get("/home").get_data(as_text=True)
    assert 'data-idle-seconds="860"' in page


@pytest.mark.requirement("R24")
def test_stay_signed_in_restarts_the_idle_timeout_at_once(app, frozen_clock, client_user):
    frozen_clock.advance(timedelta(seconds=30))
    assert client_user.form("/session/keep-alive", {}, token_from="/home").status_code == 204
    frozen_clock.advance(timedelta(minutes=14, seconds=50))  # 15:20 after sign-in
    assert client_user.get("/home").status_code == 200


def test_a_form_and_its_session_change_commit_together_in_one_transaction(app, client_user):
    """A POST: the account's new language and the session's (its row) are one transaction,
    on SQLite one that began as a writer."""
    token = client_user.csrf_token("/account")
    with Statements(db.engine) as seen:
        saved = client_user.post(
            "/account/preferences",
            data={"csrf_token": token, "language": "es"},
        )
    assert saved.status_code == 303
    assert "UPDATE client_accounts SET" in seen.writes
    assert "UPDATE user_sessions SET" in seen.writes
    if db.engine.dialect.name == "sqlite":
        assert seen.begins <= 1  # the test's savepoints are not new transactions


def test_a_notice_after_a_form_is_shown_without_writing_anything(app, client_user):
    """ "Saved." travels in its own signed cookie: the page after the form only reads."""
    token = client_user.csrf_token("/home")
    assert client_user.post("/check-in", data={"csrf_token": token}).status_code == 303
    assert client_user.get_cookie("__Host-portal-notice") is not None
    with Statements(db.engine) as seen:
        page = client_user.get("/home").get_data(as_text=True)
    assert 'class="notice notice-success"' in page and seen.writes == []
    assert client_user.get_cookie("__Host-portal-notice") is None  # shown once
    assert 'class="notice' not in client_user.get("/home").get_data(as_text=True)


# --- the error path -------------------------------------------------------------------------


def test_work_that_committed_answers_as_a_success_even_if_a_step_after_fails(
    app, client_user, database, monkeypatch, caplog
):
    from portal.domain.core.roles import Role
    from portal.domain.models import CareTeamMember, StaffUser

    record = database.session.get(Client, client_user.account.client_id)
    staff = StaffUser(
        email="cm2@staff.test",
        display_name="C",
        role=Role.CASE_MANAGER,
        agency=record.owning_agency,
    )
    record.care_team.append(CareTeamMember(staff=staff, is_case_manager=True))
    database.session.commit()
    original = messaging.client_write

    def write_then_fail_after_commit(*args, **kwargs):
        message = original(*args, **kwargs)
        after_commit(lambda: 1 / 0)  # e.g. a storage clean-up that fails
        return message

    monkeypatch.setattr(messaging, "client_write", write_then_fail_after_commit)
    caplog.set_level(logging.ERROR, logger="portal")
    sent = client_user.form(
        "/messages/new",
        {"recipient": str(staff.public_id), "body": "saved for sure", "key": "after-commit-1"},
    )
    assert sent.status_code == 303
    assert database.session.scalar(select(Message.body).where(Message.body == "saved for sure"))
    assert any("after commit failed" in r.getMessage() for r in caplog.records)


@pytest.mark.requirement("R40")
def test_an_error_after_a_failed_flush_shows_the_friendly_page(app, client_user, monkeypatch):
    """The handler rolls back before it renders: no PendingRollbackError, no bare page."""

    @client_only
    def broken():
        db.session.add(Agency(name=None, timezone="UTC"))
        db.session.flush()  # IntegrityError: name is required

    monkeypatch.setitem(app.view_functions, "client.home", broken)
    page = client_user.get("/home")
    assert page.status_code == 500
    text = page.get_data(as_text=True)
    assert "<title>Sorry, something went wrong – HMIS Portal</title>" in text
    assert client_user.get("/messages").status_code == 200  # the next request is fine


def test_an_integrity_error_is_a_bug_not_an_outage():
    from portal.security import database_unavailable

    assert not database_unavailable(IntegrityError("INSERT", {}, Exception("unique")))


def _unreachable_app(tmp_path):
    settings = make_settings(
        tmp_path, "postgresql+psycopg://portal:portal@127.0.0.1:9/nowhere?connect_timeout=2"
    )
    from portal import create_app

    app = create_app(settings)
    app.test_client_class = CheckingClient
    return app


@pytest.mark.requirement("R40", "R69")
def test_a_database_that_is_gone_answers_503_with_the_friendly_page(tmp_path):
    app = _unreachable_app(tmp_path)
    browser = app.test_client()
    assert browser.get("/").status_code == 200  # a visitor's pages need no database
    assert browser.get("/sign-in").status_code == 200
    for answer in (
        browser.get("/health"),
        browser.form("/sign-in", {"email": "a@b.test", "password": "x" * 16}),
    ):
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "30"
        assert "<h1>Sorry, the service is busy</h1>" in answer.get_data(as_text=True)
    signed = app.test_client()
    signed.set_cookie(COOKIE, "a" * 43)  # a session id: its row cannot be read
    answer = signed.get("/home")
    assert answer.status_code == 503 and "Sorry, the service is busy" in answer.get_data(
        as_text=True
    )
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def locked_sqlite(tmp_path):
    """Its own SQLite file with a 200 ms busy timeout, a signed-in client, and a way to hold
    the write lock from another connection."""
    url = f"sqlite:///{tmp_path / 'busy.sqlite3'}"
    app = build_app(tmp_path, url, sqlite_busy_timeout_ms=200)
    with app.app_context():
        agency = Agency(name="Busy", timezone="America/Los_Angeles")
        record = Client(
            personal_id="busy-1", owning_agency=agency, first_name="B", dob=date(1980, 1, 1)
        )
        db.session.add_all([agency, record])
        db.session.flush()
        account = ClientAccount(
            email="busy@client.test",
            first_name="B",
            agency=agency,
            client_id=record.id,
            password_hash=hash_password(TEST_PASSWORD),
            email_verified_at=clock.now(),
            privacy_version=PRIVACY_VERSION,
        )
        db.session.add(account)
        db.session.commit()
        db.session.remove()  # no transaction left open here: it would hold the write lock
    browser = signed_in(app, SimpleNamespace(email="busy@client.test", kind="client"))
    holder = sqlite3.connect(tmp_path / "busy.sqlite3", isolation_level=None)
    yield app, browser, holder
    holder.close()
    with app.app_context():
        db.engine.dispose()


@pytest.mark.requirement("R69")
def test_a_busy_sqlite_answers_503_to_a_writer_and_keeps_serving_readers(locked_sqlite):
    _app, browser, holder = locked_sqlite
    token = browser.csrf_token("/home")
    holder.execute("BEGIN IMMEDIATE")  # someone else holds the write lock past the timeout
    try:
        assert browser.get("/home").status_code == 200  # readers read beside a writer (WAL)
        refused = browser.post("/check-in", data={"csrf_token": token})
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "30"
        assert "Nothing you entered was saved" in refused.get_data(as_text=True)
    finally:
        holder.execute("ROLLBACK")
    count = holder.execute("SELECT count(*) FROM contact_events").fetchone()[0]
    assert count == 0
    assert browser.post("/check-in", data={"csrf_token": token}).status_code == 303
    assert holder.execute("SELECT count(*) FROM contact_events").fetchone()[0] == 1


@pytest.mark.requirement("R41")
def test_a_reading_request_that_writes_undeclared_is_a_bug_in_tests(app, client_user, monkeypatch):
    """The guard that found every GET that writes: in tests it raises (a 500 here), so a page
    that would fail under load on SQLite fails in the suite instead."""

    @public
    def sneaky():
        db.session.execute(UserSession.__table__.update().values(user_agent="sneaky"))
        return "written"

    monkeypatch.setitem(app.view_functions, "client.privacy", sneaky)
    assert client_user.get("/privacy").status_code == 500


def test_sign_in_checks_the_password_before_it_takes_the_write_lock(locked_sqlite):
    """Argon2 takes about 0.2 s: on SQLite the sign-in reads (and hashes) first, then takes
    the write lock only for its writes, so other writers do not wait for the hashing."""
    app, _browser, _holder = locked_sqlite
    with app.app_context():
        engine = db.engine
    fresh = app.test_client()
    fresh.get("/sign-in")
    seen: list[str] = []

    def statement(_conn, _cursor, sql, *_args):
        seen.append(sql.split()[0] + (" IMMEDIATE" if "IMMEDIATE" in sql else ""))

    event.listen(engine, "before_cursor_execute", statement)
    try:
        answer = fresh.form("/sign-in", {"email": "busy@client.test", "password": TEST_PASSWORD})
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    assert answer.status_code == 303
    first_write = next(i for i, s in enumerate(seen) if s in ("UPDATE", "INSERT"))
    assert seen[0] == "BEGIN" and "BEGIN IMMEDIATE" in seen[:first_write], seen


def test_an_idle_worker_poll_takes_no_write_lock(locked_sqlite):
    """With nothing due, the worker only reads: another writer holding SQLite's lock (past
    the busy timeout) does not make the poll fail."""
    from portal.domain.core import jobs

    app, _browser, holder = locked_sqlite
    holder.execute("BEGIN IMMEDIATE")
    try:
        with app.app_context():
            assert jobs.claim("idle") is None
            db.session.remove()
    finally:
        holder.execute("ROLLBACK")
