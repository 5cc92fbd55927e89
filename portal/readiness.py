"""Whether this node can serve: what `/ready` answers to the proxy, load balancer or monitor.

Ready means the database answers and its schema is the one this code expects (a node started
before the deploy's migration waits, answering 503). The parts a node can serve without,
for a while, are reported but do not make it unready: the rate-limit store (limits fall back
to per-process counts) and the document store (uploads and downloads say "try again later",
every other page works). The scanner and the mail server are the workers' business: files
wait pending, mail waits in the outbox.
"""

from __future__ import annotations

import functools
import logging

from sqlalchemy import text

from portal.extensions import db, limiter
from portal.settings import RESOURCES

log = logging.getLogger(__name__)


@functools.cache
def expected_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory(str(RESOURCES / "migrations")).get_heads())


def _database() -> str:
    try:
        rows = db.session.execute(text("SELECT version_num FROM alembic_version"))
        found = {row[0] for row in rows}
    except Exception:
        log.warning("readiness: the database does not answer")
        db.session.rollback()
        return "down"
    finally:
        db.session.rollback()  # a read only: nothing held open between probes
    return "ok" if found == expected_revisions() else "schema_differs"


def _rate_limits() -> str:
    try:
        return "ok" if limiter.storage.check() else "down"
    except Exception:
        return "down"


def _documents() -> str:
    from portal.integrations.storage import get_store

    try:
        get_store().check()
    except Exception:
        return "down"
    return "ok"


def report() -> tuple[bool, dict[str, str]]:
    """(ready, each part's state). Names and states only: no address, no error text."""
    parts = {"database": _database(), "rate_limits": _rate_limits(), "documents": _documents()}
    return parts["database"] == "ok", parts
