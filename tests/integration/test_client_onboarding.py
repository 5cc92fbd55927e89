"""A client redeems an invitation: link -> date of birth -> email -> code -> privacy -> password."""

import re
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.domain.accounts import invitations
from portal.domain.core import crypto
from portal.domain.core.roles import Role
from portal.domain.models import (
    AuditEvent,
    CareTeamMember,
    ClientAccount,
    ClientInvitation,
    OutboxMessage,
    StaffNotification,
)
from tests.support import link_in, signed_in

PASSWORD = "harbor lantern quietly ninety"
UNUSABLE = "This invitation cannot be used"


@pytest.fixture
def record(make, agency_a, frozen_clock, database):
    client = make.client(agency_a, email="robin@example.org", dob=date(1990, 6, 1))
    manager = make.staff(Role.CASE_MANAGER, agency_a)
    from portal.domain.models import CareTeamMember

    database.session.add(CareTeamMember(client=client, staff=manager, is_case_manager=True))
    database.session.commit()
    return client, manager


@pytest.fixture
def invited(app, record, database):
    """An emailed invitation; returns (client, manager, link path)."""
    client, manager = record
    staff = signed_in(app, manager)
    staff.form(
        f"/staff/clients/{client.public_id}/identity-check",
        {"name_confirmed": "y", "facts": ["dob", "photo"]},
    )
    staff.form(f"/staff/clients/{client.public_id}/invite", {"delivery": "email"})
    message = database.session.scalar(
        select(OutboxMessage).where(OutboxMessage.template == "client_invitation")
    )
    path = link_in(message).replace("https://portal.test", "")
    return client, manager, path


def dob(browser, day="1", month="6", year="1990"):
    return browser.form("/invitation/date-of-birth", {"day": day, "month": month, "year": year})


def email_code(database):
    message = database.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.template == "client_email_code")
        .order_by(OutboxMessage.id.desc())
    ).first()
    return {**crypto.decrypt_json(message.secret_params), "link": link_in(message)}


def through_email(browser, database):
    assert dob(browser).status_code == 303
    assert browser.form("/invitation/email", {"email": "  Robin@Example.org "}).status_code == 303
    return email_code(database)


def to_password(browser, database):
    secret = through_email(browser, database)
    assert browser.form("/invitation/verify", {"code": secret["code"]}).status_code == 303
    assert browser.form("/invitation/privacy", {"accept": "y"}).status_code == 303


def finish(browser, database):
    to_password(browser, database)
    return browser.form("/invitation/password", {"password": PASSWORD})


@pytest.mark.requirement("R3", "R4", "R7", "R10", "R61")
def test_the_whole_redemption_creates_a_verified_account_and_signs_in(app, invited, database):
    client, _m, path = invited
    browser = app.test_client()
    assert browser.get(path).status_code == 200
    assert browser.get(path).status_code == 200  # a GET consumes nothing
    assert browser.form(path, token_from=path).status_code == 303
    done = finish(browser, database)
    assert done.status_code == 303 and done.headers["Location"] == "/home"
    assert browser.get("/home").status_code == 200
    account = database.session.scalar(
        select(ClientAccount).where(ClientAccount.client_id == client.id)
    )
    assert (
        account.email == "robin@example.org"
        and account.email_verified_at
        and account.privacy_version
    )
    assert database.session.scalar(select(ClientInvitation.status)) == "used"
    assert UNUSABLE in browser.form(path, token_from="/privacy").get_data(as_text=True)  # used


def another_invitation(make, staff, client, manager, database):
    """One more emailed invitation by `manager` (signed in as `staff`), for a client like
    `client`: (its link's path, the record)."""
    other = make.client(client.owning_agency, email="robin@example.org", dob=date(1990, 6, 1))
    database.session.add(CareTeamMember(client=other, staff=manager, is_case_manager=True))
    database.session.commit()
    staff.form(
        f"/staff/clients/{other.public_id}/identity-check",
        {"name_confirmed": "y", "facts": ["dob", "photo"]},
    )
    staff.form(f"/staff/clients/{other.public_id}/invite", {"delivery": "email"})
    message = database.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.template == "client_invitation")
        .order_by(OutboxMessage.id.desc())
    ).first()
    return link_in(message).replace("https://portal.test", ""), other


def _main(response):
    """Status and the page's own content, without the per-response nonce and CSRF token."""
    html = response.get_data(as_text=True).split("<main", 1)[1].split("</main>")[0]
    html = re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "", html)
    return response.status_code, re.sub(r'nonce="[^"]*"', "", html)


@pytest.mark.requirement("R6", "R7", "R57")
def test_three_wrong_dates_lock_the_invitation_and_tell_the_care_team(app, invited, database):
    _client, manager, path = invited
    browser = app.test_client()
    browser.form(path, token_from=path)
    answers = [_main(dob(browser, year="1991")) for _ in range(3)]  # the form keeps what was typed
    # One answer for every wrong date, the one that locks included: no count of tries left
    # tells someone holding a leaked link how close they are (issue 20).
    assert answers[0] == answers[1] == answers[2] and answers[0][0] == 200
    assert "does not match our record" in answers[0][1] and "tries left" not in answers[0][1]
    assert database.session.scalar(select(ClientInvitation.status)) == "locked"
    # The right date afterwards (sent from the page of the last try) finds it unusable, like
    # any other unusable invitation.
    again = browser.form(
        "/invitation/date-of-birth", {"day": "1", "month": "6", "year": "1990"}, token_from="/"
    )
    assert UNUSABLE in again.get_data(as_text=True)
    browser.form(path, token_from=path)
    assert UNUSABLE in browser.form(path, token_from="/").get_data(as_text=True)
    note = database.session.scalar(
        select(StaffNotification).where(StaffNotification.staff_id == manager.id)
    )
    assert note.kind == "invitation_locked"
    assert database.session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "invitation.locked")
    )


@pytest.mark.requirement("R3", "R7")
def test_unknown_expired_used_cancelled_and_locked_invitations_answer_alike(
    app, make, record, invited, frozen_clock, database
):
    client, manager, path = invited
    staff = signed_in(app, manager)

    def invite_another():
        return another_invitation(make, staff, client, manager, database)

    answers = {"unknown": app.test_client().form("/invitation/not-a-real-token", token_from="/")}
    used_path, _used = invite_another()
    used = app.test_client()
    used.form(used_path, token_from=used_path)
    finish(used, database)
    answers["used"] = app.test_client().form(used_path, token_from="/")
    locked_path, _locked = invite_another()
    locker = app.test_client()
    locker.form(locked_path, token_from=locked_path)
    for year in ("1991", "1992", "1993"):
        dob(locker, year=year)
    answers["locked"] = app.test_client().form(locked_path, token_from="/")
    cancelled_path, cancelled = invite_another()
    staff.form(f"/staff/clients/{cancelled.public_id}/invite/cancel", token_from="/staff/")
    answers["cancelled"] = app.test_client().form(cancelled_path, token_from="/")
    frozen_clock.advance(timedelta(hours=72, seconds=1))
    answers["expired"] = app.test_client().form(path, token_from="/")
    bodies = {kind: _main(response) for kind, response in answers.items()}
    assert len(set(bodies.values())) == 1, {k: v[0] for k, v in bodies.items()}
    assert UNUSABLE in bodies["unknown"][1]


@pytest.mark.requirement("R6")
def test_one_address_gets_ten_wrong_tries_per_15_minutes_at_each_invitation_step(
    app, invited, database
):
    _client, _manager, path = invited
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    token = guesser.csrf_token("/invitation-code")
    for n in range(10):  # mistyped codes
        answer = guesser.post("/invitation-code", data={"csrf_token": token, "code": f"X{n}"})
        assert answer.status_code == 400
    stopped = guesser.post("/invitation-code", data={"csrf_token": token, "code": "XXXX"})
    assert stopped.status_code == 429 and int(stopped.headers["Retry-After"]) > 60
    for n in range(10):  # made-up links
        assert guesser.form(f"/invitation/made-up-{n}", token_from="/").status_code == 200
    assert guesser.form(path, token_from="/").status_code == 429  # even a real link now
    elsewhere = app.test_client()  # another address is not affected
    assert elsewhere.form(path, token_from=path).status_code == 303


@pytest.mark.requirement("R6")
def test_the_date_of_birth_step_is_limited_per_address_too(app, make, invited, database):
    """Three wrong dates lock one invitation; ten from one address in 15 minutes stop that
    address at every invitation (someone holding many leaked links)."""
    client, manager, path = invited
    staff = signed_in(app, manager)
    paths = [path] + [
        another_invitation(make, staff, client, manager, database)[0] for _ in range(4)
    ]
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "198.51.100.8"
    answers = []
    for link in paths[:4]:
        assert guesser.form(link, token_from=link).status_code == 303
        answers += [
            dob(guesser, year=str(1980 + n)).status_code
            for n in range(3 if link != paths[3] else 1)
        ]
    assert answers == [200] * 10
    assert guesser.form(paths[4], token_from=paths[4]).status_code == 303
    assert dob(guesser).status_code == 429  # the 11th, with the right date at a live invitation
    statuses = database.session.scalars(
        select(ClientInvitation.status).order_by(ClientInvitation.id)
    )
    assert list(statuses) == ["locked", "locked", "locked", "pending", "pending"]


@pytest.mark.requirement("R10", "R11", "R61")
def test_steps_run_only_in_order(app, invited, database):
    _client, _m, path = invited
    fresh = app.test_client()
    for step in (
        "/invitation/date-of-birth",
        "/invitation/email",
        "/invitation/verify",
        "/invitation/privacy",
        "/invitation/password",
    ):
        assert fresh.form(step, {"password": PASSWORD}, token_from="/").status_code == 403
    browser = app.test_client()
    browser.form(path, token_from=path)
    assert (
        browser.form("/invitation/password", {"password": PASSWORD}, token_from="/").status_code
        == 403
    )
    assert database.session.scalar(select(func.count()).select_from(ClientAccount)) == 0


@pytest.mark.requirement("R9")
def test_an_under_18_client_is_refused_kindly_and_the_invitation_locks(
    app, invited, agency_a, database
):
    client, _m, path = invited
    today = agency_a.today()
    young = today.replace(year=today.year - 18) + timedelta(days=1)
    client.dob = young
    database.session.commit()
    browser = app.test_client()
    browser.form(path, token_from=path)
    page = dob(browser, day=str(young.day), month=str(young.month), year=str(young.year)).get_data(
        as_text=True
    )
    assert "only for adults" in page
    assert database.session.scalar(select(ClientInvitation.status)) == "locked"


@pytest.mark.requirement("R7", "R10")
def test_a_different_email_is_refused_with_its_own_three_tries(app, invited, database):
    _client, _m, path = invited
    browser = app.test_client()
    browser.form(path, token_from=path)
    dob(browser)
    answers = [_main(browser.form("/invitation/email", {"email": "x@example.org"})) for _ in "xyz"]
    assert answers[0] == answers[1] == answers[2]  # the one that locks included (R7)
    assert "not the one on your record" in answers[0][1] and "tries left" not in answers[0][1]
    assert database.session.scalar(select(ClientInvitation.status)) == "locked"
    again = browser.form("/invitation/email", {"email": "robin@example.org"}, token_from="/")
    assert UNUSABLE in again.get_data(as_text=True)


@pytest.mark.requirement("R10")
def test_five_wrong_codes_and_the_code_stops_working(app, invited, database):
    _client, _m, path = invited
    browser = app.test_client()
    browser.form(path, token_from=path)
    secret = through_email(browser, database)
    for _ in range(5):
        browser.form(
            "/invitation/verify", {"code": "000000" if secret["code"] != "000000" else "111111"}
        )
    page = browser.form("/invitation/verify", {"code": secret["code"]}).get_data(as_text=True)
    assert "no longer works" in page


@pytest.mark.requirement("R4", "R10")
def test_the_email_link_confirms_in_another_browser_only_after_a_press(app, invited, database):
    _client, _m, path = invited
    browser = app.test_client()
    browser.form(path, token_from=path)
    secret = through_email(browser, database)
    link = secret["link"].replace("https://portal.test", "")
    other = app.test_client()
    assert other.get(link).status_code == 200  # a mail scanner's GET confirms nothing
    assert database.session.scalar(select(ClientInvitation.step)) == "email_sent"
    assert other.form(link).status_code == 200
    assert database.session.scalar(select(ClientInvitation.step)) == "email_verified"
    assert browser.get("/invitation/verify").status_code == 303  # on to the privacy notice


def printed_code(app, record) -> str:
    """The code on the sheet staff print at intake."""
    client, manager = record
    staff = signed_in(app, manager)
    staff.form(
        f"/staff/clients/{client.public_id}/identity-check",
        {"name_confirmed": "y", "facts": ["dob", "photo"]},
    )
    sheet = staff.form(f"/staff/clients/{client.public_id}/invite", {"delivery": "print"}).get_data(
        as_text=True
    )
    return re.search(r'class="invite-code">([A-Z0-9-]+)<', sheet).group(1)


def test_a_printed_code_starts_the_same_redemption(app, record, database):
    code = printed_code(app, record)
    browser = app.test_client()
    typed = code.lower().replace("-", " ")
    assert browser.form("/invitation-code", {"code": typed}).status_code == 303
    assert finish(browser, database).status_code == 303


@pytest.mark.requirement("R14")
def test_passwords_built_from_the_record_are_refused(app, invited, database):
    _client, _m, path = invited
    browser = app.test_client()
    browser.form(path, token_from=path)
    to_password(browser, database)
    page = browser.form("/invitation/password", {"password": "robin 19900601 robin"}).get_data(
        as_text=True
    )
    assert "Do not build your password" in page


def test_an_email_cleared_by_staff_before_the_password_makes_no_account(app, invited, database):
    client, _m, path = invited
    browser = app.test_client()
    browser.form(path, token_from=path)
    to_password(browser, database)
    client.email = None  # staff removed it from the record meanwhile
    database.session.commit()
    page = browser.form("/invitation/password", {"password": PASSWORD})
    assert page.status_code == 200 and UNUSABLE in page.get_data(as_text=True)
    assert database.session.scalar(select(func.count(ClientAccount.id))) == 0
    assert database.session.scalar(select(ClientInvitation.status)) == "pending"


def test_the_portal_shows_connected_after_redemption(app, invited, database):
    client, _m, path = invited
    browser = app.test_client()
    browser.form(path, token_from=path)
    finish(browser, database)
    assert invitations.portal_status(client).code == "connected"


@pytest.mark.real_commits
@pytest.mark.requirement("R3")
def test_twenty_concurrent_redemptions_create_one_account(app, database, make_committed_invitation):
    from portal.domain.accounts import onboarding

    invitation_id = make_committed_invitation()
    results = []

    def redeem():
        with app.app_context():
            inv = database.session.get(ClientInvitation, invitation_id)
            try:
                onboarding.create_account(inv, PASSWORD)
                database.session.commit()
                results.append("created")
            except Exception:
                database.session.rollback()
                results.append("refused")
            finally:
                database.session.remove()

    threads = [threading.Thread(target=redeem) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results.count("created") == 1
    assert database.session.scalar(select(func.count()).select_from(ClientAccount)) == 1


@pytest.mark.requirement("R4", "R7")
def test_an_unusable_link_says_so_at_once_with_the_ways_on(app, invited, database, frozen_clock):
    """Issue 17: a used, expired or mistyped link showed the welcome page, and only after
    "Continue" said it could not be used, with no way on."""
    _client, _m, path = invited
    fresh = app.test_client().get(path)
    assert fresh.status_code == 200 and "Your invitation to the portal" in fresh.get_data(
        as_text=True
    )
    database.session.expire_all()
    assert database.session.scalar(select(ClientInvitation.binding_hash)) is None  # unchanged
    frozen_clock.advance(timedelta(hours=72, seconds=1))
    for link in (path, "/invitation/not-a-real-token"):
        page = app.test_client().get(link).get_data(as_text=True)
        assert UNUSABLE in page and "Your invitation to the portal" not in page
        assert 'href="/invitation-code"' in page and 'href="/sign-in"' in page
    assert 'href="/invitation-code"' in app.test_client().get("/").get_data(as_text=True)


def test_a_mistyped_code_can_be_typed_again(app, record, database):
    code = printed_code(app, record)
    browser = app.test_client()
    wrong = browser.form("/invitation-code", {"code": "ABCDE-FGH23"})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 400 and "Check it against your sheet" in page
    assert 'name="code"' in page and 'value="ABCDE-FGH23"' in page  # there to correct
    assert browser.form("/invitation-code", {"code": code}).status_code == 303


ASK_STAFF = "ask your case manager for a new invitation"


def _ways_on(page: str) -> str:
    """The page's own content, checked to offer every way on: type the code, sign in, ask."""
    main = page.split("<main", 1)[1].split("</main>")[0]
    assert 'href="/sign-in"' in main, "no way to sign in"
    assert ASK_STAFF in main, "no word on asking staff"
    return main


def test_a_refused_code_or_a_used_link_offers_typing_again_signing_in_and_asking_staff(
    app, invited, database
):
    """Issue 17: a used, expired or mistyped link or code says so at once and offers to type
    the code again, sign in, or ask staff for a new one (the code page offered no sign-in)."""
    asked = app.test_client().get("/invitation-code").get_data(as_text=True)
    assert 'href="/sign-in"' not in asked.split("<main", 1)[1]  # only once a code is refused

    wrong = app.test_client().form("/invitation-code", {"code": "ABCDE-FGH23"})
    assert wrong.status_code == 400
    main = _ways_on(wrong.get_data(as_text=True))
    retype = re.search(r'<form method="post"[^>]*>.*?</form>', main, re.S)
    assert retype and 'name="code"' in retype.group(0) and 'type="submit"' in retype.group(0)
    assert 'href="/invitation-code"' not in main  # the form is here, not a link to it

    _client, _m, path = invited
    browser = app.test_client()
    assert browser.form(path, token_from=path).status_code == 303
    assert finish(browser, database).status_code == 303
    assert database.session.scalar(select(ClientInvitation.status)) == "used"
    used = app.test_client().get(path)  # the redeemed link, opened again: said at once
    assert used.status_code == 200
    main = _ways_on(used.get_data(as_text=True))
    assert UNUSABLE in main and "Your invitation to the portal" not in main
    assert 'href="/invitation-code"' in main  # to type a code on paper
