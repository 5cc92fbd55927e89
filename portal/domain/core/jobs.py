"""Database-backed background jobs, run by `flask worker`.

- `enqueue()` adds a job in the caller's transaction (so it exists only if the change commits).
- A worker claims one job at a time: `FOR UPDATE SKIP LOCKED` on PostgreSQL, and a
  compare-and-set on the status everywhere, so two workers never run one job.
- A failing job is retried with exponential backoff (1 min doubling to 1 h) up to its
  handler's `max_attempts`, then marked failed. Handlers must be idempotent: a worker that
  dies mid-job leaves it running until its lease expires, and then it runs again.
- Recurring jobs re-enqueue themselves after each run (`recurring()`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from portal.domain.core import clock
from portal.domain.core.session import changed, dbs, reading, reset_intent, will_write
from portal.domain.core.statuses import JobStatus
from portal.domain.models import Job
from portal.settings import current as current_settings

log = logging.getLogger("portal.jobs")

LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Handler:
    kind: str
    func: Callable[[dict[str, Any]], None]
    max_attempts: int = 8
    every: timedelta | None = None
    # The handler talks to something slow (SMTP, the scanner, the object store) between
    # reading and writing: it runs as a reader and calls `will_write()` before it writes, so
    # on SQLite it does not hold the one write lock while it waits.
    reads_first: bool = False


HANDLERS: dict[str, Handler] = {}


def handler(
    kind: str,
    *,
    max_attempts: int = 8,
    every: timedelta | None = None,
    reads_first: bool = False,
):
    """Mark a function as the handler of job `kind`; with `every`, the job recurs at that
    interval. Marking registers nothing: the function is listed in its feature's entry in
    `portal.domain.features`, whose `load()` installs it (no job runs because of an import)."""

    def mark(func):
        func.job = Handler(kind, func, max_attempts, every, reads_first)
        return func

    return mark


class Later(Exception):
    """A handler's "not yet": the job waits until `run_at`, and this try does not count."""

    def __init__(self, run_at):
        super().__init__("later")
        self.run_at = run_at


def install(func) -> None:
    """Make a function marked with `handler()` the one that runs its kind of job."""
    HANDLERS[func.job.kind] = func.job


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


def enqueue(
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at=None,
    unique_key: str | None = None,
) -> Job | None:
    """Add a job. With `unique_key`, nothing is added while a queued or running one exists."""
    if kind not in HANDLERS:
        raise ValueError(f"no handler registered for job {kind!r}")
    session = dbs()
    if unique_key is not None:
        existing = session.scalar(
            select(Job).where(
                Job.unique_key == unique_key, Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING))
            )
        )
        if existing is not None:
            return existing
    job = Job(
        kind=kind,
        payload=payload or {},
        run_at=run_at or clock.now(),
        max_attempts=HANDLERS[kind].max_attempts,
        unique_key=unique_key,
    )
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        return None  # another transaction enqueued the same unique job first
    return job


def ensure_recurring() -> None:
    """Make sure every recurring handler has one pending run (called when a worker starts)."""
    for h in HANDLERS.values():
        if h.every is not None:
            enqueue(h.kind, {}, unique_key=f"recurring:{h.kind}")
    dbs().commit()


def backoff(attempts: int) -> timedelta:
    """The wait before a failed job's next try: the first wait doubling up to the longest
    (settings JOB_RETRY_FIRST_SECONDS, JOB_RETRY_LONGEST_SECONDS; R68's 1 min to 1 h)."""
    settings = current_settings()
    first, longest = settings.job_retry_first, settings.job_retry_longest
    return min(first * (2 ** max(attempts - 1, 0)), longest)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(worker: str) -> Claimed | None:
    """Take the next due job for this worker and commit the claim.

    It looks as a reader and writes only a claim: an idle poll takes no write lock (SQLite has
    one, and a worker holding it while the machine is busy stalled every form for seconds),
    and a claim is a compare-and-set, so two workers never take one job. On PostgreSQL the
    candidates are also locked (FOR UPDATE SKIP LOCKED) in the same transaction."""
    session = dbs()
    now = clock.now()
    stale = now - LEASE
    intent = reading()
    try:
        candidates = session.scalars(
            select(Job.id)
            .where(
                or_(
                    (Job.status == JobStatus.QUEUED) & (Job.run_at <= now),
                    (Job.status == JobStatus.RUNNING) & (Job.locked_at < stale),
                )
            )
            .order_by(Job.run_at, Job.id)
            .limit(5)
            .with_for_update(skip_locked=True)
        ).all()
        if not candidates:
            session.rollback()
            return None
        will_write()
        for job_id in candidates:
            taken = changed(
                update(Job)
                .where(
                    Job.id == job_id,
                    or_(
                        Job.status == JobStatus.QUEUED,
                        (Job.status == JobStatus.RUNNING) & (Job.locked_at < stale),
                    ),
                )
                .values(
                    status=JobStatus.RUNNING,
                    locked_by=worker,
                    locked_at=now,
                    attempts=Job.attempts + 1,
                )
            )
            if taken == 1:
                job = session.get_one(Job, job_id)
                claimed = Claimed(
                    job.id, job.kind, dict(job.payload), job.attempts, job.max_attempts
                )
                session.commit()
                return claimed
        session.rollback()
        return None
    finally:
        reset_intent(intent)


def _finish(job_id: int, **values: Any) -> None:
    session = dbs()
    session.execute(update(Job).where(Job.id == job_id).values(**values))
    session.commit()


def run_one(worker: str | None = None) -> bool:
    """Claim and run one job. Returns False when nothing was due."""
    session = dbs()
    worker = worker or worker_name()
    job = claim(worker)
    if job is None:
        return False
    h = HANDLERS.get(job.kind)
    intent = reading() if h is not None and h.reads_first else None
    try:
        if h is None:
            raise LookupError(f"no handler for {job.kind}")
        h.func(job.payload)
        will_write()
        session.flush()
        session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(status=JobStatus.DONE, finished_at=clock.now(), last_error=None)
        )
        if h.every is not None:
            session.flush()
            enqueue(job.kind, {}, run_at=clock.now() + h.every, unique_key=f"recurring:{job.kind}")
        session.commit()
        log.info("job done", extra={"job_id": job.id, "kind": job.kind, "attempts": job.attempts})
    except Later as later:
        session.rollback()
        will_write()
        _finish(
            job.id,
            status=JobStatus.QUEUED,
            run_at=later.run_at,
            attempts=job.attempts - 1,
            locked_by=None,
            locked_at=None,
        )
    except Exception as exc:
        session.rollback()
        will_write()
        error = type(exc).__name__  # the class only: messages may carry PII or secrets
        if job.attempts >= job.max_attempts:
            _finish(job.id, status=JobStatus.FAILED, finished_at=clock.now(), last_error=error)
            log.error(
                "job failed for good", extra={"job_id": job.id, "kind": job.kind, "error": error}
            )
            if h is not None and h.every is not None:  # a daily job is still due tomorrow
                enqueue(
                    job.kind, {}, run_at=clock.now() + h.every, unique_key=f"recurring:{job.kind}"
                )
                session.commit()
        else:
            _finish(
                job.id,
                status=JobStatus.QUEUED,
                run_at=clock.now() + backoff(job.attempts),
                last_error=error,
                locked_by=None,
                locked_at=None,
            )
            log.warning(
                "job will be retried", extra={"job_id": job.id, "kind": job.kind, "error": error}
            )
    finally:
        if intent is not None:
            reset_intent(intent)
    return True


class Pause:
    """How long the worker waits after a failure it cannot handle (the database is locked,
    gone or restarting): `first`, doubling up to `longest`, back to `first` after a success."""

    def __init__(self, first: float = 1.0, longest: float = 60.0):
        self.first, self.longest = max(first, 0.05), longest
        self.current = self.first

    def next(self) -> float:
        wait = self.current
        self.current = min(self.current * 2, self.longest)
        return wait

    def reset(self) -> None:
        self.current = self.first


def work(
    name: str,
    *,
    stop: threading.Event,
    burst: bool = False,
    max_jobs: int = 0,
    poll: float = 2.0,
    end_each: Callable[[], None] = lambda: None,
) -> int:
    """The worker's loop: run due jobs until `stop` is set (or, with `burst`, until none is
    due). No failure ends it: a database that is locked, gone or restarting is logged by
    class, waited out (`Pause`) and tried again; a job it held stays claimed until its lease
    lapses and is then taken again. Returns how many jobs ran."""
    ran = 0
    pause = Pause(first=poll)
    ready = False
    while not stop.is_set():
        try:
            if not ready:
                ensure_recurring()
                ready = True
            did = run_one(name)
            pause.reset()
        except Exception as exc:  # the worker outlives any one failure
            wait = pause.next()
            log.warning(
                "worker could not reach the database; waiting",
                extra={"error": type(exc).__name__, "wait_seconds": round(wait, 2)},
            )
            _drop_transaction()
            stop.wait(wait)
            continue
        finally:
            end_each()
        ran += int(did)
        if (max_jobs and ran >= max_jobs) or (burst and not did):
            break
        if not did:
            stop.wait(poll)
    return ran


def _drop_transaction() -> None:
    session = dbs()
    try:
        session.rollback()
    except Exception:  # the connection is gone; the pool replaces it
        session.close()


def run_pending(limit: int = 100, worker: str | None = None) -> int:
    """Run due jobs until none is left (or `limit`); returns how many ran."""
    ran = 0
    while ran < limit and run_one(worker):
        ran += 1
    return ran
