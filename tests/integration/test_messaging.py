"""Issue 6: secure messaging between clients and their care team."""

import gzip
import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from portal.domain import messaging
from portal.domain.core import clock, crypto, jobs
from portal.domain.core.roles import Role
from portal.domain.messaging._text import _render_html  # the uncached renderer
from portal.domain.models import (
    CareTeamMember,
    Client,
    Consent,
    Conversation,
    Job,
    Message,
    OutboxMessage,
)
from portal.forms import strip_unshowable
from portal.links import notification_link
from tests.support import link_in, shared_path, signed_in

SAFE_TAGS = {"p", "br", "a", "em", "strong"}
SAFE_SCHEMES = ("http://", "https://", "mailto:", "tel:")


@pytest.fixture
def team(app, make, agency_a, case_manager_user, database):
    """A signed-in client whose case manager (agency A) is on the care team."""
    account = make.client_account(agency_a)
    record = database.session.get(Client, account.client_id)
    record.care_team.append(CareTeamMember(staff=case_manager_user, is_case_manager=True))
    database.session.commit()
    me = signed_in(app, account)
    me.record = record
    return me


def write(me, recipient, body, key="k1"):
    return me.form(
        "/messages/new", {"recipient": str(recipient.public_id), "body": body, "key": key}
    )


def conversations(database, record):
    return database.session.scalars(
        select(Conversation).where(Conversation.client_id == record.id).order_by(Conversation.id)
    ).all()


def fresh(database, obj):
    database.session.expire_all()
    return database.session.get(type(obj), obj.id)


def script_capable(html: str) -> list[str]:
    """Anything in rendered message HTML that could run script or load something."""
    problems = []
    for tag in BeautifulSoup(html, "html.parser").find_all(True):
        if tag.name not in SAFE_TAGS:
            problems.append(f"tag {tag.name}")
        for name, value in tag.attrs.items():
            if name not in ("href", "rel"):
                problems.append(f"attribute {name}")
            if name == "href" and not str(value).lower().startswith(SAFE_SCHEMES):
                problems.append(f"href {value!r}")
    return problems


# --- writing and answering -----------------------------------------------------------------


def test_a_client_writes_to_the_case_manager_and_staff_answer(
    team, case_manager, case_manager_user, database
):
    sent = write(team, case_manager_user, "Hello,\nI moved to the blue van.")
    assert sent.status_code == 303
    [conversation] = conversations(database, team.record)
    assert conversation.assigned_staff_id == case_manager_user.id
    assert conversation.awaiting_since is not None and conversation.unread_by_staff == 1
    assert fresh(database, team.record).last_contact_at is not None  # a message is contact
    inbox = case_manager.get("/staff/inbox?view=unread").get_data(as_text=True)
    assert team.record.full_name in inbox
    page = case_manager.get(f"/staff/conversations/{conversation.public_id}").get_data(as_text=True)
    assert "I moved to the blue van." in page and "<br>" in page
    assert fresh(database, conversation).unread_by_staff == 0
    case_manager.form(
        f"/staff/conversations/{conversation.public_id}",
        {"body": "Thanks, I will come by.", "key": "s1"},
    )
    conversation = fresh(database, conversation)
    assert conversation.awaiting_since is None and conversation.unread_by_client == 1
    assert "1 new message" in team.get("/home").get_data(as_text=True)
    thread = team.get(f"/messages/{conversation.public_id}").get_data(as_text=True)
    assert "Thanks, I will come by." in thread and "Casey Case" in thread
    staff_view = case_manager.get(f"/staff/conversations/{conversation.public_id}")
    assert "read " in staff_view.get_data(as_text=True)  # the read receipt


def test_only_the_case_manager_and_staff_who_allow_it_can_be_written_to(
    team, make, agency_a, database
):
    colleague = make.staff(Role.CASE_MANAGER, agency_a, name="Robin Helper")
    team.record.care_team.append(CareTeamMember(staff=colleague))
    database.session.commit()
    assert "Robin Helper" not in team.get("/messages/new").get_data(as_text=True)
    refused = write(team, colleague, "Hi")
    assert "Choose who to write to" in refused.get_data(as_text=True)
    colleague.allow_client_contact = True
    database.session.commit()
    assert write(team, colleague, "Hi").status_code == 303


def test_every_way_into_a_conversation_opens_at_the_newest_message(
    team, case_manager, case_manager_user, database
):
    """Issue 17, the answer in view: after sending, and from the list, the page opens at the
    newest message (#newest), which is the one just sent."""
    sent = write(team, case_manager_user, "First question")
    [conversation] = conversations(database, team.record)
    path = f"/messages/{conversation.public_id}"
    assert sent.status_code == 303 and sent.headers["Location"] == f"{path}#newest"
    reply = team.form(path, {"body": "Second question", "key": "k2"})
    assert reply.status_code == 303 and reply.headers["Location"] == f"{path}#newest"
    page = BeautifulSoup(team.get(path).get_data(as_text=True), "html.parser")
    assert page.select_one("#newest .message-body").get_text(strip=True) == "Second question"
    listed = BeautifulSoup(team.get("/messages").get_data(as_text=True), "html.parser")
    assert listed.select_one(f"a[href='{path}#newest']") is not None
    # The staff side is the same pattern: the inbox and a reply land on the newest message.
    staff_path = f"/staff/conversations/{conversation.public_id}"
    inbox = BeautifulSoup(case_manager.get("/staff/inbox").get_data(as_text=True), "html.parser")
    assert inbox.select_one(f"a[href='{staff_path}#newest']") is not None
    answer = case_manager.form(staff_path, {"body": "Yes, come at 9.", "key": "s1"})
    assert answer.status_code == 303 and answer.headers["Location"] == f"{staff_path}#newest"
    page = BeautifulSoup(case_manager.get(staff_path).get_data(as_text=True), "html.parser")
    assert page.select_one("#newest .message-body").get_text(strip=True) == "Yes, come at 9."


@pytest.mark.requirement("R67")
def test_a_replayed_submit_stores_one_message(team, case_manager_user, database):
    write(team, case_manager_user, "Only once", key="same-key")
    write(team, case_manager_user, "Only once", key="same-key")
    assert database.session.scalar(select(func.count()).select_from(Message)) == 1


def test_a_failed_send_keeps_the_text(team, case_manager_user, database):
    too_long = "x" * (messaging.MAX_BODY + 1)
    refused = write(team, case_manager_user, too_long)
    page = refused.get_data(as_text=True)
    assert "up to 5000 characters" in page and too_long in page
    assert 'value="k1"' in page  # the same key: sending again cannot duplicate
    empty = write(team, case_manager_user, "   ")
    assert "Write a message first" in empty.get_data(as_text=True)
    assert database.session.scalar(select(func.count()).select_from(Message)) == 0


def _new_message_form(me):
    """The new-message page's form, parsed: the recipient controls it shows, and what a
    browser would send from it (its hidden values, a checked radio)."""
    page = BeautifulSoup(me.get("/messages/new").get_data(as_text=True), "html.parser")
    form = page.find("textarea", attrs={"name": "body"}).find_parent("form")
    controls = form.select('input[name="recipient"]:not([type="hidden"]), select[name="recipient"]')
    sent = {i["name"]: i.get("value", "") for i in form.select('input[type="hidden"]')}
    return page, controls, sent


def test_with_one_person_to_write_to_the_page_does_not_ask_to_choose(
    team, case_manager_user, database
):
    """Issue 17: the only person the client can write to is shown, not offered as a choice,
    and the message reaches them (the hidden value is still checked on the server)."""
    page, controls, sent = _new_message_form(team)
    assert controls == []
    assert "Who do you want to write to?" not in page.get_text()
    assert "Casey Case" in page.h1.get_text()
    assert sent["recipient"] == str(case_manager_user.public_id)
    done = team.post("/messages/new", data={**sent, "body": "Can we meet on Friday?"})
    assert done.status_code == 303
    [conversation] = conversations(database, team.record)
    assert conversation.assigned_staff_id == case_manager_user.id
    [message] = database.session.scalars(select(Message)).all()
    assert message.conversation_id == conversation.id and message.author_kind == "client"


def test_with_two_people_to_write_to_the_page_still_asks_to_choose(team, make, agency_a, database):
    colleague = make.staff(Role.CASE_MANAGER, agency_a, name="Robin Helper")
    colleague.allow_client_contact = True
    team.record.care_team.append(CareTeamMember(staff=colleague))
    database.session.commit()
    page, controls, sent = _new_message_form(team)
    assert len(controls) == 2 and "recipient" not in sent
    assert "Who do you want to write to?" in page.get_text()
    assert "Casey Case" in page.get_text() and "Robin Helper" in page.get_text()
    assert team.post("/messages/new", data={**sent, "body": "Hello"}).status_code == 200
    assert conversations(database, team.record) == []  # nobody chosen: nothing sent


# --- who reads what --------------------------------------------------------------------------


@pytest.mark.requirement("R30")
def test_agencies_never_read_each_others_conversations(
    app, team, make, agency_a, agency_b, case_manager_user, database
):
    partner = make.staff(Role.CASE_MANAGER, agency_b, name="Pat Partner")
    team.record.care_team.append(CareTeamMember(staff=partner, is_case_manager=True))
    database.session.add(
        Consent(
            client_id=team.record.id,
            recorded_by_agency_id=agency_a.id,
            permission=True,
            refused=False,
            starts_on=clock.now().date() - timedelta(days=1),
            ends_on=clock.now().date() + timedelta(days=300),
        )
    )
    database.session.commit()
    write(team, case_manager_user, "For agency A only", key="a")
    write(team, partner, "For agency B only", key="b")
    ours, theirs = conversations(database, team.record)
    partner_browser = signed_in(app, partner)
    assert partner_browser.get(f"/staff/conversations/{ours.public_id}").status_code == 404
    page = partner_browser.get(f"/staff/conversations/{theirs.public_id}").get_data(as_text=True)
    assert "For agency B only" in page and "For agency A only" not in page
    listing = team.get("/messages").get_data(as_text=True)
    assert agency_a.name in listing and agency_b.name in listing
    other_client = signed_in(app, make.client_account(agency_a))
    assert other_client.get(f"/messages/{ours.public_id}").status_code == 404


def test_history_survives_deactivation_and_an_email_change(
    team, case_manager, case_manager_user, database
):
    write(team, case_manager_user, "Remember me")
    account = fresh(database, team.account)
    account.email = "changed@example.org"
    account.is_active = False
    database.session.commit()
    [conversation] = conversations(database, team.record)
    page = case_manager.get(f"/staff/conversations/{conversation.public_id}")
    assert "Remember me" in page.get_data(as_text=True)


# --- hand over, handled, overdue ---------------------------------------------------------------


def test_hand_over_to_a_care_team_colleague_and_mark_handled(
    team, app, make, agency_a, case_manager, case_manager_user, database
):
    colleague = make.staff(Role.CASE_MANAGER, agency_a, name="Robin Helper")
    outsider = make.staff(Role.CASE_MANAGER, agency_a, name="Not On Team")
    team.record.care_team.append(CareTeamMember(staff=colleague))
    database.session.commit()
    write(team, case_manager_user, "Help")
    [conversation] = conversations(database, team.record)
    page = f"/staff/conversations/{conversation.public_id}"
    refused = case_manager.form(
        f"{page}/assign", {"staff": str(outsider.public_id)}, token_from=page
    )
    assert "care team" in refused.get_data(as_text=True)
    case_manager.form(f"{page}/assign", {"staff": str(colleague.public_id)}, token_from=page)
    assert fresh(database, conversation).assigned_staff_id == colleague.id
    mine = signed_in(app, colleague).get("/staff/inbox?view=mine").get_data(as_text=True)
    assert team.record.full_name in mine
    case_manager.form(f"{page}/handled", {}, token_from=page)
    assert fresh(database, conversation).status == "handled"
    assert fresh(database, conversation).awaiting_since is None
    write(team, case_manager_user, "One more thing", key="k2")
    assert fresh(database, conversation).status == "open"


@pytest.mark.parametrize(
    ("sent", "due"),
    [
        # Friday 9 Oct 2026, 3 pm in Los Angeles: two business days skip the weekend and Monday
        # 12 Oct (Columbus Day is a US federal holiday): due at the end of Wednesday 14 Oct.
        (datetime(2026, 10, 9, 15, 0), datetime(2026, 10, 15, 0, 0)),
        # Tuesday 17 Nov 2026: Wednesday and Thursday; due at the end of Thursday 19 Nov.
        (datetime(2026, 11, 17, 9, 0), datetime(2026, 11, 20, 0, 0)),
    ],
)
def test_the_reply_target_counts_business_days_and_holidays(app, sent, due):
    zone = ZoneInfo("America/Los_Angeles")
    with app.app_context():
        assert messaging.reply_due(sent.replace(tzinfo=zone), "America/Los_Angeles") == due.replace(
            tzinfo=zone
        )


def test_an_unanswered_message_becomes_overdue(team, case_manager, case_manager_user, database):
    write(team, case_manager_user, "Anyone?")
    [conversation] = conversations(database, team.record)
    conversation.awaiting_since = clock.now() - timedelta(days=10)
    database.session.commit()
    assert "overdue" in case_manager.get("/staff/inbox").get_data(as_text=True)


# --- the email notice --------------------------------------------------------------------------


def run_jobs(database) -> None:
    """What `flask worker` does once, seeing what the requests committed."""
    database.session.expire_all()
    jobs.run_pending()
    database.session.commit()


def notices(database, address):
    return database.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.template == "new_message", OutboxMessage.to_address == address
        )
    ).all()


@pytest.mark.requirement("R63")
def test_the_client_email_says_only_that_there_is_a_message_at_most_hourly(
    team, case_manager, case_manager_user, frozen_clock, database
):
    write(team, case_manager_user, "Hello")
    [conversation] = conversations(database, team.record)
    page = f"/staff/conversations/{conversation.public_id}"
    case_manager.form(page, {"body": "Secret housing news", "key": "s1"})
    run_jobs(database)
    [notice] = notices(database, team.account.email)
    secret = crypto.decrypt_json(notice.secret_params) if notice.secret_params else {}
    text = json.dumps(notice.params) + json.dumps(secret)
    assert "Secret housing news" not in text and "Casey" not in text
    assert link_in(notice).endswith(f"/messages/{conversation.public_id}#newest")
    case_manager.form(page, {"body": "Second", "key": "s2"})
    database.session.expire_all()
    [later] = database.session.scalars(
        select(Job).where(Job.kind == "messages.notify_client", Job.status == "queued")
    ).all()
    assert later.run_at == clock.now() + timedelta(hours=1)  # within the hour: not yet
    assert len(notices(database, team.account.email)) == 1
    frozen_clock.advance(timedelta(minutes=61))
    run_jobs(database)
    assert len(notices(database, team.account.email)) == 2


@pytest.mark.parametrize("how", ["notices page", "older switch"])
def test_no_email_when_the_client_turned_notices_off(
    team, case_manager, case_manager_user, database, how
):
    """New messages told "Do not tell me" on My account (issue 22); or an account from before
    it, whose one switch for every email is off."""
    if how == "notices page":
        choices = {"messages": "none", "requests": "email", "documents": "email"}
        saved = team.form("/account/notices", {**choices, "roi_renewal": "email"})
        assert saved.status_code == 303
    account = fresh(database, team.account)
    if how == "older switch":
        account.email_notifications = False
        database.session.commit()
    write(team, case_manager_user, "Hello")
    [conversation] = conversations(database, team.record)
    case_manager.form(f"/staff/conversations/{conversation.public_id}", {"body": "Hi", "key": "s"})
    run_jobs(database)
    assert notices(database, account.email) == []


def test_staff_start_a_conversation(case_manager, team, database):
    page = f"/staff/clients/{team.record.public_id}/message"
    done = case_manager.form(page, {"body": "Your appointment is Monday.", "key": "start"})
    assert done.status_code == 303
    [conversation] = conversations(database, team.record)
    thread = team.get(f"/messages/{conversation.public_id}").get_data(as_text=True)
    assert "Your appointment is Monday." in thread


# --- hostile text ------------------------------------------------------------------------------


def xss_corpus() -> list[str]:
    root = shared_path("data", "xss")
    strings = []
    for path in sorted((root / "payloadsallthethings" / "intruders").glob("*.txt")):
        strings += [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    for path in sorted((root / "payloadsallthethings" / "svg-and-markup-files").iterdir()):
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":  # a gzip-compressed SVG: its markup is the payload
            data = gzip.decompress(data)
        strings.append(data.decode("utf-8", errors="replace"))
    for item in json.loads((root / "html5sec" / "items.json").read_text()):
        strings.append(item.get("data_expanded") or item["data"])
    return strings


def sanitizer_inputs() -> list[str]:
    root = shared_path("data", "sanitizer")
    pairs = json.loads((root / "html5lib-tests" / "sanitizer-tests1.json").read_text())
    dompurify = json.loads((root / "dompurify" / "expect.json").read_text())
    return [p["input"] for p in pairs] + [d["payload"] for d in dompurify]


@pytest.mark.requirement("R35")
def test_every_payload_renders_without_script_capable_markup(app):
    strings = xss_corpus() + sanitizer_inputs()
    assert len(strings) > 1000
    with app.app_context():
        for text in strings:
            html = str(messaging.render(text))
            assert not script_capable(html), (text[:200], script_capable(html)[:5])


def batches(strings, limit=messaging.MAX_BODY):
    batch = ""
    for text in strings:
        text = text[: limit - 2]
        if len(batch) + len(text) + 2 > limit:
            yield batch
            batch = ""
        batch += text + "\n\n"
    if batch:
        yield batch


@pytest.mark.requirement("R35", "R36")
def test_payloads_and_naughty_strings_round_trip_through_a_conversation(
    team, case_manager_user, database
):
    strings = xss_corpus() + json.loads(
        shared_path("data", "blns", "blns.json").read_text(encoding="utf-8")
    )
    sent = []
    for i, body in enumerate(batches(strings)):
        response = write(team, case_manager_user, body, key=f"batch-{i}")
        if response.status_code == 303:
            # What a page can never show is dropped by every form (PortalForm); the rest stays.
            sent.append(messaging.clean_body(strip_unshowable(body)))
        else:
            assert response.status_code == 200 and "Write a message first" in response.get_data(
                as_text=True
            )
    stored = database.session.scalars(select(Message.body).order_by(Message.id)).all()
    assert stored == sent and len(sent) > 20  # what was sent is what is stored
    [conversation] = conversations(database, team.record)
    page = team.get(f"/messages/{conversation.public_id}").get_data(as_text=True)
    soup = BeautifulSoup(page, "html.parser")
    for body in soup.select(".message-body"):
        assert not script_capable(body.decode_contents())
    assert not re.search(r"<script(?![^>]*nonce=)", page)  # only the app's own nonce script


# --- bulk ----------------------------------------------------------------------------------------


def send_to_shown(browser, preview: str, body: str, key: str, *, extra=()):
    """Send a bulk message the way the page does: to the recipients it showed."""
    page = BeautifulSoup(browser.get(preview).get_data(as_text=True), "html.parser")
    shown = [i["value"] for i in page.select('input[name="recipient"]')]
    return browser.form(
        "/staff/messages/bulk",
        {"recipient": shown + list(extra), "body": body, "key": key},
        token_from=preview,
    )


def test_a_bulk_message_shows_its_recipients_then_each_gets_their_own_conversation(
    team, case_manager, case_manager_user, make, agency_a, agency_b, database
):
    connected = team.record
    unconnected = make.client(agency_a, last_name="Offline")
    other_agency = make.client(agency_b, last_name="Elsewhere")
    preview = case_manager.get("/staff/messages/bulk?account_status=connected").get_data(
        as_text=True
    )
    assert connected.last_name in preview and "Offline" not in preview
    assert "Elsewhere" not in case_manager.get("/staff/messages/bulk").get_data(as_text=True)
    done = send_to_shown(
        case_manager,
        "/staff/messages/bulk",
        "The shelter opens at 6 tonight.",
        "bulk-1",
        extra=[str(other_agency.public_id), "not-a-uuid"],  # tampering: dropped
    )
    assert done.status_code == 303
    run_jobs(database)
    run_jobs(database)  # a replayed job stores nothing twice
    bodies = database.session.scalars(select(Message.body)).all()
    assert bodies.count("The shelter opens at 6 tonight.") == 2  # connected + offline
    owners = {c.client_id for c in database.session.scalars(select(Conversation))}
    assert owners == {connected.id, unconnected.id} and other_agency.id not in owners


def test_a_bulk_message_goes_to_the_list_that_was_shown_not_a_new_search(
    team, case_manager, make, agency_a, database
):
    page = BeautifulSoup(
        case_manager.get("/staff/messages/bulk").get_data(as_text=True), "html.parser"
    )
    shown = [i["value"] for i in page.select('input[name="recipient"]')]
    make.client(agency_a, last_name="Newcomer")  # matches the filters, but was not shown
    case_manager.form(
        "/staff/messages/bulk",
        {"recipient": shown, "body": "Clinic on Monday.", "key": "bulk-3"},
        token_from="/staff/messages/bulk",
    )
    run_jobs(database)
    owners = set(database.session.scalars(select(Conversation.client_id)))
    assert owners == {team.record.id}
    empty = case_manager.form(
        "/staff/messages/bulk",
        {"recipient": [], "body": "Nobody gets this.", "key": "bulk-4"},
        token_from="/staff/messages/bulk",
    )
    assert empty.status_code == 200 and "Nobody matches" in empty.get_data(as_text=True)


def test_a_serving_agency_loses_the_conversation_when_the_roi_ends(
    app, team, make, agency_a, agency_b, frozen_clock, database
):
    partner = make.staff(Role.CASE_MANAGER, agency_b, name="Pat Partner")
    team.record.care_team.append(CareTeamMember(staff=partner, is_case_manager=True))
    consent = Consent(
        client_id=team.record.id,
        recorded_by_agency_id=agency_a.id,
        permission=True,
        refused=False,
        starts_on=clock.now().date() - timedelta(days=10),
        ends_on=clock.now().date() + timedelta(days=1),
    )
    database.session.add(consent)
    database.session.commit()
    write(team, partner, "For agency B", key="b")
    [conversation] = conversations(database, team.record)
    browser = signed_in(app, partner)
    assert browser.get(f"/staff/conversations/{conversation.public_id}").status_code == 200
    consent.ends_on = clock.now().date() - timedelta(days=1)
    database.session.commit()
    assert browser.get(f"/staff/conversations/{conversation.public_id}").status_code == 404
    assert "Doe" not in browser.get("/staff/inbox?view=all").get_data(as_text=True)
    assert "Pat Partner" not in team.get("/messages/new").get_data(as_text=True)
    # The client cannot go on writing into a conversation nobody may read any more.
    page = team.get(f"/messages/{conversation.public_id}").get_data(as_text=True)
    assert "cannot get new messages from you" in page and 'name="body"' not in page
    refused = team.form(f"/messages/{conversation.public_id}", {"body": "Hello?", "key": "late"})
    assert refused.status_code == 200 and "cannot get new messages" in refused.get_data(
        as_text=True
    )
    database.session.expire_all()
    assert database.session.scalar(select(func.count()).select_from(Message)) == 1


def test_a_bulk_message_leaves_client_questions_waiting(
    team, case_manager, case_manager_user, database
):
    write(team, case_manager_user, "Is there a bed tonight?")
    send_to_shown(case_manager, "/staff/messages/bulk", "Food bank on Friday.", "bulk-2")
    run_jobs(database)
    [conversation] = conversations(database, team.record)
    conversation = fresh(database, conversation)
    assert conversation.awaiting_since is not None and conversation.unread_by_staff == 1
    assert conversation.unread_by_client == 1


# --- long inboxes and long conversations ---------------------------------------------------------


def test_the_inbox_pages_through_many_conversations(case_manager, make, agency_a, database):
    for n in range(30):
        conversation = make.conversation(make.client(agency_a, last_name=f"Page{n:02d}"))
        conversation.last_message_at = clock.now() - timedelta(minutes=n)
    database.session.commit()

    def names(path):
        page = case_manager.get(path)
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        return re.findall(r"Page\d\d", text), text

    first, text = names("/staff/inbox?view=all")
    assert first == [f"Page{n:02d}" for n in range(25)]  # newest first
    assert "Page 1 of 2" in text and "All (30)" in text
    second, text = names("/staff/inbox?view=all&page=2")
    assert second == [f"Page{n:02d}" for n in range(25, 30)]
    assert names("/staff/inbox?view=all&page=99")[0] == second  # past the end: the last page
    assert names("/staff/inbox?view=all&page=%C2%B2")[0] == first  # not a number: page 1


def test_a_long_conversation_shows_the_newest_messages_and_older_ones_on_request(
    team, case_manager_user, make, agency_a, database
):
    conversation = make.conversation(team.record)
    start = clock.now() - timedelta(days=30)
    database.session.add_all(
        Message(
            conversation_id=conversation.id,
            author_kind="staff",
            author_staff_id=case_manager_user.id,
            body=f"Note {n:03d}",
            idempotency_key=f"seed-{n}",
            created_at=start + timedelta(minutes=n // 2),  # pairs share a time: the id decides
        )
        for n in range(205)
    )
    database.session.commit()
    path = f"/messages/{conversation.public_id}"
    page = BeautifulSoup(team.get(path).get_data(as_text=True), "html.parser")
    shown = [b.get_text(strip=True) for b in page.select(".message-body")]
    assert shown == [f"Note {n:03d}" for n in range(5, 205)]  # the newest 200, oldest first
    # Issue 17: links open the page at the newest message, not 200 messages up.
    assert page.select_one("#newest .message-body").get_text(strip=True) == "Note 204"
    older = page.find("a", string="Show older messages")["href"]
    page = BeautifulSoup(team.get(older).get_data(as_text=True), "html.parser")
    shown = [b.get_text(strip=True) for b in page.select(".message-body")]
    assert shown == [f"Note {n:03d}" for n in range(5)]
    assert page.select("#newest") == []  # an older page has no newest message to jump to
    assert page.find("a", string="Show older messages") is None
    assert page.find("a", string="Show the newest messages") is not None
    foreign = make.conversation(make.client(agency_a))
    database.session.add(
        Message(
            conversation_id=foreign.id, author_kind="staff", body="Not yours", idempotency_key="x"
        )
    )
    database.session.commit()
    other_key = database.session.scalar(
        select(Message.public_id).where(Message.conversation_id == foreign.id)
    )
    page = team.get(f"{path}?before={other_key}").get_data(as_text=True)
    assert "Not yours" not in page and "Note 204" in page  # another thread's key: the newest


def test_staff_get_one_note_when_a_question_starts_waiting(
    app, team, case_manager, case_manager_user, database
):
    from portal.domain.models import StaffNotification

    def notes():
        database.session.expire_all()
        return database.session.scalars(
            select(StaffNotification).where(
                StaffNotification.staff_id == case_manager_user.id,
                StaffNotification.kind == "client_message",
            )
        ).all()

    write(team, case_manager_user, "Is there a bed tonight?", key="q1")
    [conversation] = conversations(database, team.record)
    write_more = {"body": "And for my dog?", "key": "q2"}
    team.form(f"/messages/{conversation.public_id}", write_more)
    [note] = notes()  # the second question joins the first: no second note
    with app.test_request_context():  # the staff page builds the link
        assert notification_link(note) == f"/staff/conversations/{conversation.public_id}#newest"
    assert "waiting for an answer" in case_manager.get("/staff/notifications").get_data(
        as_text=True
    )
    case_manager.form(
        f"/staff/conversations/{conversation.public_id}", {"body": "Yes.", "key": "a1"}
    )
    team.form(f"/messages/{conversation.public_id}", {"body": "Thanks!", "key": "q3"})
    assert len(notes()) == 2


def test_the_right_people_hear_of_a_waiting_question(
    app, team, make, agency_a, agency_b, case_manager, case_manager_user, database
):
    """Someone newly written to is told even while a question waits; after a bulk message
    (no one assigned) and without a case manager, the client's care team of that agency is."""
    from portal.domain.models import StaffNotification

    helper = make.staff(Role.CASE_MANAGER, agency_a, name="Hana Helper")
    helper.allow_client_contact = True
    team.record.care_team.append(CareTeamMember(staff=helper, is_case_manager=False))
    database.session.commit()

    def notes(person):
        database.session.expire_all()
        return database.session.scalar(
            select(func.count())
            .select_from(StaffNotification)
            .where(StaffNotification.staff_id == person.id)
        )

    write(team, case_manager_user, "A question", key="n1")
    write(team, helper, "Also for Hana", key="n2")  # waiting already, but Hana is new to it
    assert (notes(case_manager_user), notes(helper)) == (1, 1)

    other = make.client_account(agency_a)
    record = database.session.get(type(team.record), other.client_id)
    record.care_team.append(CareTeamMember(staff=helper, is_case_manager=False))
    database.session.commit()
    conversation = make.conversation(record)  # as a bulk message leaves it: nobody assigned
    me = signed_in(app, other)
    me.form(f"/messages/{conversation.public_id}", {"body": "Thanks for the news", "key": "r"})
    assert notes(helper) == 2  # no case manager on this client's team: the team is told


def test_rendering_from_many_threads_at_once_gives_each_text_its_own_html():
    """bleach's Cleaner is not thread-safe: the threaded development server (and any threaded
    WSGI server) renders conversations in several threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [
        f"Note {n}: see https://example.org/{n}?a=1&b=<{n}> or write to p{n}@example.org\n"
        f"<b>bold {n}</b> & <script>alert({n})</script>\n\n" + "more text, " * (n % 40)
        for n in range(400)
    ]
    render = _render_html.__wrapped__  # not the cache: every call parses
    expected = [render(text) for text in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _round in range(3):
            assert list(pool.map(render, texts)) == expected
