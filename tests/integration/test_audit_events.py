"""R57: each audited flow, driven over HTTP, writes exactly one complete audit event.

Complete means: when (UTC), who (kind, id, role, and their agency where they have one), about
what (subject kind and id), the action and its outcome, from where (IP) and in which request
(the response's X-Request-ID), repeated as one JSON line on the `portal.audit` log; and its
details hold identifiers and codes only, never a PII value of the flow.
"""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.domain import esign
from portal.domain.core.roles import Role
from portal.domain.models import AuditEvent, CareTeamMember, Document, ReviewItem
from tests.conftest import FROZEN_AT
from tests.support import TEST_PASSWORD, second_step, signed_in

IP = "198.51.100.23"  # every browser here comes from this address (TEST-NET-2)
FIRST, LAST = "Philippa", "Quartermaine"
EMAIL = "philippa.quartermaine@example.org"
DOB = date(1977, 7, 7)
PHONE = "4155550177"
WRONG_PASSWORD = "orchid tumbler seventeen lanterns"


# --- who takes part ------------------------------------------------------------------------


def from_ip(browser):
    """Every later request of `browser` comes from IP (`request.remote_addr`)."""
    browser.environ_base["REMOTE_ADDR"] = IP
    return browser


@pytest.fixture
def person(make, agency_a, case_manager_user, frozen_clock, database):
    """A client record with recognisable PII, its portal account, and the agency A case
    manager on its care team."""
    record = make.client(
        agency_a, first_name=FIRST, last_name=LAST, email=EMAIL, dob=DOB, phone=PHONE
    )
    record.care_team.append(CareTeamMember(staff=case_manager_user, is_case_manager=True))
    database.session.commit()
    account = make.client_account(client=record)
    pii = (FIRST, LAST, EMAIL, EMAIL.split("@")[0], DOB.isoformat(), "07/07/1977", PHONE)
    return SimpleNamespace(record=record, account=account, pii=pii)


@pytest.fixture
def phone(app, person):
    """The client's signed-in phone."""
    return from_ip(signed_in(app, person.account))


@pytest.fixture
def staff(case_manager):
    """The case manager's signed-in browser."""
    return from_ip(case_manager)


# --- the check ------------------------------------------------------------------------------


def last_event_id(database) -> int:
    database.session.expire_all()
    return database.session.scalar(select(func.max(AuditEvent.id))) or 0


def the_one_event(database, since: int, action: str) -> AuditEvent:
    database.session.expire_all()
    found = database.session.scalars(
        select(AuditEvent).where(AuditEvent.id > since, AuditEvent.action == action)
    ).all()
    assert len(found) == 1, f"{len(found)} {action!r} events for one flow (want exactly one)"
    return found[0]


def actor_of(account) -> tuple:
    """(kind, id, role, agency id) as the event should name the account."""
    role = "client" if account.kind == "client" else Role(account.role).value
    agency = account.agency
    return (
        account.kind,
        str(account.public_id),
        role,
        str(agency.public_id) if agency is not None else None,
    )


def assert_complete(
    database,
    caplog,
    since: int,
    action: str,
    response,
    *,
    actor,
    subject: tuple[str, str],
    outcome: str = "success",
    pii: tuple[str, ...] = (),
) -> AuditEvent:
    """Exactly one `action` event since `since`, complete, from `response`'s request, without
    any of `pii` in its details; and exactly one JSON log line repeating it."""
    event = the_one_event(database, since, action)
    assert event.occurred_at == FROZEN_AT and event.occurred_at.utcoffset() == timedelta(0)
    got = (event.actor_kind, event.actor_id, event.actor_role, event.agency_id)
    assert got == actor_of(actor), f"{action}: actor {got}"
    assert all(got[:3]), f"{action}: the actor is not named"
    assert (event.subject_kind, event.subject_id) == subject
    assert event.outcome == outcome
    assert event.ip == IP
    assert event.request_id and event.request_id == response.headers["X-Request-ID"]
    details = json.dumps(event.details)
    for value in pii:
        assert value.lower() not in details.lower(), f"{action}: {value!r} in the details"
    lines = [
        json.loads(r.getMessage())["audit"]
        for r in caplog.records
        if r.name == "portal.audit" and f'"{action}"' in r.getMessage()
    ]
    lines = [line for line in lines if line["request_id"] == event.request_id]
    assert len(lines) == 1, f"{action}: {len(lines)} structured log lines"
    assert lines[0]["occurred_at"] == event.occurred_at.isoformat()
    assert (lines[0]["actor_id"], lines[0]["subject_id"], lines[0]["ip"]) == (
        event.actor_id,
        event.subject_id,
        IP,
    )
    return event


@pytest.fixture(autouse=True)
def _audit_log_lines(caplog):
    caplog.set_level(logging.INFO, logger="portal.audit")


# --- sign-in --------------------------------------------------------------------------------


@pytest.mark.requirement("R57")
def test_a_client_sign_in_writes_one_event(app, person, database, caplog):
    browser = from_ip(app.test_client())
    since = last_event_id(database)
    done = browser.form("/sign-in", {"email": EMAIL, "password": TEST_PASSWORD})
    assert done.status_code == 303
    client_account = ("client", str(person.account.public_id))
    assert_complete(
        database,
        caplog,
        since,
        "sign_in.succeeded",
        done,
        actor=person.account,
        subject=client_account,
        pii=(*person.pii, TEST_PASSWORD),
    )


@pytest.mark.requirement("R57")
def test_a_failed_client_sign_in_writes_one_event(app, person, database, caplog):
    browser = from_ip(app.test_client())
    since = last_event_id(database)
    refused = browser.form("/sign-in", {"email": EMAIL, "password": WRONG_PASSWORD})
    assert refused.status_code == 200 and "not right" in refused.get_data(as_text=True)
    event = assert_complete(
        database,
        caplog,
        since,
        "sign_in.failed",
        refused,
        actor=person.account,  # the account whose password was tried
        subject=("client", str(person.account.public_id)),
        outcome="failure",
        pii=(*person.pii, WRONG_PASSWORD, TEST_PASSWORD),
    )
    assert event.details == {"failures": 1}


@pytest.mark.requirement("R57")
def test_a_sign_in_for_an_unknown_email_writes_one_event_without_the_address(
    app, database, caplog, frozen_clock
):
    """Nobody to name as the actor or subject: the event says "unknown", and the typed address
    is not kept (it may be someone's real address, mistyped)."""
    browser = from_ip(app.test_client())
    typed = "nobody.at.all@example.org"
    since = last_event_id(database)
    refused = browser.form("/sign-in", {"email": typed, "password": WRONG_PASSWORD})
    assert refused.status_code == 200
    event = the_one_event(database, since, "sign_in.failed")
    assert (event.subject_kind, event.subject_id, event.outcome) == ("client", "unknown", "failure")
    assert (event.actor_kind, event.actor_id, event.actor_role) == (None, None, None)
    assert event.occurred_at == FROZEN_AT and event.ip == IP
    assert event.request_id == refused.headers["X-Request-ID"]
    columns = AuditEvent.__table__.columns
    stored = json.dumps({c.name: getattr(event, c.name) for c in columns}, default=str)
    assert "nobody" not in stored and WRONG_PASSWORD not in stored


@pytest.mark.requirement("R57")
def test_a_staff_sign_in_writes_one_event(app, case_manager_user, database, caplog, frozen_clock):
    browser = from_ip(app.test_client())
    since = last_event_id(database)
    first = browser.form(
        "/staff/sign-in", {"email": case_manager_user.email, "password": TEST_PASSWORD}
    )
    done = second_step(browser, case_manager_user, first)  # the authenticator app's code
    assert done.status_code == 303 and done.headers["Location"] == "/staff/"
    event = assert_complete(
        database,
        caplog,
        since,
        "sign_in.succeeded",
        done,
        actor=case_manager_user,
        subject=("staff", str(case_manager_user.public_id)),
        pii=(case_manager_user.email, case_manager_user.display_name, TEST_PASSWORD),
    )
    assert event.details == {"factor": "totp"}


@pytest.mark.requirement("R57")
def test_a_failed_staff_sign_in_writes_one_event(
    app, case_manager_user, database, caplog, frozen_clock
):
    browser = from_ip(app.test_client())
    since = last_event_id(database)
    refused = browser.form(
        "/staff/sign-in", {"email": case_manager_user.email, "password": WRONG_PASSWORD}
    )
    assert refused.status_code == 200 and "not right" in refused.get_data(as_text=True)
    assert_complete(
        database,
        caplog,
        since,
        "sign_in.failed",
        refused,
        actor=case_manager_user,  # the account whose password was tried
        subject=("staff", str(case_manager_user.public_id)),
        outcome="failure",
        pii=(case_manager_user.email, case_manager_user.display_name, WRONG_PASSWORD),
    )


# --- documents ------------------------------------------------------------------------------


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.requirement("R57")
def test_an_upload_by_the_client_writes_one_event(phone, person, database, caplog):
    name = f"{LAST}-benefits-letter.png"
    since = last_event_id(database)
    sent = phone.form(
        "/documents",
        {"category": "income", "title": "", "file": (io.BytesIO(png()), name)},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303
    document = database.session.scalars(
        select(Document).where(Document.client_id == person.record.id)
    ).one()
    event = assert_complete(
        database,
        caplog,
        since,
        "document.uploaded",
        sent,
        actor=person.account,
        subject=("client", str(person.record.public_id)),
        pii=(*person.pii, name),
    )
    assert event.details["document"] == str(document.public_id)


@pytest.mark.requirement("R57")
def test_a_download_by_the_client_writes_one_event(phone, person, make, database, caplog):
    document = make.document(person.record, account=person.account, file_name=f"{LAST}.pdf")
    since = last_event_id(database)
    got = phone.get(f"/documents/{document.public_id}/download")
    assert got.status_code == 200 and got.data == b"%PDF-1.4\n%%EOF\n"
    event = assert_complete(
        database,
        caplog,
        since,
        "document.downloaded",
        got,
        actor=person.account,
        subject=("client", str(person.record.public_id)),
        pii=(*person.pii, f"{LAST}.pdf"),
    )
    assert event.details["document"] == str(document.public_id)


@pytest.mark.requirement("R57")
def test_a_download_by_staff_writes_one_event(
    staff, case_manager_user, person, make, database, caplog
):
    document = make.document(person.record, account=person.account, file_name=f"{LAST}.pdf")
    since = last_event_id(database)
    got = staff.get(f"/staff/documents/{document.public_id}/download")
    assert got.status_code == 200 and got.data == b"%PDF-1.4\n%%EOF\n"
    event = assert_complete(
        database,
        caplog,
        since,
        "document.downloaded",
        got,
        actor=case_manager_user,
        subject=("client", str(person.record.public_id)),
        pii=(*person.pii, f"{LAST}.pdf"),
    )
    assert event.details["document"] == str(document.public_id)


# --- signing and taking back ----------------------------------------------------------------

TYPED_NAME = f"{FIRST} {LAST}"


def signed_roi(staff, phone, person):
    """Staff ask for the ROI over HTTP, the client agrees to sign electronically and signs:
    (the signing response, the request's page)."""
    record = f"/staff/clients/{person.record.public_id}"
    asked = staff.form(f"{record}/signature-request", {"template": ""}, token_from=record)
    assert asked.status_code == 303
    [open_request] = esign.open_requests(person.record)
    agreed = phone.form(
        "/esign/consent", {"agrees": "y", "word": esign.sample_word(person.account)}
    )
    assert agreed.status_code == 303
    page = f"/sign/{open_request.public_id}"
    shown = re.search(r'name="shown" value="([^"]+)"', phone.get(page).get_data(as_text=True))[1]
    return phone.form(page, {"intent": "y", "typed_name": TYPED_NAME, "shown": shown})


@pytest.mark.requirement("R57")
def test_signing_the_roi_writes_one_event(staff, phone, person, database, caplog):
    since = last_event_id(database)
    signed = signed_roi(staff, phone, person)
    assert signed.status_code == 303
    assert_complete(
        database,
        caplog,
        since,
        "signature.signed",
        signed,
        actor=person.account,
        subject=("client", str(person.record.public_id)),
        pii=(*person.pii, TYPED_NAME),
    )


@pytest.mark.requirement("R57")
def test_taking_back_the_roi_writes_one_event(staff, phone, person, database, caplog):
    assert signed_roi(staff, phone, person).status_code == 303
    since = last_event_id(database)
    taken_back = phone.form("/sharing", {"intent": "y", "typed_name": TYPED_NAME})
    assert taken_back.status_code == 303
    event = assert_complete(
        database,
        caplog,
        since,
        "consent.revoked",
        taken_back,
        actor=person.account,
        subject=("client", str(person.record.public_id)),
        pii=(*person.pii, TYPED_NAME),
    )
    assert event.details["consents"] == 1


# --- review decisions -----------------------------------------------------------------------

NEW_EMAIL = "philippa.new.address@example.org"


def submitted_change(phone, person, database) -> ReviewItem:
    sent = phone.form("/contact", {"preferred_contact": "", "email": NEW_EMAIL})
    assert sent.status_code == 303
    return database.session.scalars(
        select(ReviewItem).where(ReviewItem.client_id == person.record.id)
    ).one()


def decide(staff, item, action, **data):
    page = f"/staff/review/{item.public_id}"
    return staff.form(page, {"action": action, "version": str(item.version), **data})


@pytest.mark.requirement("R57")
def test_approving_a_change_writes_one_event(
    staff, phone, person, case_manager_user, database, caplog
):
    item = submitted_change(phone, person, database)
    since = last_event_id(database)
    approved = decide(staff, item, "accept")
    assert approved.status_code == 303
    event = assert_complete(
        database,
        caplog,
        since,
        "review.accepted",
        approved,
        actor=case_manager_user,
        subject=("client", str(person.record.public_id)),
        pii=(*person.pii, NEW_EMAIL, NEW_EMAIL.split("@")[0]),
    )
    assert event.details["item"] == str(item.public_id)


@pytest.mark.requirement("R57")
def test_rejecting_a_change_writes_one_event(
    staff, phone, person, case_manager_user, database, caplog
):
    item = submitted_change(phone, person, database)
    note = "Please call Philippa to confirm the address."
    since = last_event_id(database)
    rejected = decide(staff, item, "reject", reason="other", note=note)
    assert rejected.status_code == 303
    event = assert_complete(
        database,
        caplog,
        since,
        "review.rejected",
        rejected,
        actor=case_manager_user,
        subject=("client", str(person.record.public_id)),
        outcome="success",
        pii=(*person.pii, NEW_EMAIL, note),
    )
    assert event.details["reason"] == "other"


# --- exports --------------------------------------------------------------------------------


@pytest.mark.requirement("R57")
def test_the_coordinated_entry_export_writes_one_event(
    staff, person, case_manager_user, agency_a, database, caplog
):
    person.record.last_contact_at = FROZEN_AT - timedelta(days=95)
    database.session.commit()
    since = last_event_id(database)
    export = staff.get("/staff/coordinated-entry?format=csv")
    assert export.mimetype == "text/csv" and LAST in export.get_data(as_text=True)
    event = assert_complete(
        database,
        caplog,
        since,
        "coordinated_entry.exported",
        export,
        actor=case_manager_user,
        subject=("agency", str(agency_a.public_id)),
        pii=person.pii,
    )
    assert event.details == {"clients": 1}


def test_clients_have_no_download_of_their_own_record(app):
    """The client's own record is asked for (a record request, fulfilled by staff), not
    downloaded: there is no export on the client side to audit yet. One added needs its
    test above."""
    client_rules = [
        r.rule
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith("client.") and ("export" in r.rule or "record" in r.rule)
    ]
    assert client_rules == ["/record-request"]


# --- deactivation ---------------------------------------------------------------------------


@pytest.mark.requirement("R57")
def test_deactivation_by_staff_writes_one_event(
    staff, phone, person, case_manager_user, database, caplog
):
    since = last_event_id(database)
    done = staff.form(
        f"/staff/clients/{person.record.public_id}/portal/deactivate", {"reason": "client_asked"}
    )
    assert done.status_code == 303
    event = assert_complete(
        database,
        caplog,
        since,
        "client_account.deactivated",
        done,
        actor=case_manager_user,
        subject=("client", str(person.record.public_id)),
        pii=person.pii,
    )
    assert event.details == {"account": str(person.account.public_id), "reason": "client_asked"}
    assert phone.get("/home").status_code == 302  # and the account stopped at once


@pytest.mark.requirement("R57")
def test_deactivation_by_the_client_writes_one_event(phone, person, database, caplog):
    since = last_event_id(database)
    done = phone.form("/account/deactivate", {"confirm": "y"})
    assert done.status_code == 303 and done.headers["Location"] == "/account-closed"
    event = assert_complete(
        database,
        caplog,
        since,
        "client_account.deactivated",
        done,
        actor=person.account,
        subject=("client", str(person.record.public_id)),
        pii=person.pii,
    )
    assert event.details == {"account": str(person.account.public_id), "reason": "self"}
