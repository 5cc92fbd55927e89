"""Every staff form, every field, fed with the Big List of Naughty Strings.

Batched per form: each request carries a different string in each field, so every string
reaches every form once. The answer is the page or a clear validation message: never a 500,
never a half-written row.
"""

import json
import math

import pytest
from sqlalchemy import func, select

from portal.domain.accounts import passwords
from portal.domain.core import validation
from portal.domain.core.errors import DomainError
from portal.domain.core.roles import Role
from portal.domain.models import (
    Agency,
    Client,
    OutboxMessage,
    StaffFactor,
    StaffUser,
    UserSession,
)
from tests.support import TEST_PASSWORD, shared_path, signed_in


@pytest.fixture(scope="module")
def naughty_strings():
    return json.loads(shared_path("data", "blns", "blns.json").read_text(encoding="utf-8"))


@pytest.fixture
def generous_limits(app, monkeypatch):
    settings = app.extensions["portal.settings"]
    monkeypatch.setitem(
        app.extensions,
        "portal.settings",
        settings.with_overrides(sign_in_ip_limit="100000 per minute"),
    )


@pytest.fixture
def no_rate_limits(monkeypatch):
    """Per-IP and per-staff limits would answer 429 before most strings reach the form."""
    from portal.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", False)


def batches(strings, fields):
    per_request = len(fields)
    for i in range(math.ceil(len(strings) / per_request)):
        chunk = strings[i * per_request : (i + 1) * per_request]
        yield {field: chunk[j % len(chunk)] for j, field in enumerate(fields)}


def counts(database):
    return {
        model.__name__: database.session.scalar(select(func.count()).select_from(model))
        for model in (StaffUser, Agency, OutboxMessage)
    }


def feed(client, path, fields, strings, *, token_from=None, extra=None):
    outcomes = []
    token = client.csrf_token(token_from or path)
    for values in batches(strings, fields):
        response = client.post(path, data={"csrf_token": token, **(extra or {}), **values})
        assert response.status_code < 500, f"{path} answered {response.status_code} for {values!r}"
        outcomes.append(response.status_code)
    return outcomes


def test_the_sign_in_form(app, anonymous, naughty_strings, generous_limits, database):
    outcomes = feed(anonymous, "/staff/sign-in", ["email", "password", "next"], naughty_strings)
    assert set(outcomes) == {200}
    assert (
        database.session.scalar(
            select(func.count())
            .select_from(UserSession)
            .where(UserSession.account_kind.is_not(None))
        )
        == 0
    )


def test_the_second_factor_forms(
    app, make, agency_a, naughty_strings, generous_limits, no_rate_limits, database
):
    """The code at sign-in, the app's set-up, the reset: every string refused or harmless;
    none signs anyone in, none sets an app up, none resets a factor."""
    member = make.staff(Role.CASE_MANAGER, agency_a)
    browser = app.test_client()
    browser.form("/staff/sign-in", {"email": member.email, "password": TEST_PASSWORD})
    outcomes = feed(browser, "/staff/sign-in/code", ["code"], naughty_strings)
    # Each wrong code counts: after five the account waits, and this browser's sign-in ends
    # (303 back to the password).
    assert set(outcomes) == {200, 303} and outcomes[:5] == [200] * 5
    assert member_sessions(database, member) == 0
    newcomer = make.staff(Role.CASE_MANAGER, agency_a, second_factor=False)
    browser = app.test_client()
    browser.form("/staff/sign-in", {"email": newcomer.email, "password": TEST_PASSWORD})
    outcomes = feed(browser, "/staff/sign-in/set-up", ["setup", "code"], naughty_strings)
    assert set(outcomes) == {200}
    assert member_sessions(database, newcomer) == 0
    assert (
        database.session.scalar(
            select(func.count(StaffFactor.id)).where(
                StaffFactor.staff_id == newcomer.id, StaffFactor.confirmed_at.is_not(None)
            )
        )
        == 0
    )
    admin = signed_in(app, make.staff(Role.AGENCY_ADMIN, agency_a))
    target = make.staff(Role.CASE_MANAGER, agency_a)
    page = f"/staff/team/{target.public_id}/reset-second-factor"
    outcomes = feed(admin, page, ["identity_checked", "password", "code"], naughty_strings)
    assert set(outcomes) <= {200, 429}
    assert (
        database.session.scalar(
            select(func.count(StaffFactor.id)).where(StaffFactor.staff_id == target.id)
        )
        == 1
    )


def member_sessions(database, member) -> int:
    return database.session.scalar(
        select(func.count(UserSession.id)).where(
            UserSession.account_kind == "staff", UserSession.account_id == member.id
        )
    )


def test_the_invite_staff_form(agency_admin, naughty_strings, database):
    before = counts(database)
    outcomes = feed(
        agency_admin, "/staff/team/invite", ["display_name", "email", "role"], naughty_strings
    )
    after = counts(database)
    created = outcomes.count(303)
    assert after["StaffUser"] - before["StaffUser"] == created
    assert after["OutboxMessage"] - before["OutboxMessage"] == created


def test_the_set_password_form(app, agency_admin, naughty_strings, database):
    from tests.integration.test_staff_lifecycle import invite, link_in_outbox

    invite(agency_admin)
    path = link_in_outbox(database, "riley@agency.test").replace("https://portal.test", "")
    newcomer = app.test_client()
    outcomes = feed(newcomer, path, ["password"], naughty_strings)
    # Once a naughty string is accepted as a password the link is used up: later posts get 404.
    assert set(outcomes) <= {200, 303, 404}


def test_the_password_forms(
    app, case_manager, case_manager_user, naughty_strings, generous_limits, database
):
    from tests.integration.test_password_recovery import reset_link

    # The signed-in change first: a naughty string accepted as a new password by the reset
    # below ends every session of the account.
    feed(case_manager, "/staff/account", ["current_password", "new_password"], naughty_strings)
    anonymous = app.test_client()
    feed(anonymous, "/staff/forgot-password", ["email"], naughty_strings)
    anonymous.form("/staff/forgot-password", {"email": case_manager_user.email})
    path = reset_link(database, case_manager_user.email)
    assert set(feed(anonymous, path, ["password"], naughty_strings[:200])) <= {200, 303, 404}


def test_the_member_forms(agency_admin, make, agency_a, naughty_strings, database):
    member = make.staff(Role.CASE_MANAGER, agency_a)
    page = f"/staff/team/{member.public_id}"
    feed(agency_admin, f"{page}/role", ["role"], naughty_strings, token_from=page)
    feed(agency_admin, f"{page}/deactivate", ["reason", "successor"], naughty_strings)
    database.session.refresh(member)
    assert member.is_active and member.role == Role.CASE_MANAGER


def test_the_new_agency_form(system_admin, naughty_strings, database):
    before = counts(database)
    outcomes = feed(
        system_admin,
        "/staff/agencies/new",
        ["name", "timezone", "admin_name", "admin_email"],
        naughty_strings,
    )
    after = counts(database)
    assert after["Agency"] - before["Agency"] == outcomes.count(303)
    assert after["StaffUser"] - before["StaffUser"] == outcomes.count(303)


def test_the_small_forms(app, case_manager, naughty_strings):
    feed(
        case_manager,
        "/staff/notifications/read",
        ["notification"],
        naughty_strings,
        token_from="/staff/notifications",
    )
    feed(
        case_manager,
        "/staff/account/sessions/end",
        ["session"],
        naughty_strings,
        token_from="/staff/account/sessions",
    )
    feed(case_manager, "/language", ["lang", "next"], naughty_strings, token_from="/")
    assert case_manager.get("/staff/").status_code == 200


@pytest.mark.requirement("R37")
def test_every_string_through_the_domain_validators(app, naughty_strings):
    """The whole corpus against each validator: a value or a DomainError, nothing else."""
    with app.test_request_context():
        for value in naughty_strings:
            for check in (
                lambda v: validation.clean_name(v),
                lambda v: validation.clean_email(v),
                lambda v: validation.clean_timezone(v),
            ):
                try:
                    cleaned = check(value)
                except DomainError:
                    continue
                assert "\x00" not in cleaned and "\n" not in cleaned
            assert isinstance(passwords.problems(value), list)


CLIENT_FIELDS = [
    "first_name",
    "middle_name",
    "last_name",
    "name_suffix",
    "name_quality",
    "dob_day",
    "dob_month",
    "dob_year",
    "dob_quality",
    "ssn",
    "ssn_quality",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "preferred_language",
]


def test_the_client_forms(case_manager, make, agency_a, naughty_strings, database):
    from portal.domain.models import Client, Consent

    before = database.session.scalar(select(func.count()).select_from(Client))
    outcomes = feed(case_manager, "/staff/clients/new", CLIENT_FIELDS, naughty_strings)
    created = database.session.scalar(select(func.count()).select_from(Client)) - before
    assert created == outcomes.count(303)
    client = make.client(agency_a)
    record = f"/staff/clients/{client.public_id}"
    feed(case_manager, f"{record}/edit", CLIENT_FIELDS, naughty_strings)
    feed(
        case_manager,
        f"{record}/care-team",
        ["email", "case_manager"],
        naughty_strings,
        token_from=record,
    )
    consents = feed(
        case_manager,
        f"{record}/consents/new",
        [
            "permission",
            "start_day",
            "start_month",
            "start_year",
            "end_day",
            "end_month",
            "end_year",
            "document_reference",
        ],
        naughty_strings,
    )
    assert database.session.scalar(select(func.count()).select_from(Consent)) == consents.count(303)
    for values in batches(naughty_strings, ["q", "project", "care_team", "page"]):
        response = case_manager.get("/staff/clients", query_string=values)
        assert response.status_code == 200


def test_the_agency_settings_form(agency_admin, agency_admin_user, naughty_strings, database):
    outcomes = feed(
        agency_admin,
        "/staff/agency/settings",
        ["default_roi_days", "hmis_user_id"],
        naughty_strings,
    )
    database.session.refresh(agency_admin_user.agency)
    assert 1 <= agency_admin_user.agency.default_roi_days <= 3650 and set(outcomes) <= {200, 303}
    assert agency_admin_user.agency.hmis_user_id is None  # no string names an imported user


def test_the_client_account_forms(app, make, agency_a, naughty_strings, no_rate_limits, database):
    """Forgot password, reset code, sessions, privacy update and change password: no 500s, and
    only what a string may change changes."""
    account = make.client_account(agency_a)
    account.privacy_version = "2000-01"  # so the privacy form is really read
    database.session.commit()
    me = signed_in(app, account)
    outcomes = feed(me, "/privacy/update", ["accept"], naughty_strings[:50])
    assert 303 in outcomes  # a non-empty value ticks the box: accepted, then home
    database.session.refresh(account)
    assert account.privacy_version != "2000-01"
    sessions_outcomes = feed(
        me,
        "/account/sessions/end",
        ["session", "password"],
        naughty_strings,
        token_from="/account/sessions",
    )
    assert set(sessions_outcomes) <= {200, 303}
    database.session.refresh(account)
    account.failed_sign_ins, account.throttled_until = 0, None  # wrong passwords above counted
    database.session.commit()
    anonymous = app.test_client()
    feed(anonymous, "/forgot-password", ["email"], naughty_strings)
    outcomes = feed(anonymous, "/reset-code", ["code", "password"], naughty_strings)
    assert set(outcomes) == {200}  # no naughty string is a live reset code
    changes = feed(
        me, "/account", ["new_password"], naughty_strings, extra={"current_password": TEST_PASSWORD}
    )
    database.session.refresh(account)
    # A naughty string may be a good password; after the first change the old one is wrong.
    assert account.is_active and (account.password_changed_at is None) == (303 not in changes)


def test_the_staff_portal_account_forms(
    agency_admin, make, agency_a, naughty_strings, no_rate_limits, database
):
    account = make.client_account(agency_a)
    record = database.session.get(Client, account.client_id)
    base = f"/staff/clients/{record.public_id}"
    feed(
        agency_admin,
        f"{base}/identity-check?then=reinstate",
        ["note"],
        naughty_strings,
        extra={"name_confirmed": "y", "facts": ["dob", "other"]},
    )
    outcomes = feed(agency_admin, f"{base}/portal/deactivate", ["reason"], naughty_strings)
    assert set(outcomes) == {200}
    database.session.refresh(account)
    assert account.is_active
    agency_admin.form(f"{base}/portal/deactivate", {"reason": "other"})
    agency_admin.form(f"{base}/identity-check", {"name_confirmed": "y", "facts": ["dob", "photo"]})
    outcomes = feed(agency_admin, f"{base}/portal/reinstate", ["delivery"], naughty_strings)
    assert set(outcomes) == {200}
    database.session.refresh(account)
    assert not account.is_active


def test_the_self_service_forms(app, make, agency_a, naughty_strings, no_rate_limits, database):
    """Contact details, where to find me, record requests, corrections and the email change:
    every field, every string; no 500s, and only well-formed values reach the review queue."""
    from portal.domain.models import ReviewItem
    from portal.domain.selfservice import review

    account = make.client_account(agency_a)
    me = signed_in(app, account)
    contact_fields = [
        "phone_1_number",
        "phone_1_kind",
        "phone_2_number",
        "email",
        "address_line1",
        "address_line2",
        "city",
        "state",
        "postal_code",
        "preferred_contact",
    ]
    feed(me, "/contact", contact_fields, naughty_strings)
    feed(
        me,
        "/where",
        ["place_kind", "place", "times", "latitude", "longitude"],
        naughty_strings,
        extra={"use_my_location": "y"},
    )
    feed(me, "/where", ["place", "times"], naughty_strings, extra={"place_kind": "street"})
    feed(me, "/record-request", ["parts", "delivery"], naughty_strings)
    feed(me, "/correction", ["field", "text"], naughty_strings, token_from="/home")
    feed(me, "/account/preferences", ["language"], naughty_strings, token_from="/account")
    feed(me, "/account/email", ["new_email"], naughty_strings[:40], extra={"password": "x" * 20})
    for item in database.session.scalars(select(ReviewItem)):
        payload = review.payload_of(item)
        for phone in payload.get("phones", []):
            assert phone["number"].startswith("+") and phone["number"][1:].isdigit()
        if item.kind == "location":
            assert payload["place_kind"] == "street" and payload["lat"] is None
    assert me.get("/home").status_code == 200


def test_the_review_and_request_forms(
    app, make, agency_a, case_manager, case_manager_user, naughty_strings, no_rate_limits, database
):
    """Staff side: the queue filters (GET), a decision with every field, the request form."""
    from portal.domain.models import CareTeamMember, ReviewItem

    account = make.client_account(agency_a)
    client = database.session.get(Client, account.client_id)
    client.care_team.append(CareTeamMember(staff=case_manager_user))
    database.session.commit()
    for values in batches(naughty_strings, ["kind", "care_team", "older_than"]):
        assert case_manager.get("/staff/review", query_string=values).status_code == 200
    item = make.review_item(client, account, kind="address")
    page = f"/staff/review/{item.public_id}"
    fields = ["version", "reason", "note", "address_line1", "city", "state", "postal_code"]
    for action in ("reject", "edit"):
        outcomes = feed(case_manager, page, fields, naughty_strings, extra={"action": action})
        assert set(outcomes) <= {200, 303}
    feed(case_manager, page, ["action"], naughty_strings)
    database.session.refresh(item)
    assert item.status == "pending"  # no naughty version number matched
    feed(
        case_manager,
        f"/staff/clients/{client.public_id}/tasks",
        ["kind", "due_day", "due_month", "due_year"],
        naughty_strings,
    )
    assert database.session.scalar(select(func.count()).select_from(ReviewItem)) == 1


def test_the_messaging_forms(
    app, make, agency_a, case_manager, case_manager_user, naughty_strings, no_rate_limits, database
):
    """The inbox view, hand-over, bulk filters and the new-message recipient: every string."""
    from portal.domain.models import CareTeamMember

    account = make.client_account(agency_a)
    client = database.session.get(Client, account.client_id)
    client.care_team.append(CareTeamMember(staff=case_manager_user, is_case_manager=True))
    database.session.commit()
    conversation = make.conversation(client)
    page = f"/staff/conversations/{conversation.public_id}"
    feed(case_manager, f"{page}/assign", ["staff"], naughty_strings, token_from=page)
    for values in batches(naughty_strings, ["view"]):
        assert case_manager.get("/staff/inbox", query_string=values).status_code == 200
    for values in batches(naughty_strings, ["project", "care_team", "account_status"]):
        assert case_manager.get("/staff/messages/bulk", query_string=values).status_code == 200
    me = signed_in(app, account)
    outcomes = feed(
        me, "/messages/new", ["recipient", "key"], naughty_strings, extra={"body": "Hi"}
    )
    assert set(outcomes) == {200}  # no naughty string is a recipient


def test_the_document_forms(
    app, make, agency_a, case_manager, naughty_strings, no_rate_limits, database
):
    """Upload fields (category, title, task, key and the file's name) and the request form."""
    import io

    from portal.domain.models import ClientTask, Document

    account = make.client_account(agency_a)
    client = database.session.get(Client, account.client_id)
    me = signed_in(app, account)
    token = me.csrf_token("/documents")
    jpeg = shared_path("data", "uploads", "magic-bytes-minimal", "jpeg.jpg").read_bytes()
    for values in batches(naughty_strings, ["category", "title", "task", "key", "name"]):
        name = values.pop("name")
        response = me.post(
            "/documents",
            data={"csrf_token": token, **values, "file": (io.BytesIO(jpeg), name)},
            content_type="multipart/form-data",
        )
        assert response.status_code in (400, 303), (values, name, response.status_code)
    stored = database.session.scalars(select(Document)).all()
    assert not stored  # no naughty string is a category: nothing half-written, nothing kept
    for values in batches(naughty_strings, ["project", "care_team", "account_status"]):
        assert case_manager.get("/staff/documents/request", query_string=values).status_code == 200
    outcomes = feed(
        case_manager,
        f"/staff/clients/{client.public_id}/documents/request",
        ["category", "title", "due_day", "due_month", "due_year", "note"],
        naughty_strings,
    )
    assert set(outcomes) <= {200, 303}
    assert database.session.scalar(select(func.count()).select_from(ClientTask)) == 0


# --- texts (issue 22) ----------------------------------------------------------------------

TEXTS_ON = {"sms_transport": "file", "sms_from": "+15559870000"}
KANNEL_ON = {
    "sms_transport": "kannel",
    "sms_from": "+15559870000",
    "sms_kannel_username": "portal",
    "sms_hook_secret": "blns-hook-secret-0123456789abcdef",
}
PHONE = "+15551230000"


@pytest.fixture
def texting_client(app, make, agency_a, case_manager_user, monkeypatch, database):
    """Texts on (the file transport); a client on the case manager's care team with a phone
    marked "texts OK", signed in."""
    from portal.domain.models import CareTeamMember, ClientPhone

    settings = app.extensions["portal.settings"]
    monkeypatch.setitem(app.extensions, "portal.settings", settings.with_overrides(**TEXTS_ON))
    account = make.client_account(agency_a)
    record = database.session.get(Client, account.client_id)
    record.care_team.append(CareTeamMember(staff=case_manager_user, is_case_manager=True))
    phone = ClientPhone(client_id=record.id, number=PHONE, kind="mobile", text_ok=True)
    database.session.add(phone)
    database.session.commit()
    me = signed_in(app, account)
    me.account, me.record, me.phone = account, record, phone
    return me


def text_counts(database) -> dict[str, int]:
    from portal.domain.models import TextConsent, TextInbound, TextMessage, TextNumber

    return {
        model.__name__: database.session.scalar(select(func.count()).select_from(model))
        for model in (TextConsent, TextMessage, TextNumber, TextInbound)
    }


def test_the_client_texts_forms(texting_client, naughty_strings, no_rate_limits, database):
    """The phone to text a code to, the code typed back, whether texts may name the agency,
    how each notice reaches the client: every string refused with the form's own message,
    nothing half-written (no code texted, no number confirmed, no channel saved)."""
    from portal.domain import texting
    from portal.domain.models import ClientAccount, TextConsent

    me = texting_client
    page = "/account/texts"
    token = me.csrf_token(page)
    for path, fields in (
        ("/account/texts/code", ["phone"]),  # no string is the phone's public id
        ("/account/texts/confirm", ["code"]),  # no code is waiting
        ("/account/texts/details", ["allow_details"]),  # no number is confirmed
    ):
        for values in batches(naughty_strings, fields):
            response = me.post(path, data={"csrf_token": token, **values})
            assert response.status_code == 200, (path, values, response.status_code)
            assert b"There is a problem" in response.data, (path, values)
    assert text_counts(database)["TextMessage"] == 0
    assert text_counts(database)["TextConsent"] == 0
    outcomes = feed(me, "/account/notices", list(texting.NOTICE_KINDS), naughty_strings)
    assert set(outcomes) == {200}  # no string is a channel in every field at once
    database.session.expire_all()
    assert not database.session.get(ClientAccount, me.account.id).notice_channels
    # A code waiting: the strings typed back. The first five count (none is the code: they
    # hold no digit) and then the code no longer works.
    sent = me.form("/account/texts/code", {"phone": str(me.phone.public_id)}, token_from=page)
    assert sent.status_code == 303
    outcomes = feed(me, "/account/texts/confirm", ["code"], naughty_strings, token_from=page)
    assert set(outcomes) == {200}
    consent = database.session.scalar(
        select(TextConsent).where(TextConsent.client_id == me.record.id)
    )
    assert consent.confirmed_at is None and consent.code_attempts == texting.CODE_TRIES
    assert consent.pending_number == PHONE and not consent.allow_details
    assert "This code no longer works" in me.post(
        "/account/texts/confirm", data={"csrf_token": me.csrf_token(page), "code": "123456"}
    ).get_data(as_text=True)
    assert text_counts(database)["TextMessage"] == 1  # the one code, nothing more


def test_the_staff_texts_forms(
    app,
    texting_client,
    case_manager,
    agency_admin,
    agency_admin_user,
    naughty_strings,
    no_rate_limits,
    database,
):
    """Confirming a phone with the client present (the phone, the code read out) and the
    agency's quiet hours: every string refused, the record and the agency as they were."""
    from portal.domain.models import Agency, TextConsent

    record = f"/staff/clients/{texting_client.record.public_id}"
    outcomes = feed(
        case_manager, f"{record}/texts/code", ["phone"], naughty_strings, token_from=record
    )
    assert set(outcomes) == {303}  # back to the record, the error said there
    assert text_counts(database)["TextMessage"] == 0
    assert "Choose a phone that gets texts." in case_manager.get(record).get_data(as_text=True)
    outcomes = feed(
        case_manager, f"{record}/texts/confirm", ["code"], naughty_strings, token_from=record
    )
    assert set(outcomes) == {303}
    assert text_counts(database)["TextConsent"] == 0
    before = database.session.get(Agency, agency_admin_user.agency_id)
    hours = (before.text_quiet_from, before.text_quiet_until)
    outcomes = feed(agency_admin, "/staff/texts", ["quiet_from", "quiet_until"], naughty_strings)
    assert set(outcomes) == {200}  # no string is a time like 21:00
    database.session.expire_all()
    agency = database.session.get(Agency, agency_admin_user.agency_id)
    assert (agency.text_quiet_from, agency.text_quiet_until) == hours
    assert database.session.scalar(select(func.count()).select_from(TextConsent)) == 0


def test_the_texts_people_send_and_the_delivery_reports(
    app, naughty_strings, monkeypatch, database
):
    """Kannel's hooks, with its secret: each string as the text's body and as the sender, and
    as a delivery report's reference and status. A sender without a digit is refused (400);
    every other text is taken for what it means (a keyword or "other"), its words kept
    nowhere; a report that names no text changes nothing."""
    from portal.domain.models import TextInbound

    settings = app.extensions["portal.settings"]
    monkeypatch.setitem(app.extensions, "portal.settings", settings.with_overrides(**KANNEL_ON))
    gateway = app.test_client()
    secret = KANNEL_ON["sms_hook_secret"]
    outcomes = []
    for values in batches(naughty_strings, ["text", "from"]):
        response = gateway.post(
            "/hooks/texts/kannel/in",
            query_string={"secret": secret, "from": values["from"]},
            data=values["text"].encode("utf-8"),
            content_type="text/plain; charset=utf-8",
        )
        assert response.status_code in (200, 400), (values, response.status_code)
        outcomes.append(response.status_code)
    taken = database.session.scalars(select(TextInbound)).all()
    assert len(taken) == outcomes.count(200) > 0 and 400 in outcomes
    for row in taken:
        assert row.keyword in ("stop", "start", "help", "other")
        assert row.number.startswith("+") and row.number[1:].isdigit()
    before = text_states(database)  # the answers to STOP, HELP and the rest, queued
    for values in batches(naughty_strings, ["ref", "status"]):
        response = gateway.get(
            "/hooks/texts/kannel/report", query_string={"secret": secret, **values}
        )
        assert response.status_code in (200, 400), (values, response.status_code)
    assert text_states(database) == before and before


def text_states(database) -> dict:
    from portal.domain.models import TextMessage, TextNumber

    database.session.expire_all()
    return {
        **{
            m.public_id: (m.status, m.gateway_status)
            for m in database.session.scalars(select(TextMessage))
        },
        **{n.number: n.bounced_at for n in database.session.scalars(select(TextNumber))},
    }
