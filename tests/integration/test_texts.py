"""Issue 22: texts as a second channel, through the pages and the worker (file transport:
the text lands in the instance folder; Kannel and the Twilio-compatible API have their own
tests)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.domain import texting
from portal.domain.core import clock
from portal.domain.models import (
    Client,
    ClientAccount,
    ClientPhone,
    OutboxMessage,
    TextConsent,
    TextInbound,
    TextNumber,
)
from tests.support import signed_in
from tests.texting import NUMBER, run_jobs, texting_client, texts_on, texts_to


@pytest.fixture
def texting_on(app):
    with texts_on(app):
        yield


@pytest.fixture
def person(app, make, agency_a, case_manager_user, database):
    return texting_client(app, make, agency_a, case_manager_user, database)


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


# --- channel per kind of notice ----------------------------------------------------------------


def choose(person, **choices):
    values = {
        "messages": "email",
        "requests": "email",
        "documents": "email",
        "roi_renewal": "email",
    }
    values.update(choices)
    return person.form("/account/notices", values, token_from="/account/notices")


def mails_to(database, person, template):
    return database.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.to_address == person.account.email, OutboxMessage.template == template
        )
    ).all()


def ask_for_location(case_manager, person):
    done = case_manager.form(
        f"/staff/clients/{person.record.public_id}/tasks", {"kind": "update_location"}
    )
    assert done.status_code == 303


@pytest.mark.parametrize(
    ("channel", "texts", "emails"),
    [("email", 0, 1), ("text", 1, 0), ("both", 1, 1), ("none", 0, 0)],
)
def test_each_kind_goes_by_the_channel_the_client_chose(
    app, person, case_manager, database, texting_on, channel, texts, emails
):
    confirm_phone(app, person, database)
    assert choose(person, requests=channel).status_code == 303
    ask_for_location(case_manager, person)
    run_jobs(database)
    assert len(texts_to(database, kind="requests")) == texts
    assert len(mails_to(database, person, "new_request")) == emails
    if texts:
        [sent] = texts_to(database, kind="requests")
        assert sent.status == "sent" and "/home" in text_file(app, sent)


def test_texts_need_a_confirmed_phone_before_they_can_be_chosen(person, database, texting_on):
    refused = choose(person, messages="both")
    assert refused.status_code == 200
    assert "first confirm your phone number" in refused.get_data(as_text=True)
    account = database.session.get(ClientAccount, person.account.id)
    assert account.notice_channels == {}


def test_texts_off_on_the_site_offer_email_or_nothing(person):
    page = person.get("/account/notices").get_data(as_text=True)
    assert 'value="text"' not in page and 'value="both"' not in page
    assert "Texts are not available here yet" in person.get("/account/texts").get_data(as_text=True)


def test_a_phone_no_longer_marked_for_texts_gets_none_and_the_notice_comes_by_email(
    app, person, case_manager, database, texting_on
):
    confirm_phone(app, person, database)
    choose(person, requests="text")
    phone = database.session.scalar(
        select(ClientPhone).where(ClientPhone.client_id == person.record.id)
    )
    phone.text_ok = False  # staff accepted a change: no more texts to it
    database.session.commit()
    ask_for_location(case_manager, person)
    run_jobs(database)
    assert texts_to(database, kind="requests") == []
    assert len(mails_to(database, person, "new_request")) == 1


def test_turning_texts_off_sends_the_notices_by_email(
    app, person, case_manager, database, texting_on
):
    confirm_phone(app, person, database)
    choose(person, requests="text")
    person.form("/account/texts/off", {}, token_from="/account/texts")
    ask_for_location(case_manager, person)
    run_jobs(database)
    assert texts_to(database, kind="requests") == []
    assert len(mails_to(database, person, "new_request")) == 1


def test_with_leave_a_text_names_the_agency_and_still_nothing_else(
    app, person, case_manager, database, texting_on
):
    confirm_phone(app, person, database)
    choose(person, messages="text")
    person.form("/account/texts/details", {"allow_details": "y"}, token_from="/account/texts")
    staff_message(case_manager, person, database, body="Bed at Hope Shelter tonight")
    run_jobs(database)
    [notice] = texts_to(database, kind="messages")
    words = text_file(app, notice)
    assert "Agency A" in words and "Hope" not in words and "Casey" not in words


def test_taking_the_leave_back_reaches_a_text_already_waiting(
    app, frozen_clock, person, case_manager, database, texting_on
):
    """The agency's name is read when the text goes: a client who unticks the box at 23:00
    (someone else reads their phone now) gets no name in the text held for the morning."""
    confirm_phone(app, person, database)
    choose(person, requests="text")
    person.form("/account/texts/details", {"allow_details": "y"}, token_from="/account/texts")
    record = database.session.get(Client, person.record.id)
    waiting = texting.queue_text(
        "requests", number=NUMBER, language="en", client_id=record.id, agency=person.account.agency
    )
    database.session.commit()
    person.form("/account/texts/details", {}, token_from="/account/texts")  # unticked
    run_jobs(database)
    database.session.refresh(waiting)
    assert waiting.status == "sent" and "Agency A" not in text_file(app, waiting)


def test_a_notice_from_a_serving_agency_is_that_agencys(
    app, make, agency_b, person, database, texting_on
):
    """Its name (with leave), its quiet hours, its limits, its monthly count."""
    confirm_phone(app, person, database)
    choose(person, requests="text")
    person.form("/account/texts/details", {"allow_details": "y"}, token_from="/account/texts")
    assert (
        texting.notify_record(
            person.record.id,
            "requests",
            mail_template="new_request",
            params={},
            agency_id=agency_b.id,
        )
        == "text"
    )
    database.session.commit()
    run_jobs(database)
    [notice] = texts_to(database, kind="requests")
    assert notice.agency_id == agency_b.id and "Agency B" in text_file(app, notice)


def test_no_text_to_a_closed_account(app, person, case_manager, database, texting_on):
    confirm_phone(app, person, database)
    choose(person, requests="text")
    ask_for_location(case_manager, person)
    account = database.session.get(ClientAccount, person.account.id)
    account.is_active = False  # closed before the worker got to the text
    database.session.commit()
    run_jobs(database)
    [notice] = texts_to(database, kind="requests")
    assert (notice.status, notice.drop_reason) == ("dropped", "account_closed")
    assert mails_to(database, person, "new_request") == []


def test_a_number_from_a_us_gateway_without_its_country_code_is_the_same_number(
    app, database, texting_on
):
    assert texting.normalise_number("5551230000") == "+15551230000"
    assert texting.normalise_number("15551230000") == "+15551230000"
    assert texting.normalise_number("+445551230000") == "+445551230000"
    texting.receive("(555) 123-0000", "STOP", transport="test")
    database.session.commit()
    state = database.session.scalar(select(TextNumber).where(TextNumber.number == NUMBER))
    assert state is not None and state.stopped_at is not None


# --- consent by code ---------------------------------------------------------------------------


def start_code(person, database):
    phone = database.session.scalar(
        select(ClientPhone).where(ClientPhone.client_id == person.record.id)
    )
    return person.form(
        "/account/texts/code", {"phone": str(phone.public_id)}, token_from="/account/texts"
    )


def test_a_wrong_code_counts_and_five_end_it(app, person, database, texting_on):
    start_code(person, database)
    for left in (4, 3, 2, 1):
        page = person.form(
            "/account/texts/confirm", {"code": "000000"}, token_from="/account/texts"
        )
        assert f"You have {left} tries left" in page.get_data(as_text=True)
    page = person.form("/account/texts/confirm", {"code": "000000"}, token_from="/account/texts")
    assert "This code no longer works" in page.get_data(as_text=True)
    run_jobs(database)
    [code_text] = texts_to(database, kind="code")
    code = re.search(r"\b(\d{6})\b", text_file(app, code_text)).group(1)
    page = person.form("/account/texts/confirm", {"code": code}, token_from="/account/texts")
    assert "This code no longer works" in page.get_data(as_text=True)
    consent = database.session.scalar(
        select(TextConsent).where(TextConsent.client_id == person.record.id)
    )
    assert consent.confirmed_at is None and consent.code_attempts == 5


def test_a_code_expires_after_15_minutes(app, person, database, texting_on):
    start_code(person, database)
    run_jobs(database)
    [code_text] = texts_to(database, kind="code")
    code = re.search(r"\b(\d{6})\b", text_file(app, code_text)).group(1)
    consent = database.session.scalar(
        select(TextConsent).where(TextConsent.client_id == person.record.id)
    )
    assert consent.code_expires_at - clock.now() <= timedelta(minutes=15)
    consent.code_expires_at = clock.now() - timedelta(seconds=1)  # 15 minutes later
    database.session.commit()
    page = person.form("/account/texts/confirm", {"code": code}, token_from="/account/texts")
    assert "This code no longer works" in page.get_data(as_text=True)


def test_only_a_phone_of_the_record_marked_for_texts_gets_a_code(
    person, make, database, texting_on
):
    other = make.client(person.account.agency)
    stranger = ClientPhone(client_id=other.id, number="+15557770000", kind="mobile", text_ok=True)
    database.session.add(stranger)
    database.session.commit()
    page = person.form(
        "/account/texts/code", {"phone": str(stranger.public_id)}, token_from="/account/texts"
    )
    assert "Choose a phone that gets texts" in page.get_data(as_text=True)
    assert texts_to(database, number="+15557770000") == []


def test_several_codes_an_hour_are_refused(person, database, texting_on):
    for _ in range(3):
        assert start_code(person, database).status_code == 303
    page = start_code(person, database)
    assert "Wait an hour" in page.get_data(as_text=True)
    assert len(texts_to(database, kind="code")) == 3


def test_staff_confirm_a_phone_with_the_client_present(
    app, person, case_manager, case_manager_user, database, texting_on
):
    phone = database.session.scalar(
        select(ClientPhone).where(ClientPhone.client_id == person.record.id)
    )
    record = f"/staff/clients/{person.record.public_id}"
    sent = case_manager.form(
        f"{record}/texts/code", {"phone": str(phone.public_id)}, token_from=record
    )
    assert sent.status_code == 303
    run_jobs(database)
    [code_text] = texts_to(database, kind="code")
    code = re.search(r"\b(\d{6})\b", text_file(app, code_text)).group(1)
    done = case_manager.form(f"{record}/texts/confirm", {"code": code}, token_from=record)
    assert done.status_code == 303
    consent = database.session.scalar(
        select(TextConsent).where(TextConsent.client_id == person.record.id)
    )
    assert (
        consent.confirmed_at is not None and consent.confirmed_by_staff_id == case_manager_user.id
    )
    page = case_manager.get(record).get_data(as_text=True)
    assert NUMBER in page and "by staff" in page
    assert "Code to confirm the phone" in page  # the notices table: which channel, when


def test_staff_of_another_agency_cannot_send_a_code(
    person, make, agency_b, app, database, texting_on
):
    from portal.domain.core.roles import Role

    outsider = signed_in(app, make.staff(Role.CASE_MANAGER, agency_b, name="Out Sider"))
    phone = database.session.scalar(
        select(ClientPhone).where(ClientPhone.client_id == person.record.id)
    )
    refused = outsider.form(
        f"/staff/clients/{person.record.public_id}/texts/code",
        {"phone": str(phone.public_id)},
        token_from="/staff/",
    )
    assert refused.status_code in (403, 404)
    assert texts_to(database) == []


# --- STOP, START, HELP -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "meaning", "language", "reply_says"),
    [
        ("STOP", "stop", "en", "no more texts"),
        ("Parar", "stop", "es", "COMENZAR"),
        ("alto", "stop", "es", "COMENZAR"),
        ("START", "start", "en", "on again"),
        ("Comenzar", "start", "es", "PARAR"),
        ("help", "help", "en", "case manager"),
        ("AYUDA", "help", "es", "PARAR"),
        ("Where is my bed?", "other", "en", "nobody reads replies"),
    ],
)
def test_keywords_are_honoured_at_once_recorded_and_answered(
    app, database, texting_on, word, meaning, language, reply_says
):
    number = "+15554440000"
    assert texting.receive(number, word, transport="test") == meaning
    database.session.commit()
    [inbound] = database.session.scalars(
        select(TextInbound).where(TextInbound.number == number)
    ).all()
    assert inbound.keyword == meaning and inbound.language == language and inbound.created_at
    state = database.session.scalar(select(TextNumber).where(TextNumber.number == number))
    assert (state.stopped_at is not None) == (meaning == "stop")
    run_jobs(database)
    [reply] = texts_to(database, number=number)
    assert (
        reply.kind == f"reply_{meaning}" and reply.language == language and reply.status == "sent"
    )
    assert reply_says in text_file(app, reply)


def test_start_after_stop_turns_texts_on_and_a_resent_stop_is_answered_once(database, texting_on):
    number = "+15554440001"
    for _ in range(3):  # a gateway that resends the same text
        texting.receive(number, "STOP", transport="test")
    texting.receive(number, "START", transport="test")
    database.session.commit()
    state = database.session.scalar(select(TextNumber).where(TextNumber.number == number))
    assert state.stopped_at is None and state.started_at is not None
    kinds = [t.kind for t in texts_to(database, number=number)]
    assert kinds == ["reply_stop", "reply_start"]


# --- staleness, rate limits, delivery -------------------------------------------------------


def test_a_notice_about_something_already_done_is_not_sent(
    app, person, case_manager, database, texting_on
):
    confirm_phone(app, person, database)
    choose(person, requests="text")
    ask_for_location(case_manager, person)
    # the client did what was asked before the worker got to the text
    from portal.domain.models import ClientTask

    task = database.session.scalar(
        select(ClientTask).where(ClientTask.client_id == person.record.id)
    )
    task.status = "done"
    database.session.commit()
    run_jobs(database)
    [notice] = texts_to(database, kind="requests")
    assert notice.status == "dropped" and notice.drop_reason == "not_needed"


def test_per_phone_limit_makes_notices_wait_and_codes_and_answers_do_not_count(
    app, frozen_clock, person, database
):
    with texts_on(app, sms_per_phone_hour=2):
        confirm_phone(app, person, database)  # a code: not a notice, it does not count
        record = database.session.get(Client, person.record.id)
        agency = person.account.agency
        for _ in range(3):
            texting.queue_text(
                "requests", number=NUMBER, language="en", client_id=record.id, agency=agency
            )
        texting.receive(NUMBER, "HELP", transport="test")  # an answer goes at once
        database.session.commit()
        run_jobs(database)
        assert [t.status for t in texts_to(database, kind="requests")] == ["sent", "sent", "queued"]
        assert [t.status for t in texts_to(database, kind="reply_help")] == ["sent"]
        clock.advance(timedelta(minutes=59))
        run_jobs(database)
        assert [t.status for t in texts_to(database, kind="requests")][-1] == "queued"
        clock.advance(timedelta(minutes=1, seconds=2))
        run_jobs(database)
        assert [t.status for t in texts_to(database, kind="requests")] == ["sent"] * 3


def test_per_agency_limit_makes_notices_wait_and_lets_codes_and_answers_through(
    app, frozen_clock, person, database
):
    limits = {"sms_per_agency_hour": 2, "sms_per_phone_hour": 100, "sms_per_phone_day": 100}
    with texts_on(app, **limits):
        confirm_phone(app, person, database)
        record = database.session.get(Client, person.record.id)
        for _ in range(3):
            texting.queue_text(
                "requests",
                number=NUMBER,
                language="en",
                client_id=record.id,
                agency=person.account.agency,
            )
        texting.receive(NUMBER, "HELP", transport="test")
        database.session.commit()
        run_jobs(database)
        assert [t.status for t in texts_to(database, kind="requests")] == ["sent", "sent", "queued"]
        assert [t.status for t in texts_to(database, kind="reply_help")] == ["sent"]
        clock.advance(timedelta(hours=1, seconds=2))
        run_jobs(database)
        assert [t.status for t in texts_to(database, kind="requests")] == ["sent"] * 3


def test_a_delivery_report_moves_a_text_forward_only(app, database, texting_on, agency_a):
    text = texting.queue_text("reply_help", number="+15550001111", language="en", agency=agency_a)
    database.session.commit()
    run_jobs(database)
    assert texting.record_report(ref=str(text.public_id), outcome="delivered")
    assert texting.record_report(ref=str(text.public_id), outcome="accepted")  # late: ignored
    database.session.commit()
    database.session.refresh(text)
    assert text.status == "delivered" and text.delivered_at is not None
    assert not texting.record_report(ref="not-a-text", outcome="delivered")


def test_a_bounce_marks_the_number_and_staff_see_it(
    app, person, case_manager, database, texting_on
):
    confirm_phone(app, person, database)
    choose(person, requests="text")
    [code_text] = texts_to(database, kind="code")
    texting.record_report(ref=str(code_text.public_id), outcome="failed", detail="kannel_16")
    database.session.commit()
    ask_for_location(case_manager, person)
    run_jobs(database)
    assert texts_to(database, kind="requests") == []
    assert len(mails_to(database, person, "new_request")) == 1
    page = case_manager.get(f"/staff/clients/{person.record.public_id}").get_data(as_text=True)
    assert "did not arrive" in page
    assert "did not arrive" in person.get("/account/texts").get_data(as_text=True).lower()


# --- the agency's page -------------------------------------------------------------------------


def test_administrators_see_the_texts_sent_each_month_and_set_quiet_hours(
    app, agency_admin, agency_a, database, texting_on
):
    for n in range(2):
        texting.queue_text("reply_help", number=f"+1555222000{n}", language="en", agency=agency_a)
    database.session.commit()
    run_jobs(database)
    page = agency_admin.get("/staff/texts").get_data(as_text=True)
    month = clock.now().strftime("%Y-%m")
    assert f"<td>{month}</td><td>2</td><td>2</td><td>0</td>" in page.replace("\n", "").replace(
        " ", ""
    ).replace("<td>", "<td>")
    assert "70" in page  # non-Latin scripts cost more
    bad = agency_admin.form("/staff/texts", {"quiet_from": "25:00", "quiet_until": "8"})
    assert bad.status_code == 200 and "like 21:00" in bad.get_data(as_text=True)
    done = agency_admin.form("/staff/texts", {"quiet_from": "22:00", "quiet_until": "07:30"})
    assert done.status_code == 303
    database.session.refresh(agency_a)
    assert (agency_a.text_quiet_from, agency_a.text_quiet_until) == ("22:00", "07:30")


def test_case_managers_do_not_see_the_agency_texts_page(case_manager):
    assert case_manager.get("/staff/texts").status_code == 403


@pytest.mark.requirement("R64")
def test_a_text_done_with_for_30_days_loses_its_number_but_still_counts(
    app, frozen_clock, agency_a, database, texting_on
):
    from portal.domain import retention

    old = texting.queue_text("reply_help", number="+15553330000", language="en", agency=agency_a)
    database.session.commit()
    run_jobs(database)
    clock.advance(timedelta(days=31))
    new = texting.queue_text("reply_help", number="+15553330001", language="en", agency=agency_a)
    database.session.commit()
    run_jobs(database)
    report = retention.purge(confirm=True)
    database.session.commit()
    assert report.found["sent_texts"] == 1
    database.session.refresh(old)
    database.session.refresh(new)
    assert old.to_number == "" and old.params == {} and old.sent_at is not None
    assert new.to_number == "+15553330001"
    months = texting.monthly_counts(agency_a.id, clock.now() - timedelta(days=90))
    assert sum(m["texts"] for m in months) == 2


@pytest.mark.parametrize(
    ("kind", "stale_after"),
    [
        ("messages", timedelta(hours=24)),
        ("requests", timedelta(days=3)),
        ("roi_renewal", timedelta(days=7)),
        ("code", timedelta(minutes=10)),
    ],
)
def test_a_text_not_sent_by_its_kinds_deadline_is_dropped_never_sent_late(
    app, frozen_clock, person, database, kind, stale_after
):
    with texts_on(app):
        confirm_phone(app, person, database)
    record = database.session.get(Client, person.record.id)
    with texts_on(app, sms_transport="kannel", sms_kannel_url="http://127.0.0.1:9/down"):
        late = texting.queue_text(
            kind, number=NUMBER, language="en", client_id=record.id, agency=person.account.agency
        )
        database.session.commit()
        clock.advance(stale_after - timedelta(seconds=1))
        run_jobs(database)  # the gateway is down: still queued, retried later
        database.session.refresh(late)
        assert late.status == "queued"
        clock.advance(timedelta(hours=2))
        run_jobs(database)
    database.session.refresh(late)
    assert (late.status, late.drop_reason) == ("dropped", "stale")
