"""Whether this node can serve: what `/ready` answers to the proxy, load balancer or monitor.

Ready means the database answers and its schema has every migration this code needs: a node
whose code is newer than the schema (started before the deploy's migration) answers 503 until
it is migrated; a node whose code is older than the schema (a release migrated, the hosts
restart one by one) keeps serving, as each release's migrations keep the previous release
working (README, Deploying). The parts a node can serve without,
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
def _scripts():
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(RESOURCES / "migrations"))


@functools.cache
def expected_revisions() -> frozenset[str]:
    return frozenset(_scripts().get_heads())


@functools.cache
def known_revision(revision: str) -> bool:
    """Whether this code's migrations include `revision` (a newer release's is unknown)."""
    try:
        return _scripts().get_revision(revision) is not None
    except Exception:  # alembic's lookup errors differ by version: unknown
        return False


def _older_than_this_code(revision: str) -> bool:
    """A revision this code knows that is not its head: the schema still lacks migrations
    this code needs. A revision it does not know is a newer release's (a deploy migrates
    first, then restarts hosts one by one): this code was written to run beside it."""
    return known_revision(revision) and revision not in expected_revisions()


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
    if found == expected_revisions():
        return "ok"
    if not found or any(_older_than_this_code(revision) for revision in found):
        return "schema_older"  # migrations still to run: not ready
    return "schema_newer"  # a newer release migrated already: this node still serves


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
    return parts["database"] in ("ok", "schema_newer"), parts
