"""Issue 15: many people at once, on SQLite and on PostgreSQL.

Threads sign in as clients and staff and use the portal at the same time as the worker runs
its jobs: every answer is the page or the redirect a person expects (no 500, no 503), nothing
a form acknowledged is lost, nothing is stored twice. The rows are committed for real.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, update

from portal.domain.accounts.onboarding import PRIVACY_VERSION
from portal.domain.accounts.passwords import hash_password
from portal.domain.core import clock, jobs
from portal.domain.core.roles import Role
from portal.domain.models import (
    Agency,
    CareTeamMember,
    Client,
    ClientAccount,
    ContactEvent,
    Conversation,
    Job,
    Message,
    OutboxMessage,
    StaffUser,
    UserSession,
)
from tests.support import TEST_PASSWORD, enrol_app, signed_in

pytestmark = pytest.mark.real_commits

SECONDS = 3.0  # of mixed traffic per database
CLIENTS = 6


def _person(email: str, kind: str):
    """What `signed_in` needs, as plain values: the test thread must not hold a transaction
    (on SQLite it would hold the write lock) while the threads run."""
    return SimpleNamespace(email=email, kind=kind)


@pytest.fixture
def crowd(app, database):
    """An agency, its case manager, and CLIENTS clients with accounts (the case manager on
    each care team), committed; every value the threads need is a plain value."""
    session = database.session
    agency = Agency(name=f"Crowd {uuid.uuid4().hex[:6]}", timezone="America/Los_Angeles")
    manager = StaffUser(
        email=f"cm-{uuid.uuid4().hex[:8]}@staff.test",
        display_name="Casey Crowd",
        role=Role.CASE_MANAGER,
        agency=agency,
        password_hash=hash_password(TEST_PASSWORD),
    )
    session.add_all([agency, manager])
    session.flush()
    enrol_app(session, manager.id)  # the app every staff member has (tests.support.totp_now)
    people = []
    for n in range(CLIENTS):
        email = f"c{n}-{uuid.uuid4().hex[:8]}@client.test"
        record = Client(
            personal_id=uuid.uuid4().hex[:12],
            owning_agency=agency,
            first_name=f"Client{n}",
            last_name="Crowd",
            dob=date(1980, 1, 1),
            dob_quality=1,
            email=email,
        )
        session.add(record)
        session.flush()
        record.care_team.append(CareTeamMember(staff=manager, is_case_manager=True))
        account = ClientAccount(
            email=email,
            first_name=f"Client{n}",
            agency=agency,
            client_id=record.id,
            password_hash=hash_password(TEST_PASSWORD),
            email_verified_at=clock.now(),
            privacy_version=PRIVACY_VERSION,
        )
        session.add(account)
        session.flush()
        people.append(SimpleNamespace(email=email, client_id=record.id, record=record.public_id))
    found = SimpleNamespace(
        agency_id=agency.id,
        manager=_person(manager.email, "staff"),
        manager_public_id=str(manager.public_id),
        clients=people,
    )
    session.commit()
    return found


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.unexpected: list[tuple[str, str, int]] = []
        self.sent: list[str] = []  # message bodies a 303 acknowledged
        self.check_ins = 0

    def saw(self, method: str, path: str, status: int, expected: tuple[int, ...]) -> bool:
        with self.lock:
            self.statuses[status] += 1
            if status not in expected:
                self.unexpected.append((method, path, status))
        return status in expected


def _client_traffic(browser, who, tally: Tally, stop: threading.Event, manager_id: str):
    n = 0
    while not stop.is_set():
        for path in ("/home", "/messages", "/where", "/resources?q=shelter"):
            tally.saw("GET", path, browser.get(path).status_code, (200,))
        body = f"crowd {who} {n}"
        answer = browser.form(
            "/messages/new",
            {"recipient": manager_id, "body": body, "key": f"{who}-{n}"},
        )
        if tally.saw("POST", "/messages/new", answer.status_code, (303,)):
            with tally.lock:
                tally.sent.append(body)
        if n % 2 == 0:
            done = browser.form("/check-in", token_from="/home")
            if tally.saw("POST", "/check-in", done.status_code, (303,)):
                with tally.lock:
                    tally.check_ins += 1
        n += 1


def _staff_traffic(browser, crowd, tally: Tally, stop: threading.Event, database, app):
    n = 0
    while not stop.is_set():
        for path in ("/staff/inbox", "/staff/review", "/staff/clients"):
            tally.saw("GET", path, browser.get(path).status_code, (200,))
        record = crowd.clients[n % len(crowd.clients)].record
        tally.saw("GET", "record", browser.get(f"/staff/clients/{record}").status_code, (200,))
        with app.app_context():
            conversation = database.session.scalar(
                select(Conversation.public_id)
                .join(Client, Client.id == Conversation.client_id)
                .where(Client.owning_agency_id == crowd.agency_id)
                .order_by(Conversation.id.desc())
                .limit(1)
            )
            database.session.remove()
        if conversation is not None:
            page = f"/staff/conversations/{conversation}"
            tally.saw("GET", "conversation", browser.get(page).status_code, (200,))
            body = f"crowd staff {n}"
            answer = browser.form(page, {"body": body, "key": f"staff-{n}"})
            if tally.saw("POST", "reply", answer.status_code, (303,)):
                with tally.lock:
                    tally.sent.append(body)
        n += 1


def test_clients_staff_and_the_worker_at_once_lose_nothing(app, database, crowd, caplog):
    caplog.set_level(logging.WARNING, logger="portal")
    browsers = [
        (signed_in(app, _person(c.email, "client")), f"client{i}")
        for i, c in enumerate(crowd.clients)
    ]
    staff_browser = signed_in(app, crowd.manager)
    tally = Tally()
    stop = threading.Event()

    def worker():
        with app.app_context():
            jobs.work("crowd-worker", stop=stop, poll=0.02, end_each=database.session.remove)

    threads = [
        threading.Thread(
            target=_client_traffic, args=(b, who, tally, stop, crowd.manager_public_id)
        )
        for b, who in browsers
    ]
    threads.append(
        threading.Thread(
            target=_staff_traffic, args=(staff_browser, crowd, tally, stop, database, app)
        )
    )
    threads.append(threading.Thread(target=worker))
    for t in threads:
        t.start()
    time.sleep(SECONDS)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"

    assert tally.unexpected == [], f"unexpected answers: {tally.unexpected[:10]}"
    assert len(tally.sent) >= CLIENTS and tally.check_ins >= CLIENTS, "too little traffic"
    stored = database.session.scalars(
        select(Message.body).where(Message.body.like("crowd %"))
    ).all()
    assert sorted(stored) == sorted(tally.sent)  # nothing lost, nothing twice
    ids = [c.client_id for c in crowd.clients]
    check_ins = database.session.scalar(
        select(func.count())
        .select_from(ContactEvent)
        .where(ContactEvent.client_id.in_(ids), ContactEvent.kind == "check_in")
    )
    assert check_ins == tally.check_ins

    jobs.run_pending(limit=1000)  # what the worker had not reached yet
    failed = database.session.scalar(
        select(func.count()).select_from(Job).where(Job.status == "failed")
    )
    unsent = database.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
    )
    assert failed == 0 and unsent == 0
    trouble = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert trouble == [], [r.getMessage() for r in trouble]


@pytest.mark.requirement("R67")
def test_a_double_tap_from_two_requests_at_once_stores_one_message(app, database, crowd):
    """The same form (one idempotency key) posted by two requests at the same moment."""
    person = crowd.clients[0]
    browsers = [signed_in(app, _person(person.email, "client")) for _ in range(2)]
    tokens = [b.csrf_token("/messages/new") for b in browsers]
    for round_ in range(5):
        barrier = threading.Barrier(2)
        answers: list[int] = []

        def post(browser, token, round_=round_, barrier=barrier, answers=answers):
            barrier.wait(timeout=10)
            answers.append(
                browser.post(
                    "/messages/new",
                    data={
                        "csrf_token": token,
                        "recipient": crowd.manager_public_id,
                        "body": f"double {round_}",
                        "key": f"double-tap-{round_}",
                    },
                ).status_code
            )

        threads = [
            threading.Thread(target=post, args=bt) for bt in zip(browsers, tokens, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert answers == [303, 303], answers  # both see their message sent
    stored = database.session.scalars(
        select(Message.body).where(Message.body.like("double %"))
    ).all()
    assert sorted(stored) == [f"double {n}" for n in range(5)]


def test_one_session_used_by_several_requests_at_once_while_its_activity_is_due(
    app, database, crowd
):
    """The case that failed most (22 % errors at 2 at once): one browser session, several
    requests in flight, each finding the session's last activity a minute old and writing it."""
    browser = signed_in(app, _person(crowd.clients[1].email, "client"))
    cookie = browser.get_cookie("__Host-portal").value
    statuses: Counter = Counter()
    for _ in range(6):
        with app.app_context():
            database.session.execute(
                update(UserSession).values(last_seen_at=clock.now() - timedelta(minutes=2))
            )
            database.session.commit()
            database.session.remove()
        barrier = threading.Barrier(4)
        lock = threading.Lock()

        def visit(barrier=barrier, lock=lock):
            tab = app.test_client()
            tab.set_cookie("__Host-portal", cookie)
            barrier.wait(timeout=10)
            for path in ("/home", "/messages"):
                status = tab.get(path).status_code
                with lock:
                    statuses[status] += 1

        threads = [threading.Thread(target=visit) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert statuses == Counter({200: 48})
    seen = database.session.scalar(
        select(UserSession.last_seen_at).where(UserSession.ended_at.is_(None)).limit(1)
    )
    assert clock.now() - seen < timedelta(minutes=1)  # the activity was written
