"""Issue 6 on phones (375x667, touch): a client writes, the case manager answers, the client
reads (axe-core on every page); and a conversation full of hostile payloads opens with no
dialog and no script run."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from tests.browser.conftest import PAGE_TIMEOUT_MS, assert_accessible
from tests.browser.test_client_account_journey import (
    FIRST_PASSWORD,
    case_manager_and_client,
    client_sign_in,
    seed_connected,
    translator,
)
from tests.browser.test_staff_journey import heading, staff_sign_in, tap_and_load
from tests.support import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

expect.set_options(timeout=PAGE_TIMEOUT_MS)

NASTY = [
    "<script>window.__xss = 1; alert(1)</script>",
    '<img src=x onerror="window.__xss=1;alert(1)">',
    '<svg onload="window.__xss=1;alert(1)"></svg>',
    '<a href="javascript:window.__xss=1;alert(1)">tap me</a>',
    "javascript:window.__xss=1",
    '"><iframe srcdoc="<script>parent.__xss=1</script>">',
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
    "https://example.org/?q=<script>window.__xss=1</script>",
    '<div style="background:url(javascript:window.__xss=1)">x</div>',
    "&lt;script&gt;window.__xss=1&lt;/script&gt;",
]


def add_old_messages(live_server, people, count: int) -> None:
    """`count` earlier notes from the case manager in the client's conversation."""
    from datetime import timedelta

    from portal.domain.core import clock
    from portal.domain.models import Conversation, Message

    with live_server.app.app_context():
        casey, client = case_manager_and_client(people)
        conversation = db.session.scalar(
            db.select(Conversation).where(Conversation.client_id == client.id)
        )
        start = clock.now() - timedelta(days=2)
        db.session.add_all(
            Message(
                conversation_id=conversation.id,
                author_kind="staff",
                author_staff_id=casey.id,
                body=f"Earlier note {n}",
                idempotency_key=f"old-{n}",
                created_at=start + timedelta(minutes=n),
            )
            for n in range(count)
        )
        db.session.commit()
        db.session.remove()


def test_a_client_writes_the_case_manager_answers_the_client_reads(live_server, phones):
    started = time.perf_counter()
    t = translator(live_server.app, "en")
    people = seed_connected(live_server)

    phone = phones.open()
    phone.goto(live_server.url + "/sign-in")
    client_sign_in(phone, live_server, people, t, FIRST_PASSWORD)
    nav = phone.get_by_role("navigation", name="Main")
    tap_and_load(phone, nav.get_by_role("link", name="Messages"))
    expect(heading(phone, "Messages")).to_be_visible()
    assert_accessible(phone)
    tap_and_load(phone, phone.get_by_role("link", name="Write a message"))
    # One person to write to: named, not offered as a choice (issue 17).
    expect(heading(phone, "Write to Casey Case")).to_be_visible()
    expect(phone.get_by_role("radio")).to_have_count(0)
    tap_and_load(phone, phone.get_by_role("button", name="Send"))
    expect(phone.locator(".error-summary")).to_be_visible()  # no text
    assert_accessible(phone)
    phone.get_by_label("Your message").fill("Hi Casey,\nI am at the library most mornings.")
    tap_and_load(phone, phone.get_by_role("button", name="Send"))
    expect(phone.get_by_text("I am at the library most mornings.")).to_be_visible()
    assert_accessible(phone)

    staff = phones.open()
    staff.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(staff, people["staff_email"], TEST_PASSWORD)
    inbox = staff.get_by_role("navigation", name="Staff").get_by_role(
        "link", name=re.compile("^Inbox")
    )
    expect(inbox).to_contain_text("1")
    tap_and_load(staff, inbox)
    expect(heading(staff, "Inbox")).to_be_visible()
    assert_accessible(staff)
    tap_and_load(staff, staff.get_by_role("link", name=re.compile("Rivera")))
    expect(staff.get_by_text("I am at the library most mornings.")).to_be_visible()
    assert_accessible(staff)
    staff.get_by_label("Reply").fill("Thanks! I will come by tomorrow at 9.")
    tap_and_load(staff, staff.get_by_role("button", name="Send", exact=True))
    expect(staff.get_by_text("not read yet")).to_be_visible()
    assert_accessible(staff)

    phone.goto(live_server.url + "/home")
    expect(phone.get_by_text("1 new message.")).to_be_visible()
    tap_and_load(phone, phone.get_by_role("link", name="Open messages"))
    tap_and_load(phone, phone.get_by_role("link", name=re.compile("^With ")))
    expect(phone.get_by_text("Thanks! I will come by tomorrow at 9.")).to_be_visible()
    assert_accessible(phone)
    staff.reload()
    expect(staff.get_by_text("not read yet")).to_have_count(0)  # the read receipt
    expect(staff.locator(".message-staff .message-meta")).to_contain_text(" · read ")

    # A long thread: after a reply the phone shows the reply, not the top of the thread.
    add_old_messages(live_server, people, 30)
    phone.reload()
    phone.get_by_label("Reply").fill("See you at 9.")
    tap_and_load(phone, phone.get_by_role("button", name="Send", exact=True))
    expect(phone.locator("#newest")).to_contain_text("See you at 9.")
    expect(phone.locator("#newest")).to_be_in_viewport()
    assert phone.evaluate("() => window.scrollY") > 667
    print(f"\n[journey messaging] {time.perf_counter() - started:.1f} s")


@pytest.mark.requirement("R34", "R35")
def test_a_conversation_full_of_payloads_runs_no_script(live_server, phones):
    from sqlalchemy import select

    from portal.domain import messaging
    from portal.domain.models import Client as Record
    from portal.domain.models import ClientAccount

    t = translator(live_server.app, "en")
    people = seed_connected(live_server)
    with live_server.app.app_context():
        account = db.session.scalar(
            select(ClientAccount).where(ClientAccount.email == people["client_email"])
        )
        record = db.session.get(Record, account.client_id)
        [recipient] = messaging.recipients_for(record)
        for i, payload in enumerate(NASTY):
            messaging.client_write(
                account, body=payload, key=f"nasty-{i}", recipient_id=str(recipient.public_id)
            )
        db.session.commit()
        db.session.remove()

    phone = phones.open()
    dialogs = []
    phone.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    phone.goto(live_server.url + "/sign-in")
    client_sign_in(phone, live_server, people, t, FIRST_PASSWORD)
    phone.goto(live_server.url + "/messages")
    tap_and_load(phone, phone.get_by_role("link", name=re.compile("^With ")))
    expect(phone.locator(".message")).to_have_count(len(NASTY))
    hrefs = phone.locator(".message-body a").evaluate_all("links => links.map(a => a.href)")
    assert all(h.startswith(("http://", "https://", "mailto:", "tel:")) for h in hrefs), hrefs
    phone.wait_for_timeout(300)
    assert dialogs == []
    assert phone.evaluate("() => window.__xss") is None
    expect(phone.get_by_text(NASTY[0])).to_be_visible()  # shown as text, exactly
