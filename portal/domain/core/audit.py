"""The audit log: one append-only, hash-chained event per state change or denial.

Each event's hash covers its own fields and the hash of the previous event about the same
subject, so a removed or edited event breaks the chain (`verify_chain`). Details carry only
identifiers and codes: never a secret or a PII value (a test greps every sink for sentinels).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from sqlalchemy import select, text

from portal.domain.core import clock, context
from portal.domain.core.session import dbs, will_write
from portal.domain.models import AuditEvent

log = logging.getLogger("portal.audit")


def _subject_ref(subject: Any) -> tuple[str, str]:
    if isinstance(subject, tuple):
        return subject[0], str(subject[1])
    kind = getattr(subject, "audit_kind", None) or getattr(subject, "kind", None)
    kind = kind or subject.__tablename__.rstrip("s")
    return kind, str(subject.public_id)


def _digest(fields: dict[str, Any], prev_hash: str | None) -> str:
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash or ''}|{body}".encode()).hexdigest()


def _lock_subject(kind: str, subject_id: str) -> None:
    session = dbs()
    if session.get_bind().dialect.name == "postgresql":
        # Serialise chain appends per subject so two writers cannot fork the chain.
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"{kind}:{subject_id}"}
        )


def record(
    action: str,
    subject: Any,
    *,
    outcome: str = "success",
    details: dict[str, Any] | None = None,
    actor: Any = None,
) -> AuditEvent:
    will_write()  # an audited view (a staff member reads a record) writes its event
    ctx = context.current()
    actor = actor if actor is not None else ctx.actor
    subject_kind, subject_id = _subject_ref(subject)
    agency = getattr(actor, "agency", None)
    at = clock.now()
    fields = {
        "occurred_at": at.isoformat(),
        "action": action,
        "outcome": outcome,
        "actor_kind": getattr(actor, "kind", None),
        "actor_id": str(actor.public_id) if actor is not None else None,
        "actor_role": getattr(actor, "role", None),
        "agency_id": str(agency.public_id) if agency is not None else None,
        "subject_kind": subject_kind,
        "subject_id": subject_id,
        "ip": ctx.ip,
        "request_id": ctx.request_id,
        "details": details or {},
    }
    session = dbs()
    _lock_subject(subject_kind, subject_id)
    prev_hash = session.scalar(
        select(AuditEvent.hash)
        .where(AuditEvent.subject_kind == subject_kind, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    event = AuditEvent(
        **{k: v for k, v in fields.items() if k != "occurred_at"},
        occurred_at=at,
        prev_hash=prev_hash,
        hash=_digest(fields, prev_hash),
    )
    session.add(event)
    session.flush()
    # The structured log line repeats the event for log shipping; json.dumps escapes any
    # control characters, so one event is always one line (R59).
    log.info(json.dumps({"audit": fields}, default=str, sort_keys=True))
    return event


def _fields_of(event: AuditEvent) -> dict[str, Any]:
    return {
        "occurred_at": event.occurred_at.isoformat(),
        "action": event.action,
        "outcome": event.outcome,
        "actor_kind": event.actor_kind,
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "agency_id": event.agency_id,
        "subject_kind": event.subject_kind,
        "subject_id": event.subject_id,
        "ip": event.ip,
        "request_id": event.request_id,
        "details": event.details,
    }


def verify_chain(subject_kind: str, subject_id: str) -> bool:
    """True when every event about the subject still hashes to what was written."""
    events = dbs().scalars(
        select(AuditEvent)
        .where(AuditEvent.subject_kind == subject_kind, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.id)
    )
    prev = None
    for event in events:
        if event.prev_hash != prev or event.hash != _digest(_fields_of(event), prev):
            return False
        prev = event.hash
    return True


def events_for(subject_kind: str, subject_id: str, limit: int = 50) -> list[AuditEvent]:
    return list(
        dbs().scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_kind == subject_kind, AuditEvent.subject_id == subject_id)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )
