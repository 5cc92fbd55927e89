"""The worker: retries with backoff, recurring jobs, the outbox, SMTP outages, two workers."""

import dataclasses
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.domain.core import jobs, mail
from portal.domain.models import Job, OutboxMessage

CALLS: list[dict] = []


@pytest.fixture
def flaky_handler():
    """A handler that fails twice, then succeeds."""
    CALLS.clear()

    def handler(payload):
        CALLS.append(payload)
        if len(CALLS) < 3:
            raise ConnectionError("not yet")

    jobs.HANDLERS["test.flaky"] = jobs.Handler("test.flaky", handler, max_attempts=5)
    yield
    jobs.HANDLERS.pop("test.flaky", None)


def test_a_job_that_fails_twice_then_succeeds_runs_three_times_and_is_done_once(
    frozen_clock, flaky_handler, database
):
    job = jobs.enqueue("test.flaky", {"n": 1})
    database.session.commit()
    assert jobs.run_pending() == 1
    database.session.refresh(job)
    assert job.status == "queued" and job.last_error == "ConnectionError"
    assert job.run_at - frozen_clock.now() == timedelta(minutes=1)
    assert jobs.run_pending() == 0  # not due yet
    frozen_clock.advance(timedelta(minutes=1))
    jobs.run_pending()
    database.session.refresh(job)
    assert job.run_at - frozen_clock.now() == timedelta(minutes=2)  # backoff doubles
    frozen_clock.advance(timedelta(minutes=2))
    jobs.run_pending()
    frozen_clock.advance(timedelta(hours=1))
    assert jobs.run_pending() == 0
    database.session.refresh(job)
    assert len(CALLS) == 3 and job.status == "done" and job.attempts == 3


def test_a_job_that_keeps_failing_stops_at_its_attempt_limit(frozen_clock, database):
    jobs.HANDLERS["test.broken"] = jobs.Handler("test.broken", lambda p: 1 / 0, max_attempts=3)
    try:
        job = jobs.enqueue("test.broken")
        database.session.commit()
        for _ in range(5):
            jobs.run_pending()
            frozen_clock.advance(timedelta(hours=1))
        database.session.refresh(job)
        assert (
            job.status == "failed" and job.attempts == 3 and job.last_error == "ZeroDivisionError"
        )
    finally:
        jobs.HANDLERS.pop("test.broken")


@pytest.mark.requirement("R68")
def test_backoff_runs_from_one_minute_doubling_to_one_hour(app):
    with app.app_context():
        assert [jobs.backoff(n) for n in (1, 2, 3, 7, 8, 20)] == [
            timedelta(minutes=1),
            timedelta(minutes=2),
            timedelta(minutes=4),
            timedelta(minutes=60),
            timedelta(hours=1),
            timedelta(hours=1),
        ]


def test_backoff_waits_come_from_the_settings_a_fault_run_shortens(app):
    from dataclasses import replace

    from portal.settings import from_env

    read = from_env({"JOB_RETRY_FIRST_SECONDS": "1", "JOB_RETRY_LONGEST_SECONDS": "5"}, [])
    assert (read.job_retry_first, read.job_retry_longest) == (
        timedelta(seconds=1),
        timedelta(seconds=5),
    )
    kept = app.extensions["portal.settings"]
    app.extensions["portal.settings"] = replace(
        kept, job_retry_first=read.job_retry_first, job_retry_longest=read.job_retry_longest
    )
    try:
        with app.app_context():
            assert [jobs.backoff(n).total_seconds() for n in (1, 2, 3, 4, 9)] == [1, 2, 4, 5, 5]
    finally:
        app.extensions["portal.settings"] = kept


def test_a_unique_job_is_enqueued_once_while_pending(database):
    first = jobs.enqueue("sessions.sweep", unique_key="once")
    second = jobs.enqueue("sessions.sweep", unique_key="once")
    assert first.id == second.id


def test_recurring_jobs_schedule_their_next_run(frozen_clock, database):
    jobs.ensure_recurring()
    jobs.run_pending()
    pending = database.session.scalars(
        select(Job).where(Job.kind == "sessions.sweep", Job.status == "queued")
    ).all()
    assert len(pending) == 1 and pending[0].run_at == frozen_clock.now() + timedelta(hours=1)


def test_a_recurring_job_that_failed_for_good_is_still_due_at_its_next_time(
    frozen_clock, database, monkeypatch
):
    """The retention purge failing eight times (a bug, a lock) must not stop it, or the
    location pruning, for good: the next day's run is queued all the same."""
    handler = jobs.HANDLERS["sessions.sweep"]

    def broken(payload):
        raise RuntimeError("a bug")

    monkeypatch.setitem(jobs.HANDLERS, "sessions.sweep", dataclasses.replace(handler, func=broken))
    job = jobs.enqueue("sessions.sweep", unique_key="recurring:sessions.sweep")
    job.attempts = job.max_attempts - 1  # its last try
    database.session.commit()
    assert jobs.run_pending() == 1
    rows = database.session.scalars(
        select(Job).where(Job.kind == "sessions.sweep").order_by(Job.id)
    ).all()
    assert [r.status for r in rows] == ["failed", "queued"]
    assert rows[1].run_at == frozen_clock.now() + handler.every


@pytest.mark.requirement("R68")
def test_an_email_is_only_sent_if_the_change_commits(app, database):
    mail.queue("staff_notification", to="rolled@back.test", language="en", params={"name": "R"})
    database.session.rollback()
    assert (
        database.session.scalar(
            select(OutboxMessage).where(OutboxMessage.to_address == "rolled@back.test")
        )
        is None
    )
    assert database.session.scalar(select(Job).where(Job.kind == "mail.send")) is None


def test_secret_parameters_are_encrypted_and_wiped_once_sent(app, database):
    message = mail.queue(
        "staff_invite",
        to="new@staff.test",
        language="en",
        params={"name": "N", "agency": "A", "hours": 24},
        secret_params={"link": "https://portal.test/staff/set-password/SECRET-TOKEN-VALUE"},
    )
    database.session.commit()
    assert "SECRET-TOKEN-VALUE" not in (message.secret_params or "")
    jobs.run_pending()
    database.session.refresh(message)
    assert message.status == "sent" and message.secret_params is None
    sent = (
        app.extensions["portal.settings"].instance_path / "mail" / f"{message.public_id.hex}.eml"
    ).read_text()
    assert "SECRET-TOKEN-VALUE" in sent


@pytest.fixture
def smtp_settings(app, smtp_server, monkeypatch):
    settings = app.extensions["portal.settings"]
    monkeypatch.setitem(
        app.extensions,
        "portal.settings",
        settings.with_overrides(
            mail_transport="smtp", smtp_port=smtp_server.port, smtp_timeout_seconds=2.0
        ),
    )
    return smtp_server


@pytest.mark.requirement("R68")
def test_smtp_down_keeps_mail_queued_and_delivers_it_once_when_smtp_returns(
    app, frozen_clock, smtp_settings, database
):
    smtp_settings.stop()  # the SMTP server goes away
    message = mail.queue(
        "staff_notification", to="someone@staff.test", language="en", params={"name": "Sol"}
    )
    database.session.commit()
    jobs.run_pending()
    database.session.refresh(message)
    assert message.status == "queued"
    job = database.session.scalar(select(Job).where(Job.kind == "mail.send"))
    assert job.status == "queued" and job.last_error == "MailDeliveryError"
    smtp_settings.start()  # ... and comes back
    frozen_clock.advance(timedelta(minutes=1))
    jobs.run_pending()
    frozen_clock.advance(timedelta(hours=2))
    jobs.run_pending()
    database.session.refresh(message)
    assert message.status == "sent"
    assert len(smtp_settings.messages) == 1
    received = smtp_settings.messages[0]
    assert received["To"] == "someone@staff.test"
    assert message.public_id.hex in received["Message-ID"]
    assert "Sol" in received.get_body(("plain",)).get_content()


@pytest.mark.requirement("R68")
def test_a_retried_send_after_a_crash_reuses_the_same_message_id(app, smtp_settings, database):
    """A worker killed after SMTP accepted but before it recorded "sent" sends again with the
    same Message-ID, so the receiving side can drop the duplicate."""
    message = mail.queue(
        "staff_notification", to="twice@staff.test", language="en", params={"name": "T"}
    )
    database.session.commit()
    from portal.integrations.mail import deliver

    deliver(message, message.params)  # the crashed attempt
    jobs.run_pending()  # the retry
    ids = {m["Message-ID"] for m in smtp_settings.messages}
    assert len(smtp_settings.messages) == 2 and len(ids) == 1


@pytest.mark.requirement("R37")
def test_header_injection_in_an_address_is_refused(database):
    from portal.domain.core.errors import DomainError

    with pytest.raises(DomainError):
        mail.queue("staff_notification", to="a@b.test\r\nBcc: victim@evil.test", language="en")


@pytest.mark.real_commits
def test_two_workers_never_run_one_job_twice(app, database):
    """PostgreSQL: row locks with SKIP LOCKED; SQLite: claims take the write lock in turn."""
    ran: list[int] = []
    lock = threading.Lock()

    def handler(payload):
        with lock:
            ran.append(payload["n"])
        time.sleep(0.01)

    jobs.HANDLERS["test.count"] = jobs.Handler("test.count", handler)
    try:
        for n in range(60):
            jobs.enqueue("test.count", {"n": n})
        database.session.commit()

        def work(name):
            with app.app_context():
                while jobs.run_one(name):
                    pass

        threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(ran) == list(range(60))
        done = database.session.scalars(
            select(Job.locked_by).where(Job.kind == "test.count", Job.status == "done")
        ).all()
        assert len(done) == 60 and set(done) == {"w0", "w1"}
    finally:
        jobs.HANDLERS.pop("test.count")
