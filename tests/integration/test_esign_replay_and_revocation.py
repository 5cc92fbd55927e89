"""R67: a signing form or a staff reply replayed makes one record; R56: taking back a signed
Release of Information is a signed event of its own, the original kept as it was and the
client's agency told."""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.domain import esign
from portal.domain.accounts.onboarding import PRIVACY_VERSION
from portal.domain.accounts.passwords import hash_password
from portal.domain.core import clock
from portal.domain.core.roles import Role
from portal.domain.models import (
    Agency,
    AuditEvent,
    CareTeamMember,
    Client,
    ClientAccount,
    Consent,
    ConsentRevocation,
    Conversation,
    Document,
    Message,
    Signature,
    SignatureRequest,
    StaffNotification,
    StaffUser,
)
from portal.integrations.storage import get_store
from tests.support import TEST_PASSWORD, enrol_app, signed_in

TYPED = "Robin Doe"


def count(database, model, *where) -> int:
    database.session.expire_all()
    return database.session.scalar(select(func.count()).select_from(model).where(*where))


def ready_to_sign(app, me, staff, database) -> SignatureRequest:
    """A request from `staff` to sign the agency's ROI, the client agreed to sign here."""
    with app.test_request_context():
        request = esign.request_signature(staff, me.record)
        esign.accept_disclosure(me.account, agrees="yes", word=esign.sample_word(me.account))
        database.session.commit()
    return request


def sign_form(browser, request) -> tuple[str, dict]:
    """The signing page's form, filled in once: the address and what a browser posts."""
    page = f"/sign/{request.public_id}"
    html = browser.get(page).get_data(as_text=True)
    data = {
        "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)[1],
        "shown": re.search(r'name="shown" value="([^"]+)"', html)[1],
        "intent": "y",
        "typed_name": TYPED,
    }
    return page, data


def signed_pdf(database, signature) -> bytes:
    document = database.session.get(Document, signature.pdf_document_id)
    stream = get_store().open(document.storage_key)
    try:
        return stream.read()
    finally:
        stream.close()


# --- R67: replays --------------------------------------------------------------------------


@pytest.mark.requirement("R67")
def test_the_signing_form_posted_three_times_makes_one_signature(
    app, me, case_manager_user, database
):
    request = ready_to_sign(app, me, case_manager_user, database)
    page, data = sign_form(me, request)
    answers = [me.post(page, data=data) for _ in range(3)]
    # Each answer is the one the signing got: on to Documents, where the signed copy is.
    assert [(a.status_code, a.headers.get("Location")) for a in answers] == [
        (303, "/documents")
    ] * 3
    shown = me.get("/documents").get_data(as_text=True)
    assert "Signed. Your copy is in Documents." in shown
    assert me.get(page).headers.get("Location") == "/documents"  # no second form to fill in
    assert count(database, Signature, Signature.request_id == request.id) == 1
    assert count(database, Consent, Consent.client_id == me.record.id) == 1
    signed_copies = count(
        database,
        Document,
        Document.client_id == me.record.id,
        Document.file_name.like("signed-%"),
    )
    assert signed_copies == 1
    events = count(
        database,
        AuditEvent,
        AuditEvent.action == "signature.signed",
        AuditEvent.subject_id == str(me.record.public_id),
    )
    assert events == 1


@pytest.mark.requirement("R67")
def test_a_staff_reply_posted_three_times_makes_one_message(app, me, case_manager_user, database):
    assert (
        me.form(
            "/messages/new",
            {"recipient": str(case_manager_user.public_id), "body": "Can we meet?"},
        )
        .headers["Location"]
        .startswith("/messages/")
    )
    conversation = database.session.scalar(
        select(Conversation).where(Conversation.client_id == me.record.id)
    )
    staff = signed_in(app, case_manager_user)
    page = f"/staff/conversations/{conversation.public_id}"
    html = staff.get(page).get_data(as_text=True)
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', html)[1]  # the form's own
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)[1]
    data = {"csrf_token": token, "body": "Yes, Tuesday at 10.", "key": key}
    answers = [staff.post(page, data=data).status_code for _ in range(3)]
    assert answers == [303, 303, 303]  # each sees its message sent
    replies = database.session.scalars(
        select(Message.body).where(
            Message.conversation_id == conversation.id, Message.author_kind == "staff"
        )
    ).all()
    assert replies == ["Yes, Tuesday at 10."]
    database.session.refresh(conversation)
    assert conversation.unread_by_client == 1  # counted once, too
    another = staff.post(page, data={**data, "key": uuid.uuid4().hex})
    assert another.status_code == 303  # a new form (a new key) is a new message
    assert count(database, Message, Message.conversation_id == conversation.id) == 3


@pytest.fixture
def committed_signer(app, database):
    """A client ready to sign (an open ROI request, the disclosure agreed), committed for real
    so that threads see it; plain values only."""
    session = database.session
    agency = Agency(name=f"Agency {uuid.uuid4().hex[:6]}", timezone="America/Los_Angeles")
    manager = StaffUser(
        email=f"cm-{uuid.uuid4().hex[:8]}@staff.test",
        display_name="Casey Case",
        role=Role.CASE_MANAGER,
        agency=agency,
        password_hash=hash_password(TEST_PASSWORD),
    )
    email = f"{uuid.uuid4().hex[:8]}@client.test"
    record = Client(
        personal_id=uuid.uuid4().hex[:12],
        owning_agency=agency,
        first_name="Robin",
        last_name="Doe",
        dob=date(1980, 5, 17),
        dob_quality=1,
        email=email,
    )
    session.add_all([agency, manager, record])
    session.flush()
    enrol_app(session, manager.id)
    record.care_team.append(CareTeamMember(staff=manager, is_case_manager=True))
    account = ClientAccount(
        email=email,
        first_name="Robin",
        agency=agency,
        client_id=record.id,
        password_hash=hash_password(TEST_PASSWORD),
        email_verified_at=clock.now(),
        privacy_version=PRIVACY_VERSION,
    )
    session.add(account)
    session.flush()
    with app.test_request_context():
        request = esign.request_signature(manager, record)
        esign.accept_disclosure(account, agrees="yes", word=esign.sample_word(account))
    found = {"email": email, "request": request.public_id, "request_id": request.id}
    session.commit()
    session.remove()
    return found


@pytest.mark.real_commits
@pytest.mark.requirement("R67")
def test_the_same_signature_posted_from_three_requests_at_once_makes_one(
    app, database, committed_signer
):
    from types import SimpleNamespace

    person = SimpleNamespace(email=committed_signer["email"], kind="client")
    browser = signed_in(app, person)
    request = SimpleNamespace(public_id=committed_signer["request"])
    page, data = sign_form(browser, request)
    cookie = browser.get_cookie("__Host-portal").value
    barrier = threading.Barrier(3)
    lock = threading.Lock()
    answers: list[int] = []

    def post():
        tab = app.test_client()  # one browser session, three requests in flight
        tab.set_cookie("__Host-portal", cookie)
        barrier.wait(timeout=10)
        status = tab.post(page, data=data).status_code
        with lock:
            answers.append(status)

    threads = [threading.Thread(target=post) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert answers == [303, 303, 303]  # each on to Documents, none refused or failed
    signatures = database.session.scalar(
        select(func.count())
        .select_from(Signature)
        .where(Signature.request_id == committed_signer["request_id"])
    )
    assert signatures == 1, answers
    database.session.remove()


# --- R56: revocation -------------------------------------------------------------------------


@pytest.mark.requirement("R56")
def test_revoking_a_signed_roi_keeps_the_original_and_tells_the_agency(
    frozen_clock, app, me, make, case_manager_user, agency_a, agency_b, database
):
    colleague = make.staff(Role.CASE_MANAGER, agency_a, name="Colleague On Team")
    partner = make.staff(Role.CASE_MANAGER, agency_b, name="Pat Partner")
    outsider = make.staff(Role.CASE_MANAGER, agency_a, name="Not On The Team")
    me.record.care_team.append(CareTeamMember(staff=colleague))
    me.record.care_team.append(CareTeamMember(staff=partner))
    database.session.commit()
    request = ready_to_sign(app, me, case_manager_user, database)
    page, data = sign_form(me, request)
    assert me.post(page, data=data).status_code == 303
    signature = database.session.scalar(select(Signature))
    consent = database.session.scalar(select(Consent).where(Consent.source == "electronic"))
    before = {
        column.name: getattr(signature, column.name) for column in Signature.__table__.columns
    }
    original_pdf = signed_pdf(database, signature)
    assert hashlib.sha256(original_pdf).hexdigest() == signature.pdf_sha256
    notices_before = count(database, StaffNotification, StaffNotification.kind == "roi_revoked")
    assert notices_before == 0

    frozen_clock.advance(timedelta(minutes=2))  # within the 5 minutes: no password again
    taken_back = me.form("/sharing", {"intent": "y", "typed_name": TYPED})
    assert taken_back.status_code == 303
    database.session.expire_all()

    # The permission is ended, with the time, not deleted.
    consent = database.session.get(Consent, consent.id)
    assert consent.revoked_at == clock.now()
    with app.test_request_context():
        assert esign.roi_in_force(me.record, me.record.owning_agency) == []
    # The revocation is its own signed event, with its own sealed PDF that verifies.
    revocation = database.session.scalar(select(ConsentRevocation))
    assert revocation.consent_ids == [consent.id] and revocation.typed_name == TYPED
    assert revocation.signed_at == clock.now() and revocation.account_id == me.account.id
    assert revocation.verification_code != signature.verification_code
    assert revocation.pdf_document_id not in (None, signature.pdf_document_id)
    with app.test_request_context():
        assert esign.verify_revocation(revocation) == []
    # The original signature, its request and its sealed PDF are as they were.
    signature = database.session.get(Signature, signature.id)
    after = {column.name: getattr(signature, column.name) for column in Signature.__table__.columns}
    assert after == before
    assert database.session.get(SignatureRequest, request.id).status == "signed"
    kept = signed_pdf(database, signature)
    assert kept == original_pdf
    assert hashlib.sha256(kept).hexdigest() == signature.pdf_sha256
    with app.test_request_context():
        assert esign.verify(signature) == []
    # The care team of the client's agency is told. Not the partner agency, which no longer
    # sees the client at all, nor staff off the care team.
    told = database.session.scalars(
        select(StaffNotification).where(StaffNotification.kind == "roi_revoked")
    ).all()
    assert sorted(n.staff_id for n in told) == sorted([case_manager_user.id, colleague.id])
    assert all(n.params == {"client": str(me.record.public_id)} for n in told)
    assert {n.staff_id for n in told}.isdisjoint({outsider.id, partner.id})
    client_id = me.record.public_id
    page = signed_in(app, case_manager_user).get("/staff/notifications").get_data(as_text=True)
    assert "took back their permission to share" in page
    # And the event is audited.
    revoked = (AuditEvent.action == "consent.revoked", AuditEvent.subject_id == str(client_id))
    assert count(database, AuditEvent, *revoked) == 1


@pytest.mark.requirement("R56", "R67")
def test_taking_back_twice_makes_one_revocation(app, me, case_manager_user, database):
    request = ready_to_sign(app, me, case_manager_user, database)
    page, data = sign_form(me, request)
    assert me.post(page, data=data).status_code == 303
    html = me.get("/sharing").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)[1]
    form = {"csrf_token": token, "intent": "y", "typed_name": TYPED}
    answers = [me.post("/sharing", data=form) for _ in range(3)]
    assert answers[0].status_code == 303
    assert all(answer.status_code < 500 for answer in answers)
    assert count(database, ConsentRevocation) == 1
    notices = count(database, StaffNotification, StaffNotification.kind == "roi_revoked")
    assert notices == 1
