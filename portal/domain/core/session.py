"""The database session for domain services, work to run after a successful commit, and the
write intent of the current transaction.

Write intent. SQLite lets one connection write at a time, and a transaction that began by
reading cannot become a writer once another connection has written (it fails at once with
"database is locked"; the busy timeout does not apply). So on SQLite a transaction that may
write starts with `BEGIN IMMEDIATE`, which takes the write lock up front and waits its turn
(up to the busy timeout) instead of failing; a transaction that only reads starts with a plain
`BEGIN` and runs beside the writers (WAL). Every transaction may write by default (the worker,
commands, tests); the web layer marks the requests that read (GET, HEAD) with `reading()`,
and code that writes during such a request calls `will_write()` first. On PostgreSQL the intent
changes nothing: its transactions keep READ COMMITTED and their row locks.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import TypeVar, cast

from sqlalchemy import event, select
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool
from sqlalchemy.sql import Executable

from portal.extensions import db

log = logging.getLogger("portal.db")

_may_write: ContextVar[bool] = ContextVar("portal_db_may_write", default=True)

# Test runs turn this on: a write in a transaction that declared it would only read raises
# instead of being left to fail under load.
STRICT: dict[str, bool] = {"reads": False}


class ReadOnlyViolation(RuntimeError):
    """A transaction begun as a reader wrote without `will_write()` first (a bug)."""


def dbs() -> Session:
    return db.session()


def lock_row(instance) -> None:
    """Lock `instance`'s row until the commit (PostgreSQL; SQLite's writers take turns anyway)
    and read it again, so what follows sees what a transaction before it committed. A plain
    `SELECT id ... FOR UPDATE` of the one table: a refresh that loads relationships by outer
    join cannot lock (PostgreSQL refuses FOR UPDATE on the nullable side of an outer join)."""
    will_write()
    instance = getattr(instance, "_get_current_object", lambda: instance)()  # current_user
    model = type(instance)
    dbs().execute(select(model.id).where(model.id == instance.id).with_for_update())
    dbs().refresh(instance)


def changed(statement: Executable) -> int:
    """Run a bulk UPDATE or DELETE in the current transaction and return how many rows it
    touched: the count a compare-and-set (`... WHERE status = 'open'`) is judged by."""
    return cast(CursorResult, dbs().execute(statement)).rowcount


def read(statement, /, **params) -> Result:
    """Run a display-only Core statement (built once, with bound parameters) on the current
    transaction's connection and return its rows: for the hot pages, where the ORM's
    statement building and object loading cost three times the query itself (measured: a
    panel's query from 0.72 to 0.19 ms on PostgreSQL). Pending ORM changes are flushed first,
    as the ORM's own queries would."""
    session = dbs()
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection().execute(statement, params)


class Together:
    """Display-only lists of different shapes read in one statement, for a page that would
    otherwise send a small query per panel (the client home page: six to one).

    Each part is a Core select of its own columns (no ORDER BY or LIMIT: give those here). The
    statement is a UNION ALL in which every part fills its own columns and typed NULLs stand in
    the other parts' places (so each column keeps one type on both databases), each row numbered
    by its part's own order; `read_together` hands back each part's rows, in that order, as
    named tuples with the part's column names."""

    def __init__(self, **parts: tuple):  # name=(select, order_by tuple, limit or None)
        from collections import namedtuple

        from sqlalchemy import Integer, cast, func, literal_column, null, select, union_all

        slots = [
            (name, column.key, column.type)
            for name, (statement, _order, _limit) in parts.items()
            for column in statement.selected_columns
        ]
        branches = []
        for index, (name, (statement, order_by, limit)) in enumerate(parts.items()):
            own = {column.key: column for column in statement.selected_columns}
            columns = [
                literal_column(str(index), Integer).label("part"),
                func.row_number().over(order_by=order_by).label("pos"),
                *(
                    (own[key] if owner == name else cast(null(), type_)).label(f"{owner}__{key}")
                    for owner, key, type_ in slots
                ),
            ]
            branch = statement.with_only_columns(*columns, maintain_column_froms=True)
            if limit is not None:
                numbered = branch.subquery()
                branch = select(numbered).where(numbered.c.pos <= limit)
            branches.append(branch)
        every = union_all(*branches).subquery()
        self.statement = select(every).order_by(every.c.part, every.c.pos)
        self.names = list(parts)
        self.shapes = []  # per part: (its row type, the result positions of its columns)
        for name, (statement, _order, _limit) in parts.items():
            keys = [column.key for column in statement.selected_columns]
            at = [2 + i for i, slot in enumerate(slots) if slot[0] == name]
            self.shapes.append((namedtuple(f"{name}_row", keys), at))


def read_together(together: Together, /, **params) -> dict[str, list]:
    """Run a `Together` statement: {part name: its rows, in the part's order}."""
    found: dict[str, list] = {name: [] for name in together.names}
    for row in read(together.statement, **params):
        shape, at = together.shapes[row[0]]
        found[together.names[row[0]]].append(shape._make(row[i] for i in at))
    return found


def reading() -> Token:
    """The work that follows only reads (a GET). Returns the token that `reset_intent` takes."""
    return _may_write.set(False)


def reset_intent(token: Token) -> None:
    _may_write.reset(token)


def may_write() -> bool:
    return _may_write.get()


def will_write() -> None:
    """Declare that the current transaction is going to write.

    Cheap when it was a writer already. On SQLite a transaction that began as a reader and has
    only read so far is ended and the next statement begins a writer (`BEGIN IMMEDIATE`):
    loaded objects are expired and reload on next use, so nothing read is lost and nothing
    written is at stake. A transaction that began as a writer (the intent turned to reading
    after it began) already holds the write lock and is left alone.
    """
    if _may_write.get():
        return
    _may_write.set(True)
    session = dbs()
    if not session.in_transaction():
        return
    if session.get_bind().dialect.name != "sqlite":
        return
    info = session.connection().info
    if not info.get("began_reading") or info.get("wrote"):
        return  # it holds the write lock already; keep its work
    if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
        _violation("unflushed changes made while reading")
        return
    session.rollback()


T = TypeVar("T")


def get_or_create(find: Callable[[], T | None], make: Callable[[], T]) -> T:
    """The row `find` returns, else a new one from `make` (which adds and flushes it), for
    rows made on first use by a page that otherwise only reads. Two requests racing to make
    it end with one row: a unique constraint must back `find`, and the loser takes the
    winner's row."""
    found = find()
    if found is not None:
        return found
    will_write()
    found = find()  # again, as a writer: on SQLite someone may have made it meanwhile
    if found is not None:
        return found
    try:
        with dbs().begin_nested():
            return make()
    except IntegrityError:
        found = find()
        if found is None:
            raise
        return found


def _violation(what: str) -> None:
    if STRICT["reads"]:
        raise ReadOnlyViolation(f"{what}: call will_write() before writing in a GET")
    log.warning("a reading transaction wrote", extra={"what": what})


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


# SQLite has one write lock per database. Within a process, writers take turns on a lock of
# their own first: a waiting writer is woken the moment the turn is free, in order, where
# SQLite's busy handler polls with sleeps of up to 100 ms and lets a late writer jump ahead
# (measured with 20 people on `make run`'s threaded server: waits of up to 5 s, some past the
# timeout). Between processes SQLite's busy handler still decides. Both wait at most the
# engine's `portal_write_wait` seconds (SQLITE_BUSY_TIMEOUT_MS), then the request answers 503.
_turns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_turns_guard = threading.Lock()


def _turn_of(engine) -> threading.Lock:
    with _turns_guard:
        turn = _turns.get(engine)
        if turn is None:
            turn = _turns[engine] = threading.Lock()
        return turn


def _end_turn(info: dict) -> None:
    turn = info.pop("writer_turn", None)
    if turn is not None:
        turn.release()


@event.listens_for(Engine, "begin")
def _begin(conn) -> None:
    conn.info["wrote"] = False
    conn.info["began_reading"] = not _may_write.get()
    if conn.dialect.name != "sqlite":
        return
    if not _may_write.get():
        conn.exec_driver_sql("BEGIN")
        return
    turn = _turn_of(conn.engine)
    if not turn.acquire(timeout=getattr(conn.engine, "portal_write_wait", 5.0)):
        raise OperationalError(
            "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
        )
    conn.info["writer_turn"] = turn
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        _end_turn(conn.info)
        raise


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _transaction_ended(conn) -> None:
    # Only SQLite takes turns; an invalidated connection (cut by the server) has no info to
    # read, and its pool record lets go of the turn (`_invalidated`).
    if conn.dialect.name == "sqlite" and not conn.invalidated:
        _end_turn(conn.info)


@event.listens_for(Pool, "checkin")
def _returned(_dbapi_connection, record) -> None:
    if record is not None:
        _end_turn(record.info)  # a connection closed or invalidated mid-transaction


@event.listens_for(Pool, "invalidate")
def _invalidated(_dbapi_connection, record, _exception) -> None:
    if record is not None:
        _end_turn(record.info)


@event.listens_for(Engine, "before_cursor_execute")
def _before_execute(conn, cursor, statement, parameters, context, executemany) -> None:
    if _may_write.get() or not statement.lstrip()[:7].upper().startswith(_WRITES):
        return
    conn.info["wrote"] = True
    _violation(" ".join(statement.split(None, 3)[:3]))


def transaction_memo() -> dict:
    """A dict that lives as long as the current transaction (emptied when it commits or rolls
    back): for a value several parts of one page read."""
    return dbs().info.setdefault("memo", {})


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current transaction commits (dropped on rollback). A callback
    that fails is logged: the commit stands."""
    dbs().info.setdefault("after_commit", []).append(callback)


def after_rollback(callback: Callable[[], None]) -> None:
    """Run `callback` if the current transaction rolls back instead of committing (undo work
    done outside the database, such as an object already stored)."""
    dbs().info.setdefault("after_rollback", []).append(callback)


def _run_each(callbacks: list[Callable[[], None]], when: str) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception as exc:
            log.error("a callback after %s failed", when, extra={"error": type(exc).__name__})


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the real commit comes later (or never)
    session.info.pop("after_rollback", None)
    session.info.pop("memo", None)
    _run_each(session.info.pop("after_commit", []), "commit")


@event.listens_for(Session, "after_soft_rollback")
def _run_after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is not None:
        return  # a savepoint was rolled back; the transaction itself goes on
    session.info.pop("after_commit", None)
    session.info.pop("memo", None)
    _run_each(session.info.pop("after_rollback", []), "rollback")
