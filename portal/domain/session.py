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


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop("after_commit", [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop("after_commit", None)
