"""Server-side sessions: timeouts per account kind, rotation, listing and ending them."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.domain.accounts import sessions
from portal.domain.core.roles import Role
from portal.domain.models import ContactEvent, Message, UserSession
from tests.support import signed_in, statements_run

COOKIE = "__Host-portal"


@pytest.mark.requirement("R22")
def test_the_cookie_holds_a_random_id_and_the_database_only_its_hash(case_manager, database):
    raw = case_manager.get_cookie(COOKIE).value
    assert len(raw) >= 43  # 256 bits in base64url
    rows = database.session.scalars(select(UserSession.sid_hash)).all()
    assert raw not in rows and sessions.hash_sid(raw) in rows


def _statements_of(app, browser, path: str) -> list[str]:
    from portal.extensions import db

    with statements_run(db.engine) as seen:
        assert browser.get(path).status_code == 200
    return seen


@pytest.mark.parametrize(
    ("who", "path", "mark", "account_table"),
    [
        ("case_manager", "/staff/account", "s~", "staff_users"),
        ("client_user", "/account", "c~", "client_accounts"),
    ],
)
def test_the_session_and_its_account_are_read_in_one_statement(
    app, request, who, path, mark, account_table
):
    """The id's mark names the account kind: one statement reads the row and the account."""
    browser = request.getfixturevalue(who)
    raw = browser.get_cookie(COOKIE).value
    assert raw.startswith(mark) and len(raw) >= 45
    seen = _statements_of(app, browser, path)
    with_row = [s for s in seen if "FROM user_sessions" in s]
    assert len(with_row) == 1 and account_table in with_row[0]
    assert not any(f"FROM {account_table}" in s for s in seen)


def test_a_changed_mark_names_no_session(app, case_manager, client_user):
    """The table keeps the hash of the whole id: a staff id marked as a client's (or the other
    way round) is no session at all."""
    for browser, own_page, other in (
        (case_manager, "/staff/account", "c~"),
        (client_user, "/account", "s~"),
    ):
        assert browser.get(own_page).status_code == 200
        raw = browser.get_cookie(COOKIE).value
        browser.set_cookie(COOKIE, other + raw[2:])
        assert browser.get(own_page).status_code == 302
        assert browser.get("/account").status_code == 302
        assert browser.get("/staff/account").status_code == 302


def test_an_id_without_a_mark_still_finds_its_session_and_account(app, database, make, agency_a):
    """Sessions made before the marks (or any id whose mark says nothing) read the account by a
    second statement."""
    staff = make.staff(Role.CASE_MANAGER, agency_a, name="Old Cookie")
    browser = signed_in(app, staff)
    old_id = "o" + sessions.new_sid("staff")[2:]
    row = database.session.scalar(
        select(UserSession).where(
            UserSession.sid_hash == sessions.hash_sid(browser.get_cookie(COOKIE).value)
        )
    )
    row.sid_hash = sessions.hash_sid(old_id)
    database.session.commit()
    browser.set_cookie(COOKIE, old_id)
    seen = _statements_of(app, browser, "/staff/account")
    assert len([s for s in seen if "FROM user_sessions" in s]) == 1
    assert len([s for s in seen if "FROM staff_users" in s]) == 1
    assert "Old Cookie" in browser.get("/staff/account").get_data(as_text=True)


@pytest.mark.requirement("R22")
def test_a_planted_session_id_is_never_adopted(app, case_manager_user):
    client = app.test_client()
    client.set_cookie(COOKIE, "attacker-chosen-session-id-0123456789abcdef")
    client.form(
        "/staff/sign-in",
        {"email": case_manager_user.email, "password": "tidal violet compass morning"},
    )
    assert client.get_cookie(COOKIE).value != "attacker-chosen-session-id-0123456789abcdef"


@pytest.mark.requirement("R22")
def test_signing_in_ends_the_anonymous_session_it_came_from(app, anonymous, case_manager_user):
    anonymous.get("/staff/sign-in")
    before = anonymous.get_cookie(COOKIE).value
    anonymous.form(
        "/staff/sign-in",
        {"email": case_manager_user.email, "password": "tidal violet compass morning"},
    )
    stale = app.test_client()
    stale.set_cookie(COOKIE, before)
    assert stale.get("/staff/").status_code == 302


@pytest.mark.requirement("R24")
def test_staff_idle_timeout_is_thirty_minutes(frozen_clock, case_manager):
    frozen_clock.advance(timedelta(minutes=29, seconds=59))
    assert case_manager.get("/staff/").status_code == 200
    frozen_clock.advance(timedelta(minutes=30))
    response = case_manager.get("/staff/")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]


@pytest.mark.requirement("R24")
def test_staff_absolute_timeout_is_twelve_hours_even_with_activity(frozen_clock, case_manager):
    for _ in range(24):  # 24 x 29 min = 11 h 36 min
        frozen_clock.advance(timedelta(minutes=29))
        assert case_manager.get("/staff/").status_code == 200
    frozen_clock.advance(timedelta(minutes=29))  # 12 h 5 min since sign-in
    assert case_manager.get("/staff/").status_code == 302


@pytest.mark.requirement("R24")
def test_client_idle_timeout_is_fifteen_minutes_and_absolute_four_hours(frozen_clock, client_user):
    frozen_clock.advance(timedelta(minutes=14))
    assert client_user.get("/home").status_code == 200
    frozen_clock.advance(timedelta(minutes=15, seconds=1))
    assert client_user.get("/home").status_code == 302


@pytest.mark.requirement("R24")
def test_client_absolute_timeout_is_four_hours(frozen_clock, client_user):
    for _ in range(17):
        frozen_clock.advance(timedelta(minutes=14))
        assert client_user.get("/home").status_code == 200
    frozen_clock.advance(timedelta(minutes=14))  # 4 h 12 min since sign-in
    response = client_user.get("/home")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


def test_after_a_timeout_the_sign_in_page_says_why(frozen_clock, client_user):
    frozen_clock.advance(timedelta(minutes=16))
    page = client_user.get("/home", follow_redirects=True)
    assert "For your safety we signed you out" in page.get_data(as_text=True)


@pytest.mark.requirement("R29")
def test_staff_can_list_their_sessions_and_end_another_one(app, case_manager_user):
    phone = signed_in(app, case_manager_user)
    laptop = signed_in(app, case_manager_user)
    page = laptop.get("/staff/account/sessions").get_data(as_text=True)
    assert page.count("<tr>") == 3  # header + two sessions
    laptop.form(
        "/staff/account/sessions/end", {"session": "others"}, token_from="/staff/account/sessions"
    )
    assert phone.get("/staff/").status_code == 302
    assert laptop.get("/staff/").status_code == 200


@pytest.mark.requirement("R29")
def test_ending_one_session_by_id_only_touches_the_owners_sessions(
    app, make, case_manager_user, agency_a, database
):
    mine = signed_in(app, case_manager_user)
    colleague_user = make.staff(Role.CASE_MANAGER, agency_a)
    colleague = signed_in(app, colleague_user)
    theirs = sessions.live_for(colleague_user)[0]
    mine.form(
        "/staff/account/sessions/end",
        {"session": str(theirs.public_id)},
        token_from="/staff/account/sessions",
    )
    assert colleague.get("/staff/").status_code == 200


@pytest.mark.requirement("R22")
def test_a_role_change_gives_the_session_a_new_id(
    app, agency_admin, agency_admin_user, make, agency_a
):
    member_user = make.staff(Role.CASE_MANAGER, agency_a)
    member = signed_in(app, member_user)
    before = member.get_cookie(COOKIE).value
    page = f"/staff/team/{member_user.public_id}"
    agency_admin.form(f"{page}/role", {"role": "agency_admin"}, token_from=page)
    assert member.get("/staff/team").status_code == 200  # new privileges, same person
    after = member.get_cookie(COOKIE).value
    assert after != before
    old = app.test_client()
    old.set_cookie(COOKIE, before)
    assert old.get("/staff/").status_code == 302


def test_the_sweeper_deletes_expired_rows(app, frozen_clock, case_manager, database):
    frozen_clock.advance(timedelta(hours=13))
    assert sessions.sweep() >= 1
    assert database.session.scalars(select(UserSession)).all() == []


# --- a form sent from a page whose session has ended since (issue 17) ----------------------

SIGNED_OUT_NOTE = "For your safety we signed you out"


def _count(database, model) -> int:
    return database.session.scalar(select(func.count()).select_from(model))


def test_a_message_sent_after_staff_ended_the_session_asks_to_sign_in_and_stores_nothing(
    me, case_manager, case_manager_user, database
):
    """Staff deactivate the account (every session ends) while the client has the page open:
    its token died with the session, so sending is not a broken form but a signed-out one."""
    token = me.csrf_token("/messages/new")  # the page the client has open
    deactivate = f"/staff/clients/{me.record.public_id}/portal/deactivate"
    assert case_manager.form(deactivate, {"reason": "someone_else"}).status_code == 303
    sent = me.post(
        "/messages/new",
        data={
            "csrf_token": token,
            "recipient": str(case_manager_user.public_id),
            "body": "Are you there?",
            "key": "after-the-end",
        },
    )
    assert sent.status_code == 303
    assert sent.headers["Location"] == "/sign-in?next=/messages/new"  # back to the page
    page = me.get(sent.headers["Location"]).get_data(as_text=True)
    assert SIGNED_OUT_NOTE in page and "could not use what was sent" not in page
    assert _count(database, Message) == 0


def test_a_check_in_sent_after_a_timeout_asks_to_sign_in_and_stores_nothing(
    frozen_clock, me, database
):
    token = me.csrf_token("/home")
    frozen_clock.advance(timedelta(minutes=16))
    sent = me.post("/check-in", data={"csrf_token": token})
    assert sent.status_code == 303 and sent.headers["Location"].startswith("/sign-in")
    assert SIGNED_OUT_NOTE in me.get(sent.headers["Location"]).get_data(as_text=True)
    assert _count(database, ContactEvent) == 0


def test_a_staff_form_sent_after_the_session_was_ended_elsewhere_asks_to_sign_in(
    app, case_manager_user
):
    phone = signed_in(app, case_manager_user)
    laptop = signed_in(app, case_manager_user)
    token = phone.csrf_token("/staff/account/sessions")  # the page the phone has open
    laptop.form(
        "/staff/account/sessions/end", {"session": "others"}, token_from="/staff/account/sessions"
    )
    sent = phone.post(
        "/staff/account/sessions/end", data={"csrf_token": token, "session": "others"}
    )
    assert sent.status_code == 303 and sent.headers["Location"].startswith("/staff/sign-in")
    assert SIGNED_OUT_NOTE in phone.get(sent.headers["Location"]).get_data(as_text=True)
    assert laptop.get("/staff/").status_code == 200  # the phone's form did nothing


@pytest.mark.requirement("R41")
def test_a_live_session_with_a_wrong_token_is_still_refused_as_before(me, database):
    sent = me.post("/check-in", data={"csrf_token": "not-the-token"})
    assert sent.status_code == 400
    assert "could not use what was sent" in sent.get_data(as_text=True)
    assert _count(database, ContactEvent) == 0
    assert me.get("/home").status_code == 200  # still signed in


def test_leave_quickly_ends_the_session_without_a_token_and_goes_to_an_ordinary_site(
    app, make, agency_a
):
    """Issue 17: the "Leave quickly" form works without JavaScript and even when the page's
    token is stale: the session ends and the browser lands on QUICK_EXIT_URL."""
    from tests.support import signed_in

    account = make.client_account(agency_a)
    me = signed_in(app, account)
    page = me.get("/home").get_data(as_text=True)
    assert 'action="/leave"' in page and "Leave quickly" in page
    left = me.post("/leave")  # no CSRF token at all
    assert left.status_code == 303
    assert left.headers["Location"] == app.extensions["portal.settings"].quick_exit_url
    assert "cookies" in left.headers["Clear-Site-Data"]
    again = me.get("/home")
    assert again.status_code in (302, 303) and "/sign-in" in again.headers["Location"]
    # Before signing in too, on every client page, and the redirect is allowed by the CSP.
    anonymous = app.test_client()
    start = anonymous.get("/")
    assert "Leave quickly" in start.get_data(as_text=True)
    assert "form-action 'self' https://www.weather.gov" in start.headers["Content-Security-Policy"]
    assert anonymous.post("/leave").status_code == 303


def test_leave_quickly_as_a_beacon_ends_the_session_and_sends_nobody_elsewhere(app, make, agency_a):
    """The page's script leaves by itself and sends the form as a beacon (Sec-Fetch-Mode
    no-cors): 204, the session ended, nothing for the beacon to follow to the other site."""
    from tests.support import signed_in

    me = signed_in(app, make.client_account(agency_a))
    beacon = {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "same-origin"}
    left = me.post("/leave", headers=beacon)
    assert left.status_code == 204 and "Location" not in left.headers
    assert "cookies" in left.headers["Clear-Site-Data"]
    again = me.get("/home")
    assert again.status_code in (302, 303) and "/sign-in" in again.headers["Location"]
