"""Issue 22, at once (SQLite and PostgreSQL, rows committed for real): staff send requests
while two workers send the texts; a phone's STOP arrives several times at once; a client and
their case manager type codes at once. Every text is sent exactly once, one number is one
row with one answer, and every wrong code counts."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from portal.domain import texting
from portal.domain.accounts.onboarding import PRIVACY_VERSION
from portal.domain.accounts.passwords import hash_password
from portal.domain.core import clock, jobs
from portal.domain.core.roles import Role
from portal.domain.models import (
    Agency,
    AuditEvent,
    CareTeamMember,
    Client,
    ClientAccount,
    ClientPhone,
    StaffUser,
    TextConsent,
    TextInbound,
    TextMessage,
    TextNumber,
)
from tests.support import TEST_PASSWORD, enrol_app, signed_in
from tests.texting import texts_on as gateway_on

pytestmark = pytest.mark.real_commits

SECRET = "kannel-hook-secret-for-tests-0123456789"


def texts_on(app, **overrides):
    """Texts on, with the per-phone limits out of the way (they are tested elsewhere)."""
    return gateway_on(app, sms_per_phone_hour=100, sms_per_phone_day=100, **overrides)


@pytest.fixture
def texting_agency(app, database):
    """An agency with three staff and one client whose phone is confirmed for texts and who
    chose texts for requests from staff."""
    session = database.session
    tag = uuid.uuid4().hex[:6]
    agency = Agency(name=f"Texts {tag}", timezone="America/Los_Angeles")
    session.add(agency)
    session.flush()
    staff = []
    for n in range(3):
        member = StaffUser(
            email=f"t{n}-{tag}@staff.test",
            display_name=f"Staff {n}",
            role=Role.CASE_MANAGER,
            agency=agency,
            password_hash=hash_password(TEST_PASSWORD),
        )
        session.add(member)
        session.flush()
        enrol_app(session, member.id)
        staff.append(member)
    number = f"+1555{int(tag, 16) % 10_000_000:07d}"
    record = Client(
        personal_id=f"t{tag}",
        owning_agency=agency,
        first_name="Tess",
        dob=date(1980, 1, 1),
        dob_quality=1,
        email=f"c-{tag}@client.test",
    )
    session.add(record)
    session.flush()
    for member in staff:
        session.add(
            CareTeamMember(
                client_id=record.id, staff_id=member.id, is_case_manager=member is staff[0]
            )
        )
    session.add(ClientPhone(client_id=record.id, number=number, kind="mobile", text_ok=True))
    session.add(
        ClientAccount(
            email=record.email,
            first_name="Tess",
            agency=agency,
            client_id=record.id,
            password_hash=hash_password(TEST_PASSWORD),
            email_verified_at=clock.now(),
            privacy_version=PRIVACY_VERSION,
            notice_channels={"requests": "text"},
        )
    )
    session.add(TextConsent(client_id=record.id, number=number, confirmed_at=clock.now()))
    people = SimpleNamespace(
        agency_id=agency.id,
        client_id=record.id,
        client_public_id=record.public_id,
        number=number,
        staff=[SimpleNamespace(email=m.email, kind="staff") for m in staff],
        client=SimpleNamespace(email=record.email, kind="client"),
    )
    session.commit()
    session.remove()  # the test thread holds no transaction while the threads run
    return people


def _run_together(targets) -> None:
    threads = [threading.Thread(target=t) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)


def test_requests_and_two_workers_at_once_send_every_text_exactly_once(
    app, database, texting_agency
):
    people = texting_agency
    per_staff = 4
    with texts_on(app):
        browsers = [signed_in(app, person) for person in people.staff]
        statuses: Counter = Counter()
        lock = threading.Lock()
        done = threading.Event()
        page = f"/staff/clients/{people.client_public_id}/tasks"

        def ask(browser):
            for n in range(per_staff):
                kind = "update_location" if n % 2 else "update_contact"
                status = browser.form(page, {"kind": kind}).status_code
                with lock:
                    statuses[status] += 1

        def work(name):
            with app.app_context():
                while True:
                    ran = jobs.run_pending(worker=name)
                    if not ran and done.is_set():
                        return

        workers = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(2)]
        for worker in workers:
            worker.start()
        _run_together([lambda b=b: ask(b) for b in browsers])
        done.set()
        for worker in workers:
            worker.join(timeout=120)
        with app.app_context():
            jobs.run_pending()  # anything a worker missed as it stopped

    assert statuses == Counter({303: len(people.staff) * per_staff}), statuses
    session = database.session
    texts = session.scalars(
        select(TextMessage).where(
            TextMessage.client_id == people.client_id, TextMessage.kind == "requests"
        )
    ).all()
    assert len(texts) == len(people.staff) * per_staff
    assert Counter(t.status for t in texts) == Counter({"sent": len(texts)})
    sent_events = session.scalars(
        select(AuditEvent.subject_id).where(
            AuditEvent.action == "text.sent",
            AuditEvent.subject_id.in_([str(t.public_id) for t in texts]),
        )
    ).all()
    assert sorted(sent_events) == sorted(str(t.public_id) for t in texts)  # once each
    folder = app.extensions["portal.settings"].instance_path / "texts"
    assert all((folder / f"{t.public_id.hex}.txt").exists() for t in texts)
    session.remove()


def test_the_same_stop_arriving_at_once_makes_one_number_and_one_answer(app, database):
    number = f"+1555{uuid.uuid4().int % 10_000_000:07d}"
    with texts_on(app, sms_transport="kannel", sms_hook_secret=SECRET, sms_kannel_username="k"):
        browsers = [app.test_client() for _ in range(5)]
        barrier = threading.Barrier(len(browsers))
        statuses = []
        lock = threading.Lock()

        def stop(browser):
            barrier.wait()
            response = browser.post(
                f"/hooks/texts/kannel/in?secret={SECRET}",
                data=b"STOP",
                headers={"X-Kannel-From": number.lstrip("+"), "Content-Type": "text/plain"},
            )
            with lock:
                statuses.append(response.status_code)

        _run_together([lambda b=b: stop(b) for b in browsers])
    assert statuses == [200] * len(browsers), statuses
    session = database.session
    assert session.scalar(select(func.count()).where(TextNumber.number == number)) == 1
    state = session.scalar(select(TextNumber).where(TextNumber.number == number))
    assert state.stopped_at is not None
    assert session.scalar(select(func.count()).where(TextInbound.number == number)) == 5
    replies = session.scalars(select(TextMessage.kind).where(TextMessage.to_number == number)).all()
    assert replies == ["reply_stop"]
    session.remove()


def test_wrong_codes_typed_at_once_each_count(app, database, texting_agency):
    people = texting_agency
    with texts_on(app):
        with app.app_context():
            record = database.session.get(Client, people.client_id)
            phone = database.session.scalar(
                select(ClientPhone).where(ClientPhone.client_id == record.id)
            )
            agency = database.session.get(Agency, people.agency_id)
            texting.start(record, str(phone.public_id), agency=agency)
            database.session.commit()
            database.session.remove()
        client = signed_in(app, people.client)
        manager = signed_in(app, people.staff[0])
        record_page = f"/staff/clients/{people.client_public_id}"
        tries = [
            (client, "/account/texts/confirm", "/account/texts"),
            (client, "/account/texts/confirm", "/account/texts"),
            (manager, f"{record_page}/texts/confirm", record_page),
            (manager, f"{record_page}/texts/confirm", record_page),
        ]
        tokens = [browser.csrf_token(source) for browser, _path, source in tries]
        barrier = threading.Barrier(len(tries))
        statuses = []
        lock = threading.Lock()

        def wrong(n):
            browser, path, _source = tries[n]
            barrier.wait()
            response = browser.post(path, data={"csrf_token": tokens[n], "code": "999999x"})
            with lock:
                statuses.append(response.status_code)

        _run_together([lambda n=n: wrong(n) for n in range(len(tries))])
    assert all(status in (200, 303) for status in statuses), statuses
    session = database.session
    consent = session.scalar(select(TextConsent).where(TextConsent.client_id == people.client_id))
    assert consent.code_attempts == len(tries)
    assert consent.confirmed_at is not None  # the number confirmed before stays confirmed
    assert consent.pending_number is not None  # and the new code was never right
    wrongs = session.scalar(
        select(func.count()).where(
            AuditEvent.action == "texts.code_wrong",
            AuditEvent.subject_id == str(people.client_public_id),
        )
    )
    assert wrongs == len(tries)
    session.remove()
