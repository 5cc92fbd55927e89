"""Issue 22 through a real SMS gateway: Kannel 1.4.5 with its fake phone network (fakesmsc),
and a live portal that Kannel calls (incoming texts by POST, delivery reports by its dlr-url).

The live portal has its own SQLite database and commits for real (a server thread cannot see
a test's savepoint); every test uses numbers of its own. Its worker is `jobs.run_pending()`,
run here as `flask worker` would, while the server thread answers Kannel.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from sqlalchemy import select

from portal import links
from portal.domain import messaging, texting
from portal.domain.core import clock, jobs
from portal.domain.core.roles import Role
from portal.domain.models import (
    Agency,
    CareTeamMember,
    Client,
    ClientAccount,
    ClientPhone,
    Job,
    OutboxMessage,
    StaffUser,
    TextConsent,
    TextInbound,
    TextMessage,
    TextNumber,
)
from portal.extensions import db, limiter
from portal.integrations.texts import render
from tests.support import Factories, build_app, serving, signed_in

pytestmark = pytest.mark.real_commits

HOOK_IN = "/hooks/texts/kannel/in"


@dataclass
class Live:
    """The portal on kannel.portal_port (Kannel calls it there) and the gateway."""

    app: Any
    kannel: Any

    @contextmanager
    def session(self) -> Iterator[Any]:
        """The live portal's database session (an app context of the test thread)."""
        with self.app.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()

    def run_jobs(self) -> int:
        """What `flask worker` does once: every due job (texts.send among them)."""
        with self.app.app_context():
            try:
                return jobs.run_pending()
            finally:
                db.session.remove()

    def eventually(self, check: Callable[[Any], Any], timeout: float = 10.0) -> Any:
        """`check(session)`'s answer once it is true (Kannel calls the portal on its own
        time); the last answer when `timeout` passes."""
        deadline = time.monotonic() + timeout
        while True:
            with self.session() as session:
                answer = check(session)
            if answer or time.monotonic() > deadline:
                return answer
            time.sleep(0.1)

    def link(self, endpoint: str) -> str:
        with self.app.app_context():
            return links.external(endpoint)


@pytest.fixture(scope="module")
def live(kannel, tmp_path_factory):
    root = tmp_path_factory.mktemp("kannel-portal")
    app = build_app(root, f"sqlite:///{root / 'portal.sqlite3'}", **kannel.settings())
    with serving(app, kannel.portal_port, "kannel-portal"):
        yield Live(app=app, kannel=kannel)


@pytest.fixture(autouse=True)
def _fresh_limits(live):
    with live.app.app_context():
        limiter.reset()


def new_number() -> str:
    return f"+1555{uuid.uuid4().int % 10**7:07d}"


def make_person(
    live: Live, *, channel: str = "text", agency_name: str | None = None
) -> SimpleNamespace:
    """A client with an account, a case manager and a "texts OK" mobile phone, committed. The
    agency has no quiet hours (a test may run at any hour)."""
    number = new_number()
    with live.session() as session:
        make = Factories(session)
        agency = make.agency(agency_name or f"Harbor {uuid.uuid4().hex[:6]}")
        agency.text_quiet_from = agency.text_quiet_until = "00:00"
        staff = make.staff(Role.CASE_MANAGER, agency, name="Casey Case", password="")
        account = make.client_account(agency)
        record = session.get(Client, account.client_id)
        record.care_team.append(CareTeamMember(staff=staff, is_case_manager=True))
        phone = ClientPhone(client_id=record.id, number=number, kind="mobile", text_ok=True)
        session.add(phone)
        session.commit()
        return SimpleNamespace(
            number=number,
            phone=str(phone.public_id),
            client_id=record.id,
            account_id=account.id,
            email=account.email,
            agency_id=agency.id,
            agency_name=agency.name,
            staff_id=staff.id,
            channel=channel,
        )


def the_code(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


def confirm_by_text(live: Live, person: SimpleNamespace) -> None:
    """Consent as the portal takes it: a code texted through Kannel, typed back. Then the
    client's channel for every kind of notice."""
    with live.session() as session:
        client = session.get(Client, person.client_id)
        agency = session.get(Agency, person.agency_id)
        texting.start(client, person.phone, agency=agency)
        session.commit()
    live.run_jobs()
    [code_text] = live.kannel.received(to=person.number)
    with live.session() as session:
        texting.confirm(session.get(Client, person.client_id), the_code(code_text.text))
        texting.set_channels(
            session.get(ClientAccount, person.account_id),
            dict.fromkeys(texting.NOTICE_KINDS, person.channel),
        )
        session.commit()


def staff_writes(live: Live, person: SimpleNamespace, body: str) -> str:
    """The case manager writes to the client; returns the conversation's public id."""
    with live.session() as session:
        member = session.get(StaffUser, person.staff_id)
        client = session.get(Client, person.client_id)
        conversation = messaging.start_conversation(member, client, body=body, key=uuid.uuid4().hex)
        session.commit()
        return str(conversation.public_id)


def texts_to(session, number: str, kind: str | None = None) -> list[TextMessage]:
    query = select(TextMessage).where(TextMessage.to_number == number)
    if kind is not None:
        query = query.where(TextMessage.kind == kind)
    return list(session.scalars(query.order_by(TextMessage.id)))


def notice_mails(session, person: SimpleNamespace) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.to_address == person.email,
                OutboxMessage.template == "new_message",
            )
        )
    )


# --- out: sendsms, the phone network, delivery reports ---------------------------------------


def test_a_message_notice_goes_through_sendsms_and_the_phone_gets_only_the_link(live, kannel):
    person = make_person(live)
    confirm_by_text(live, person)
    staff_writes(live, person, "Secret housing news at Hope Shelter, from Casey")
    live.run_jobs()  # the notice job writes the text; texts.send hands it to Kannel

    _code, notice = kannel.received(to=person.number, count=2)
    assert notice.sender == kannel.number  # SMS_FROM without "+"
    assert notice.receiver == person.number.removeprefix("+")  # E.164 without "+"
    assert notice.text == (
        "HMIS portal: you have a new message from your care team. Read it here: "
        f"{live.link('client.messages')}"
    )
    assert live.link("client.messages").startswith(kannel.portal_url + "/")
    for secret in ("Secret", "Hope", "Casey", person.agency_name):
        assert secret not in notice.text
    with live.session() as session:
        [row] = texts_to(session, person.number, "messages")
        assert row.status in ("sent", "delivered") and row.segments == 1 and not row.unicode
        assert row.gateway_ref == str(row.public_id)
        assert notice_mails(session, person) == []  # texts only


def test_the_consent_code_arrives_by_kannel_and_typing_it_confirms_the_phone(live, kannel):
    person = make_person(live)
    # No session of the test's open meanwhile: on SQLite it would hold the one write lock.
    browser = signed_in(live.app, SimpleNamespace(kind="client", email=person.email))
    asked = browser.form(
        "/account/texts/code", {"phone": person.phone}, token_from="/account/texts"
    )
    assert asked.status_code == 303
    live.run_jobs()

    [code_text] = kannel.received(to=person.number)
    code = the_code(code_text.text)
    assert code_text.text == (
        f"HMIS portal: your code is {code}. It works for 15 minutes. "
        "If you did not ask for it, ignore this text."
    )
    wrong = "000000" if code != "000000" else "111111"
    refused = browser.form("/account/texts/confirm", {"code": wrong}, token_from="/account/texts")
    assert refused.status_code == 200
    typed = browser.form("/account/texts/confirm", {"code": code}, token_from="/account/texts")
    assert typed.status_code == 303

    with live.session() as session:
        consent = session.scalar(
            select(TextConsent).where(TextConsent.client_id == person.client_id)
        )
        assert consent.number == person.number and consent.confirmed_at is not None
        assert consent.code_hmac is None and consent.code_attempts == 1
        [row] = texts_to(session, person.number, "code")
        assert row.secret_params is None  # the code is not kept once sent


def test_kannel_reports_delivery_and_the_text_becomes_delivered(live, kannel):
    person = make_person(live)
    confirm_by_text(live, person)  # the code text: Kannel calls its dlr-url with 8, then 1

    def delivered(session):
        [row] = texts_to(session, person.number, "code")
        return row if row.status == "delivered" else None

    row = live.eventually(delivered)
    assert row, "Kannel's delivery report did not mark the text delivered"
    assert row.delivered_at is not None and row.sent_at is not None
    assert row.gateway_status == "kannel_1"
    assert row.failed_at is None
    # Kannel called the dlr-url twice, by GET: 8 (the SMSC took it), then 1 (delivered).
    calls = re.findall(
        rf"Parsing URL `{re.escape(kannel.portal_url)}/hooks/texts/kannel/report"
        rf"\?ref={row.public_id}&secret=\w+&status=(\d+)'",
        kannel.smsbox_log.read_text(errors="replace"),
    )
    assert calls == ["8", "1"]


# --- in: STOP and START from the phone --------------------------------------------------------


@pytest.mark.parametrize(
    ("stop", "start", "language"),
    [("STOP", "START", "en"), ("PARAR", "COMENZAR", "es")],
)
def test_stop_from_the_phone_ends_texts_and_start_brings_them_back(
    live, kannel, stop, start, language
):
    person = make_person(live)
    confirm_by_text(live, person)
    kannel.send_from_phone(person.number, stop)

    def stopped(session):
        state = session.scalar(select(TextNumber).where(TextNumber.number == person.number))
        return state if state is not None and state.stopped_at is not None else None

    assert live.eventually(stopped), f"{stop} from the phone did not stop texts"
    with live.session() as session:
        [inbound] = session.scalars(
            select(TextInbound).where(TextInbound.number == person.number)
        ).all()
        assert (inbound.keyword, inbound.language, inbound.transport) == (
            "stop",
            language,
            "kannel",
        )
        with live.app.test_request_context():
            expected_reply = render("reply_stop", language, {})
    live.run_jobs()
    reply = kannel.received(to=person.number, count=2)[1:]
    assert [text.text for text in reply] == [expected_reply]
    assert start in expected_reply  # "Reply START" / "Responda COMENZAR"

    conversation = staff_writes(live, person, "Your appointment moved")
    live.run_jobs()
    time.sleep(0.5)  # long enough for a text to show at the phone, had one been sent
    assert len(kannel.received(to=person.number, timeout=0)) == 2  # code and reply only
    with live.session() as session:
        assert texts_to(session, person.number, "messages") == []
        [mail] = notice_mails(session, person)  # texts only, so the email instead
        assert mail.notice_kind == "messages"

    kannel.send_from_phone(person.number, start)
    started = live.eventually(lambda session: stopped(session) is None)
    assert started, f"{start} did not turn texts on again"
    live.run_jobs()
    with live.app.test_request_context():
        expected_on = render("reply_start", language, {})
    assert stop in expected_on
    assert kannel.received(to=person.number, count=3)[2].text == expected_on

    # Texts are on again: the next notice is a text, at once (the code and the two answers
    # were asked for by the person: they do not count toward the phone's hourly limit).
    with live.session() as session:
        channels = texting.notify_record(
            person.client_id,
            "messages",
            mail_template="new_message",
            params={"conversation": conversation},
        )
        session.commit()
    assert channels == "text"
    live.run_jobs()
    texts = kannel.received(to=person.number, count=4)
    assert [t.text for t in texts[3:]] == [
        "HMIS portal: you have a new message from your care team. Read it here: "
        f"{live.link('client.messages')}"
    ]
    with live.session() as session:
        kinds = [
            i.keyword
            for i in session.scalars(
                select(TextInbound)
                .where(TextInbound.number == person.number)
                .order_by(TextInbound.id)
            )
        ]
        assert kinds == ["stop", "start"]
        assert len(notice_mails(session, person)) == 1  # the second notice was texted


def test_a_stop_the_phone_sends_as_ucs2_is_a_stop(live, kannel):
    """A text with an emoji goes as UCS-2; Kannel POSTs it as UTF-16BE (measured)."""
    person = make_person(live)
    kannel.send_from_phone(person.number, "STOP por favor 🙏")

    def inbound(session):
        return session.scalars(select(TextInbound).where(TextInbound.number == person.number)).all()

    rows = live.eventually(inbound)
    assert [(row.keyword, row.language) for row in rows] == [("stop", "en")]
    with live.session() as session:
        state = session.scalar(select(TextNumber).where(TextNumber.number == person.number))
        assert state.stopped_at is not None


# --- a gateway that is down -------------------------------------------------------------------


def test_a_gateway_that_is_down_keeps_the_text_queued_until_it_is_back_then_sends_it_once(
    live, kannel
):
    person = make_person(live)
    confirm_by_text(live, person)
    clock.freeze(datetime.now(UTC))
    with kannel.stopped():
        staff_writes(live, person, "Your appointment moved")
        live.run_jobs()
        with live.session() as session:
            [row] = texts_to(session, person.number, "messages")
            assert row.status == "queued" and row.sent_at is None
            job = session.scalar(
                select(Job).where(
                    Job.kind == "texts.send", Job.payload["text_id"].as_integer() == row.id
                )
            )
            assert job.status == "queued" and job.attempts == 1
            assert job.last_error == "TextDeliveryError"
            assert job.run_at > clock.now()
            retry_at = job.run_at
        clock.advance(retry_at - clock.now() - timedelta(seconds=1))
        assert live.run_jobs() == 0  # not due yet
    clock.advance(timedelta(seconds=2))  # the gateway is back and the retry is due
    assert live.run_jobs() == 1
    texts = kannel.received(to=person.number, count=2)
    assert len(texts) == 2  # the code, then the notice
    clock.advance(timedelta(hours=2))
    live.run_jobs()
    time.sleep(0.5)
    assert len(kannel.received(to=person.number, timeout=0)) == 2  # once
    with live.session() as session:
        [row] = texts_to(session, person.number, "messages")
        assert row.status in ("sent", "delivered")
        job = session.scalar(
            select(Job).where(
                Job.kind == "texts.send", Job.payload["text_id"].as_integer() == row.id
            )
        )
        assert job.status == "done" and job.attempts == 2


def test_a_wrong_sendsms_password_keeps_the_text_queued_until_it_is_mended(live, kannel):
    """Kannel answers 403 to a wrong password: an operator's mistake, not the number's, so
    the text waits (it is not dropped) and goes once the password is right."""
    person = make_person(live)
    confirm_by_text(live, person)
    clock.freeze(datetime.now(UTC))
    right = live.app.extensions["portal.settings"]
    live.app.extensions["portal.settings"] = right.with_overrides(sms_kannel_password="wrong")
    try:
        staff_writes(live, person, "Your appointment moved")
        live.run_jobs()
        with live.session() as session:
            [row] = texts_to(session, person.number, "messages")
            assert (row.status, row.drop_reason) == ("queued", None)
    finally:
        live.app.extensions["portal.settings"] = right
    clock.advance(timedelta(minutes=2))
    live.run_jobs()
    assert len(kannel.received(to=person.number, count=2)) == 2  # the code, then the notice


# --- the hooks refuse callers that are not Kannel ----------------------------------------------


@pytest.mark.requirement("R41")
def test_the_incoming_hook_takes_a_post_with_the_secret_from_an_allowed_address_only(live, kannel):
    person = make_person(live)
    number = person.number.removeprefix("+")
    client = live.app.test_client()
    headers = {"X-Kannel-From": number, "X-Kannel-To": kannel.number}
    attempts = [
        client.post(HOOK_IN, data="STOP", headers=headers),
        client.post(f"{HOOK_IN}?secret=wrong-{kannel.secret}", data="STOP", headers=headers),
        client.post(HOOK_IN, data="STOP", headers={**headers, "X-Portal-Secret": "x" * 32}),
        client.post(
            f"{HOOK_IN}?secret={kannel.secret}",
            data="STOP",
            headers=headers,
            environ_base={"REMOTE_ADDR": "10.9.9.9"},
        ),
        requests.post(
            f"{kannel.portal_url}{HOOK_IN}?secret={kannel.secret[:-1]}",
            data="STOP",
            headers=headers,
            timeout=10,
        ),
    ]
    assert [answer.status_code for answer in attempts] == [403] * 5
    read_only = client.get(f"{HOOK_IN}?secret={kannel.secret}&from={number}&text=STOP")
    assert read_only.status_code == 405  # a GET changes nothing

    def untouched() -> None:
        with live.session() as session:
            assert (
                session.scalars(
                    select(TextInbound).where(TextInbound.number == person.number)
                ).all()
                == []
            )
            assert (
                session.scalar(select(TextNumber).where(TextNumber.number == person.number)) is None
            )
            assert texts_to(session, person.number) == []

    untouched()
    accepted = client.post(
        HOOK_IN, data="STOP", headers={**headers, "X-Portal-Secret": kannel.secret}
    )
    assert accepted.status_code == 200  # the same call with the secret is taken
    with live.session() as session:
        state = session.scalar(select(TextNumber).where(TextNumber.number == person.number))
        assert state is not None and state.stopped_at is not None


# --- other scripts ----------------------------------------------------------------------------


def test_a_text_in_another_script_goes_as_ucs2_and_arrives_whole(live, kannel):
    person = make_person(live, agency_name=f"希望之家 {uuid.uuid4().hex[:4]}")
    confirm_by_text(live, person)
    with live.session() as session:
        texting.set_details(session.get(Client, person.client_id), True)
        session.commit()
    kannel.forget()
    staff_writes(live, person, "Your appointment moved")
    live.run_jobs()

    expected = (
        f"HMIS portal: {person.agency_name} sent you a new message. Read it here: "
        f"{live.link('client.messages')}"
    )
    [notice] = kannel.received(to=person.number)
    assert notice.text == expected
    parts = [line for line in kannel.received_lines() if line.receiver == notice.receiver]
    # Longer than one UCS-2 segment (70): Kannel sends it in parts, each UTF-16BE (coding 2).
    assert len(parts) == 2 and all(p.kind == "udh" for p in parts)
    assert b"".join(p.data for p in parts) == expected.encode("utf-16-be")
    with live.session() as session:
        [row] = texts_to(session, person.number, "messages")
        assert row.unicode and row.segments == 2
