"""The database session for domain services, and work to run after a successful commit."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import db


def dbs() -> Session:
    return db.session()


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current transaction commits (dropped on rollback)."""
    dbs().info.setdefault("after_commit", []).append(callback)


def after_rollback(callback: Callable[[], None]) -> None:
    """Run `callback` if the current transaction rolls back instead of committing (undo work
    done outside the database, such as an object already stored)."""
    dbs().info.setdefault("after_rollback", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the real commit comes later (or never)
    session.info.pop("after_rollback", None)
    callbacks = session.info.pop("after_commit", [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _run_after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is not None:
        return  # a savepoint was rolled back; the transaction itself goes on
    session.info.pop("after_commit", None)
    for callback in session.info.pop("after_rollback", []):
        callback()
