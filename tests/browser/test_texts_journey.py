"""Issue 22's texts on phones (375x667, touch), through a real Kannel, axe-core on every page.

A client with a "texts OK" phone on their record confirms it on My account > Texts with the
code Kannel's fake phone network (fakesmsc) received, and chooses texts for new messages. The
case manager writes a message that names a shelter and a person: the phone gets a notice with
only the brand, the words and the link, and the link opens the client's messages. The phone
replies STOP: the portal records it and answers once. The case manager writes again an hour
later: no text goes, the email does (its link opens the conversation). The client's Texts page
and the staff record (the notices, one by text and one by email, and the STOP) say so.

Kannel calls the portal at 127.0.0.1:`kannel.portal_port`, so this module serves a portal of
its own there (with texts, and its own database); the browser uses that same origin.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from portal import links
from portal.domain.messaging._text import NOTICE_EVERY
from portal.domain.models import (
    ClientPhone,
    Conversation,
    TextInbound,
    TextMessage,
    TextNumber,
)
from portal.extensions import db, limiter
from portal.integrations.texts import render
from tests.browser.conftest import PAGE_TIMEOUT_MS, LiveServer, assert_accessible
from tests.browser.test_client_account_journey import (
    FIRST_PASSWORD,
    case_manager_and_client,
    client_sign_in,
    seed_connected,
    translator,
)
from tests.browser.test_staff_journey import heading, staff_sign_in, tap_and_load
from tests.support import TEST_PASSWORD, build_app, enrol_app, missing, serving

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

expect.set_options(timeout=PAGE_TIMEOUT_MS)

SHELTER = "Hope Harbor Shelter"
PERSON = "Jordan Mendez"
WAIT_SECONDS = 10.0  # for fakesmsc's log and Kannel's POSTs to the portal


# --- a portal with texts, where Kannel calls it ------------------------------------------------


def _texts_database_url(root) -> str:
    """A SQLite file; on PostgreSQL (BROWSER_DATABASE_URL) a database of this module's own,
    beside the session live server's (build_app empties it first)."""
    base = os.environ.get("BROWSER_DATABASE_URL", "")
    if not base:
        return f"sqlite:///{root / 'texts.sqlite3'}"
    url = make_url(base)
    name = f"{url.database}_texts"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            found = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not found:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        missing("pg", f"cannot create the database {name}: {type(exc).__name__}")
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def texts_portal(kannel, smtp_sink, tmp_path_factory):
    root = tmp_path_factory.mktemp("texts-portal")
    app = build_app(
        root,
        _texts_database_url(root),
        **kannel.settings(),  # base_url http://127.0.0.1:<portal_port>, where Kannel posts
        mail_transport="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
    )
    with serving(app, kannel.portal_port, "texts-portal"):
        yield LiveServer(app=app, url=kannel.portal_url, smtp=smtp_sink)


def seed_with_phone(portal) -> dict:
    """`seed_connected`'s agency, case manager (authenticator app set up) and connected
    client, with a "texts OK" mobile number on the record and no quiet hours (the journey
    may run at any hour)."""
    people = seed_connected(portal)
    number = f"+1555{uuid.uuid4().int % 10**7:07d}"
    with portal.app.app_context():
        casey, client = case_manager_and_client(people)
        casey.agency.text_quiet_from = casey.agency.text_quiet_until = "00:00"
        db.session.add(ClientPhone(client_id=client.id, number=number, kind="mobile", text_ok=True))
        enrol_app(db.session, casey.id)
        db.session.commit()
        people.update(
            number=number,
            client_id=client.id,
            agency=casey.agency.name,
            last_name=client.last_name,
        )
        db.session.remove()
    return people


def eventually(portal, check, timeout: float = WAIT_SECONDS):
    """`check()`'s answer (run in an app context) once it is true: Kannel calls the portal on
    its own time. The last answer when `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        with portal.app.app_context():
            try:
                answer = check()
            finally:
                db.session.remove()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def texts_of(portal, number: str, kind: str) -> list[TextMessage]:
    with portal.app.app_context():
        rows = list(
            db.session.scalars(
                select(TextMessage).where(TextMessage.to_number == number, TextMessage.kind == kind)
            )
        )
        db.session.remove()
    return rows


def words(portal, kind: str) -> str:
    """A text's English words as the portal writes them (no parameters)."""
    with portal.app.test_request_context():
        return render(kind, "en", {})


# --- the journey --------------------------------------------------------------------------------


def test_a_client_confirms_a_phone_gets_a_notice_by_text_and_stop_sends_email_instead(
    texts_portal, kannel, phones
):
    started = time.perf_counter()
    portal = texts_portal
    with portal.app.app_context():
        limiter.reset()  # every request comes from 127.0.0.1: fresh sign-in counters
        messages_link = links.external("client.messages")
    assert messages_link == f"{kannel.portal_url}/messages"
    t = translator(portal.app, "en")
    people = seed_with_phone(portal)
    number = people["number"]

    # --- the client: My account > Texts, a code to the record's phone --------------------------
    phone = phones.open()
    phone.goto(portal.url + "/sign-in")
    assert_accessible(phone)
    client_sign_in(phone, portal, people, t, FIRST_PASSWORD)
    expect(heading(phone, f"Hello, {people['first_name']}")).to_be_visible()
    assert_accessible(phone)
    tap_and_load(
        phone, phone.get_by_role("navigation", name="Main").get_by_role("link", name="My account")
    )
    expect(heading(phone, "My account")).to_be_visible()
    assert_accessible(phone)
    tap_and_load(phone, phone.get_by_role("link", name="Texts", exact=True))
    expect(heading(phone, "Texts")).to_be_visible()
    expect(phone.get_by_text("No phone gets texts yet.")).to_be_visible()
    assert_accessible(phone)

    phone.get_by_label(number, exact=True).check()
    tap_and_load(phone, phone.get_by_role("button", name="Send me a code"))
    expect(phone.get_by_text("We sent a code by text.")).to_be_visible()
    expect(phone.get_by_text(f"We sent a 6-digit code to {number}.")).to_be_visible()
    assert_accessible(phone)

    assert portal.run_worker() >= 1  # texts.send hands the code to Kannel
    [code_text] = kannel.received(WAIT_SECONDS, to=number)
    code = re.search(r"\b(\d{6})\b", code_text.text).group(1)
    assert code_text.sender == kannel.number
    assert code_text.receiver == number.removeprefix("+")
    assert code_text.text == (
        f"HMIS portal: your code is {code}. It works for 15 minutes. "
        "If you did not ask for it, ignore this text."
    )

    phone.get_by_label("6-digit code").fill(code)
    tap_and_load(phone, phone.get_by_role("button", name="Confirm"))
    expect(heading(phone, "How we tell you about new things")).to_be_visible()
    expect(phone.get_by_text("This phone can get texts from the portal now.")).to_be_visible()
    assert_accessible(phone)

    # --- new messages by text only ---------------------------------------------------------
    new_messages = phone.get_by_role("group", name="New messages")
    new_messages.get_by_label("Text message", exact=True).check()
    tap_and_load(phone, phone.get_by_role("button", name="Save"))
    expect(heading(phone, "My account")).to_be_visible()
    expect(phone.get_by_text("Saved.")).to_be_visible()
    assert_accessible(phone)
    phone.goto(portal.url + "/account/notices")
    expect(
        phone.get_by_role("group", name="New messages").get_by_label("Text message", exact=True)
    ).to_be_checked()
    assert_accessible(phone)

    # --- the case manager writes; the phone gets only the brand, the words and the link ----
    staff = phones.open()
    staff.goto(portal.url + "/staff/sign-in")
    assert_accessible(staff)
    staff_sign_in(staff, people["staff_email"], TEST_PASSWORD, check=assert_accessible)
    expect(heading(staff, "Hello, Casey Case")).to_be_visible()
    staff.goto(portal.url + people["record"])
    assert_accessible(staff)
    tap_and_load(staff, staff.get_by_role("link", name="Write to the client"))
    assert_accessible(staff)
    first_body = f"Your bed at {SHELTER} is ready. Ask for {PERSON} at the front desk."
    staff.get_by_label("Your message").fill(first_body)
    tap_and_load(staff, staff.get_by_role("button", name="Send", exact=True))
    expect(staff.get_by_text("Sent. The client gets")).to_be_visible()
    assert_accessible(staff)

    assert portal.run_worker() >= 2  # the messages notice job, then texts.send
    code_again, notice = kannel.received(WAIT_SECONDS, to=number, count=2)
    assert code_again == code_text
    assert notice.sender == kannel.number
    assert notice.text == (
        f"HMIS portal: you have a new message from your care team. Read it here: {messages_link}"
    )
    for secret in (
        SHELTER,
        "Hope",
        PERSON,
        "Jordan",
        "Mendez",
        "bed",
        people["agency"],
        people["first_name"],
        people["last_name"],
    ):
        assert secret not in notice.text
    assert portal.mails_to(people["client_email"]) == []  # texts only for new messages

    link = re.search(r"https?://\S+", notice.text).group(0)
    phone.goto(link)
    expect(heading(phone, "Messages")).to_be_visible()
    assert phone.url == messages_link
    assert_accessible(phone)

    # --- STOP from the phone: recorded, answered once --------------------------------------
    kannel.send_from_phone(number, "STOP")

    def stopped():
        state = db.session.scalar(select(TextNumber).where(TextNumber.number == number))
        return state is not None and state.stopped_at is not None

    assert eventually(portal, stopped), "the portal did not record the STOP"
    with portal.app.app_context():
        inbound = db.session.scalars(select(TextInbound).where(TextInbound.number == number)).all()
        assert [(i.keyword, i.transport) for i in inbound] == [("stop", "kannel")]
        db.session.remove()
    portal.run_worker()  # texts.send hands the answer to Kannel
    answer = kannel.received(WAIT_SECONDS, to=number, count=3)[2:]
    assert [a.text for a in answer] == [words(portal, "reply_stop")]
    assert answer[0].text == (
        "HMIS portal: you will get no more texts from us. Reply START to get them again."
    )

    # --- an hour later the case manager writes again: email, no text -----------------------
    # One notice per conversation an hour: the first one is dated an hour back, as if the
    # case manager wrote again an hour later (the browsers' sessions stay in the present).
    with portal.app.app_context():
        conversation = db.session.scalar(
            select(Conversation).where(Conversation.client_id == people["client_id"])
        )
        conversation.client_notified_at -= NOTICE_EVERY + timedelta(minutes=1)
        db.session.commit()
        db.session.remove()
    staff.get_by_label("Reply").fill(f"{PERSON} will call you tomorrow.")
    tap_and_load(staff, staff.get_by_role("button", name="Send", exact=True))
    expect(staff.get_by_text(f"{PERSON} will call you tomorrow.")).to_be_visible()
    assert portal.run_worker() >= 2  # the messages notice job, then mail.send
    assert len(texts_of(portal, number, "messages")) == 1  # no text was even written
    assert len(kannel.received(0, to=number, count=4)) == 3  # code, notice, STOP's answer
    [mail] = portal.mails_to(people["client_email"])
    assert "You have a new message in the portal." in mail.get_body(("plain",)).get_content()
    for secret in (SHELTER, PERSON, "tomorrow"):
        assert secret not in mail.as_string()
    phone.goto(portal.link_in_latest_mail(people["client_email"], "/messages/"))
    expect(phone.get_by_text(f"{PERSON} will call you tomorrow.")).to_be_visible()
    expect(phone.get_by_text(first_body)).to_be_visible()
    assert_accessible(phone)

    # --- the client's Texts page says the phone replied STOP -------------------------------
    phone.goto(portal.url + "/account/texts")
    expect(phone.get_by_text(f"We text {number}.")).to_be_visible()
    expect(
        phone.get_by_text(re.compile(r"^This phone replied STOP on .+, so we send no texts\."))
    ).to_be_visible()
    assert_accessible(phone)

    # --- the staff record: the notices (one by text, one by email) and the STOP ------------
    staff.goto(portal.url + people["record"] + "#texts")
    expect(staff.locator("#texts")).to_have_text("Emails and texts")
    expect(
        staff.get_by_text(re.compile(r"^The phone replied STOP on .+: no texts go to it\.$"))
    ).to_be_visible()
    rows = staff.locator("table tr").filter(has=staff.get_by_role("cell", name="New message"))
    expect(rows).to_have_count(2)
    expect(rows.filter(has=staff.get_by_role("cell", name="Text", exact=True))).to_have_count(1)
    expect(rows.filter(has=staff.get_by_role("cell", name="Email", exact=True))).to_have_count(1)
    # The table scrolls inside its own region: the page does not scroll sideways on a phone.
    expect(staff.get_by_role("region", name="Notices the client was sent")).to_be_visible()
    assert staff.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert_accessible(staff)
    print(f"\n[journey texts] {time.perf_counter() - started:.1f} s")
