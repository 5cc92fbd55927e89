"""Issue 15: the worker outlives a locked, lost or restarted database, and a job a dead worker
held is taken again when its lease lapses (never lost)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from portal.domain.core import clock, jobs
from portal.domain.models import Job
from portal.extensions import db
from tests.support import build_app

DONE: list[int] = []


@pytest.fixture
def counting_job():
    DONE.clear()
    jobs.HANDLERS["test.survive"] = jobs.Handler(
        "test.survive", lambda payload: DONE.append(payload["n"])
    )
    yield
    jobs.HANDLERS.pop("test.survive", None)


def _worker(app, stop: threading.Event) -> threading.Thread:
    def run():
        with app.app_context():
            jobs.work("survivor", stop=stop, poll=0.02, end_each=db.session.remove)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _wait_for(condition, seconds: float = 20.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _trouble(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "could not reach the database" in r.msg]


def test_the_worker_waits_out_a_locked_sqlite_database(tmp_path, counting_job, caplog):
    caplog.set_level(logging.WARNING, logger="portal.jobs")
    app = build_app(
        tmp_path, f"sqlite:///{tmp_path / 'worker.sqlite3'}", sqlite_busy_timeout_ms=100
    )
    with app.app_context():
        jobs.enqueue("test.survive", {"n": 1})
        db.session.commit()
        db.session.remove()
    holder = sqlite3.connect(tmp_path / "worker.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock well past the timeout
    stop = threading.Event()
    thread = _worker(app, stop)
    try:
        assert _wait_for(lambda: len(_trouble(caplog)) >= 2)
        assert thread.is_alive() and DONE == []
        holder.execute("ROLLBACK")
        assert _wait_for(lambda: DONE == [1]), "the job never ran after the lock went"
        with app.app_context():
            jobs.enqueue("test.survive", {"n": 2})
            db.session.commit()
            db.session.remove()
        assert _wait_for(lambda: DONE == [1, 2])
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=10)
        holder.close()
        with app.app_context():
            db.engine.dispose()


@pytest.mark.real_commits
def test_the_worker_outlives_postgresql_cutting_its_connection_mid_job(
    app, database, counting_job, frozen_clock, caplog
):
    if database.engine.dialect.name != "postgresql":
        pytest.skip("server-side connection kills are PostgreSQL's (SQLite: the test above)")
    caplog.set_level(logging.WARNING, logger="portal.jobs")
    slow_once = threading.Event()

    def handler(payload):
        if payload["n"] == 0 and not slow_once.is_set():
            slow_once.set()
            db.session.execute(text("SELECT pg_sleep(5)"))  # cut short by the restart
        DONE.append(payload["n"])

    jobs.HANDLERS["test.survive"] = jobs.Handler("test.survive", handler)
    jobs.enqueue("test.survive", {"n": 0})
    database.session.commit()
    stop = threading.Event()
    thread = _worker(app, stop)
    try:
        assert _wait_for(slow_once.is_set)
        time.sleep(0.2)
        # What a server restart does to the worker: its connection is cut mid-statement.
        database.session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        database.session.commit()
        for n in range(1, 4):
            jobs.enqueue("test.survive", {"n": n})
        database.session.commit()
        assert _wait_for(lambda: sorted(DONE) == [1, 2, 3]), DONE
        cut = database.session.scalar(
            select(Job).where(Job.kind == "test.survive", Job.payload["n"].as_integer() == 0)
        )
        assert cut.status == "queued" and cut.last_error == "OperationalError"  # retried later
        frozen_clock.advance(timedelta(minutes=1, seconds=1))  # the first retry's wait
        assert _wait_for(lambda: sorted(DONE) == [0, 1, 2, 3]), DONE
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(timeout=10)
    database.session.expire_all()
    states = database.session.scalars(select(Job.status).where(Job.kind == "test.survive")).all()
    assert states == ["done"] * 4


@pytest.mark.requirement("R68")
def test_a_job_held_by_a_worker_that_died_is_taken_again_after_its_lease(
    database, frozen_clock, counting_job
):
    jobs.enqueue("test.survive", {"n": 7})
    database.session.commit()
    claimed = jobs.claim("died-mid-job")  # claimed and committed, then the process was killed
    assert claimed is not None and DONE == []
    assert jobs.run_one("other") is False  # still leased to the dead worker
    frozen_clock.advance(jobs.LEASE + timedelta(seconds=1))
    assert jobs.run_one("other") is True
    job = database.session.get(Job, claimed.id)
    assert DONE == [7] and job.status == "done" and job.attempts == 2
    assert clock.now() >= job.finished_at
