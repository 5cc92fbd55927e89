"""Issue 22: texts as a second channel, through the pages and the worker (file transport:
the text lands in the instance folder; Kannel and the Twilio-compatible API have their own
tests)."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.domain import texting
from portal.domain.core import clock, jobs
from portal.domain.models import (
    CareTeamMember,
    Client,
    ClientPhone,
    OutboxMessage,
    TextConsent,
    TextInbound,
    TextMessage,
    TextNumber,
)
from tests.support import signed_in

NUMBER = "+15551230000"


@contextmanager
def texts_on(app, **overrides):
    original = app.extensions["portal.settings"]
    app.extensions["portal.settings"] = original.with_overrides(
        sms_transport="file", sms_from="+15559870000", **overrides
    )
    try:
        yield
    finally:
        app.extensions["portal.settings"] = original


@pytest.fixture
def texting_on(app):
    with texts_on(app):
        yield


@pytest.fixture
def person(app, make, agency_a, case_manager_user, database):
    """A signed-in client with a "texts OK" phone and a case manager."""
    account = make.client_account(agency_a)
    record = database.session.get(Client, account.client_id)
    record.care_team.append(CareTeamMember(staff=case_manager_user, is_case_manager=True))
    database.session.add(
        ClientPhone(client_id=record.id, number=NUMBER, kind="mobile", text_ok=True)
    )
    database.session.commit()
    browser = signed_in(app, account)
    browser.account, browser.record = account, record
    return browser


def run_jobs(database) -> None:
    database.session.expire_all()
    jobs.run_pending()
    database.session.commit()


def texts_to(database, number=NUMBER, kind=None):
    query = select(TextMessage).where(TextMessage.to_number == number)
    if kind:
        query = query.where(TextMessage.kind == kind)
    return database.session.scalars(query.order_by(TextMessage.id)).all()


def text_file(app, message) -> str:
    path = (
        app.extensions["portal.settings"].instance_path / "texts" / f"{message.public_id.hex}.txt"
    )
    return path.read_text(encoding="utf-8")


def confirm_phone(app, person, database) -> None:
    phone = database.session.scalar(
        select(ClientPhone).where(ClientPhone.client_id == person.record.id)
    )
    sent = person.form(
        "/account/texts/code", {"phone": str(phone.public_id)}, token_from="/account/texts"
    )
    assert sent.status_code == 303
    run_jobs(database)
    [code_text] = texts_to(database, kind="code")
    assert code_text.status == "sent"
    code = re.search(r"\b(\d{6})\b", text_file(app, code_text)).group(1)
    done = person.form("/account/texts/confirm", {"code": code}, token_from="/account/texts")
    assert done.status_code == 303


def staff_message(case_manager, person, database, body="Your appointment moved", key="k1"):
    page = f"/staff/clients/{person.record.public_id}/message"
    done = case_manager.form(page, {"body": body, "key": key})
    assert done.status_code == 303


def test_consent_by_a_code_then_a_message_notice_by_text_says_only_there_is_a_message(
    app, person, case_manager, database, texting_on
):
    confirm_phone(app, person, database)
    consent = database.session.scalar(
        select(TextConsent).where(TextConsent.client_id == person.record.id)
    )
    assert consent.number == NUMBER and consent.confirmed_at is not None
    chosen = person.form(
        "/account/notices",
        {"messages": "text", "requests": "email", "documents": "both", "roi_renewal": "none"},
        token_from="/account/notices",
    )
    assert chosen.status_code == 303
    staff_message(case_manager, person, database, body="Secret housing news at Hope Shelter")
    run_jobs(database)
    [notice] = texts_to(database, kind="messages")
    assert notice.status == "sent" and notice.segments == 1
    words = text_file(app, notice)
    assert "new message" in words and "/messages" in words
    assert "Secret" not in words and "Hope" not in words and "Casey" not in words
    mails = database.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.to_address == person.account.email,
            OutboxMessage.template == "new_message",
        )
    ).all()
    assert mails == []  # texts only


def test_stop_ends_texts_at_once_and_the_next_notice_goes_by_email(
    app, person, case_manager, database, texting_on
):
    confirm_phone(app, person, database)
    person.form(
        "/account/notices",
        {"messages": "text", "requests": "text", "documents": "text", "roi_renewal": "text"},
        token_from="/account/notices",
    )
    texting.receive("15551230000", " stop. ", transport="test")
    database.session.commit()
    state = database.session.scalar(select(TextNumber).where(TextNumber.number == NUMBER))
    assert state.stopped_at is not None
    [inbound] = database.session.scalars(select(TextInbound)).all()
    assert inbound.keyword == "stop"
    staff_message(case_manager, person, database)
    run_jobs(database)
    assert texts_to(database, kind="messages") == []
    [reply] = texts_to(database, kind="reply_stop")
    assert reply.status == "sent" and "START" in text_file(app, reply)
    mails = database.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.to_address == person.account.email,
            OutboxMessage.template == "new_message",
        )
    ).all()
    assert len(mails) == 1 and mails[0].notice_kind == "messages"


@pytest.fixture
def late_evening():
    """22:30 in Los Angeles (agency A's zone), inside the default quiet hours."""
    clock.freeze(datetime(2026, 12, 8, 6, 30, tzinfo=UTC))
    yield clock


def test_quiet_hours_hold_a_notice_until_morning(
    late_evening, app, person, case_manager, database, texting_on
):
    confirm_phone(app, person, database)  # a code goes at any hour: the client just asked
    person.form(
        "/account/notices",
        {"messages": "text", "requests": "text", "documents": "text", "roi_renewal": "text"},
        token_from="/account/notices",
    )
    staff_message(case_manager, person, database)
    run_jobs(database)
    [notice] = texts_to(database, kind="messages")
    assert notice.status == "queued"
    clock.advance(timedelta(hours=9, minutes=29))  # 07:59: still quiet
    run_jobs(database)
    database.session.refresh(notice)
    assert notice.status == "queued"
    clock.advance(timedelta(minutes=2))  # 08:01
    run_jobs(database)
    database.session.refresh(notice)
    assert notice.status == "sent"
