"""The audit log: append-only in the database, hash-chained per subject, one line per event."""

import json
import logging

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from portal.domain.core import audit, context
from portal.domain.models import AuditEvent


@pytest.mark.requirement("R60")
def test_the_database_refuses_to_update_or_delete_audit_events(make, database):
    member = make.staff()
    audit.record("test.event", member)
    database.session.commit()
    for statement in ("UPDATE audit_events SET action = 'forged'", "DELETE FROM audit_events"):
        with pytest.raises(DatabaseError, match="append-only"), database.session.begin_nested():
            database.session.execute(text(statement))
    assert database.session.scalar(
        select(AuditEvent.action).where(AuditEvent.subject_id == str(member.public_id))
    )


def test_events_about_one_subject_form_a_verifiable_chain(make, database):
    member = make.staff()
    for action in ("one", "two", "three"):
        audit.record(f"test.{action}", member)
    events = audit.events_for("staff", str(member.public_id))
    assert [e.action for e in events] == ["test.three", "test.two", "test.one"]
    assert events[0].prev_hash == events[1].hash and events[2].prev_hash is None
    assert audit.verify_chain("staff", str(member.public_id))


def test_a_tampered_event_breaks_the_chain(make, database):
    member = make.staff()
    audit.record("test.one", member, details={"n": 1})
    event = audit.record("test.two", member, details={"n": 2})
    database.session.expunge(event)
    event.details = {"n": 3}  # as if someone edited the row behind the triggers' back
    original = audit._fields_of
    try:
        audit._fields_of = lambda e: (
            {**original(e), "details": {"n": 3}} if e.id == event.id else original(e)
        )
        assert not audit.verify_chain("staff", str(member.public_id))
    finally:
        audit._fields_of = original


@pytest.mark.requirement("R57")
def test_events_carry_who_where_and_which_request(make, database):
    actor = make.staff()
    token = context.set_context(
        context.ActionContext(ip="203.0.113.9", request_id="abc123", actor=actor)
    )
    try:
        event = audit.record("test.who", ("client", "c-1"), outcome="denied")
    finally:
        context.reset_context(token)
    assert (event.actor_kind, event.actor_id, event.actor_role) == (
        "staff",
        str(actor.public_id),
        "case_manager",
    )
    assert (event.ip, event.request_id, event.outcome, event.subject_kind) == (
        "203.0.113.9",
        "abc123",
        "denied",
        "client",
    )


@pytest.mark.requirement("R57", "R59")
def test_a_newline_in_a_value_stays_inside_one_log_record(make, database, caplog):
    member = make.staff()
    with caplog.at_level(logging.INFO, logger="portal.audit"):
        audit.record("test.injection", member, details={"reason": 'x\n{"action":"admin"}'})
    lines = [r.getMessage() for r in caplog.records if r.name == "portal.audit"]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert json.loads(lines[0])["audit"]["details"]["reason"] == 'x\n{"action":"admin"}'
