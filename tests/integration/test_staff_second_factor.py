"""Staff second factor (issue 19, R20): no session on the password alone; an authenticator app
(TOTP: one step of drift either way, each code once), recovery codes, enrolment at the first
sign-in, the agency's requirement, re-authentication, and an administrator's reset."""

import re
import threading
from datetime import timedelta
from types import SimpleNamespace

import pyotp
import pytest
from sqlalchemy import select

from portal.domain.accounts import factors
from portal.domain.core import crypto
from portal.domain.core.roles import Role
from portal.domain.models import AuditEvent, RecoveryCode, StaffFactor, StaffUser
from tests.support import TEST_PASSWORD, TEST_TOTP_KEY, signed_in, staff_sessions, totp_now

WRONG = "That code is not right"


def password_step(client, member, password=TEST_PASSWORD):
    return client.form("/staff/sign-in", {"email": member.email, "password": password})


def code_step(client, code):
    return client.form("/staff/sign-in/code", {"code": code})


def events(database, member, action=None) -> list[AuditEvent]:
    """The audit events about `member` (the audit log outlives each test), oldest first."""
    query = select(AuditEvent).where(AuditEvent.subject_id == str(member.public_id))
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(database.session.scalars(query.order_by(AuditEvent.id)))


@pytest.mark.requirement("R20")
def test_the_right_password_alone_starts_no_session(app, anonymous, case_manager_user, database):
    response = password_step(anonymous, case_manager_user)
    assert response.status_code == 303 and response.headers["Location"] == "/staff/sign-in/code"
    assert staff_sessions(database, case_manager_user) == 0
    home = anonymous.get("/staff/")
    assert home.status_code == 302 and "/staff/sign-in" in home.headers["Location"]
    actions = [event.action for event in events(database, case_manager_user)]
    assert "sign_in.password_accepted" in actions and "sign_in.succeeded" not in actions


@pytest.mark.requirement("R57")
def test_the_app_code_signs_in_and_the_audit_says_which_factor(
    app, anonymous, case_manager_user, database
):
    password_step(anonymous, case_manager_user)
    response = code_step(anonymous, totp_now())
    assert response.status_code == 303 and response.headers["Location"] == "/staff/"
    assert anonymous.get("/staff/").status_code == 200
    assert staff_sessions(database, case_manager_user) == 1
    (event,) = events(database, case_manager_user, "sign_in.succeeded")
    assert event.details == {"factor": "totp"}


def test_a_code_is_good_once_and_one_step_either_side(
    app, case_manager_user, frozen_clock, database
):
    totp = pyotp.TOTP(TEST_TOTP_KEY)
    first, second, third, fourth = (app.test_client() for _ in range(4))
    password_step(first, case_manager_user)
    assert code_step(first, totp.at(frozen_clock.now() - timedelta(seconds=30))).status_code == 303
    # The same code again (another browser, same step): refused, and counted.
    password_step(second, case_manager_user)
    again = code_step(second, totp.at(frozen_clock.now() - timedelta(seconds=30)))
    assert again.status_code == 200 and WRONG in again.get_data(as_text=True)
    assert case_manager_user.failed_sign_ins == 1
    # Two steps back is too old; the next step is still good.
    password_step(third, case_manager_user)
    old = code_step(third, totp.at(frozen_clock.now() - timedelta(seconds=60)))
    assert WRONG in old.get_data(as_text=True)
    password_step(fourth, case_manager_user)
    assert code_step(fourth, totp.at(frozen_clock.now() + timedelta(seconds=30))).status_code == 303
    # Now the current step is at or before the newest used one: refused as well.
    password_step(third, case_manager_user)
    assert WRONG in code_step(third, totp.at(frozen_clock.now())).get_data(as_text=True)


def test_wrong_codes_share_the_account_throttle_and_the_password_does_not_reset_it(
    app, anonymous, case_manager_user, frozen_clock, database
):
    for _ in range(5):
        password_step(anonymous, case_manager_user)
        code_step(anonymous, "000000")
    assert case_manager_user.failed_sign_ins == 5
    assert case_manager_user.throttled_until > frozen_clock.now()
    # While throttled, the password is refused before the code is asked for.
    refused = password_step(anonymous, case_manager_user)
    assert refused.status_code == 200
    frozen_clock.advance(timedelta(seconds=31))
    password_step(anonymous, case_manager_user)
    assert case_manager_user.failed_sign_ins == 5  # the right password alone resets nothing
    assert code_step(anonymous, totp_now()).status_code == 303
    assert case_manager_user.failed_sign_ins == 0


def test_a_recovery_code_works_once(app, make, agency_a, database):
    member = make.staff(Role.CASE_MANAGER, agency_a)
    codes = factors.new_recovery_codes(member)
    database.session.commit()
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = database.session.scalars(select(RecoveryCode.code_hash)).all()
    assert not any(code.replace("-", "") in value for code in codes for value in stored)
    first = app.test_client()
    password_step(first, member)
    assert code_step(first, codes[3].lower()).status_code == 303
    second = app.test_client()
    password_step(second, member)
    assert WRONG in code_step(second, codes[3]).get_data(as_text=True)
    assert factors.recovery_codes_left(member) == 9
    (event,) = events(database, member, "sign_in.succeeded")
    assert event.details == {"factor": "recovery_code"}


def _setup_key(database, member) -> str:
    factor = database.session.scalar(
        select(StaffFactor).where(
            StaffFactor.staff_id == member.id, StaffFactor.confirmed_at.is_(None)
        )
    )
    return crypto.decrypt_text(factor.secret_encrypted)


@pytest.mark.requirement("R20")
def test_someone_without_a_factor_sets_up_an_app_before_anything_else(
    app, anonymous, make, agency_a, database
):
    member = make.staff(Role.CASE_MANAGER, agency_a, second_factor=False)
    response = password_step(anonymous, member)
    assert response.headers["Location"] == "/staff/sign-in/set-up"
    page = anonymous.get("/staff/sign-in/set-up")
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    key = _setup_key(database, member)
    shown = page.get_data(as_text=True)
    assert " ".join(key[i : i + 4] for i in range(0, len(key), 4)) in shown
    assert staff_sessions(database, member) == 0
    setup_id = str(
        database.session.scalar(
            select(StaffFactor.public_id).where(StaffFactor.staff_id == member.id)
        )
    )
    wrong = anonymous.form("/staff/sign-in/set-up", {"setup": setup_id, "code": "123456"})
    assert wrong.status_code == 200 and WRONG in wrong.get_data(as_text=True)
    assert staff_sessions(database, member) == 0
    done = anonymous.form(
        "/staff/sign-in/set-up", {"setup": setup_id, "code": pyotp.TOTP(key).now()}
    )
    body = done.get_data(as_text=True)
    assert done.status_code == 200 and "Your recovery codes" in body
    assert "no-store" in done.headers["Cache-Control"]
    assert factors.recovery_codes_left(member) == 10
    assert anonymous.get("/staff/").status_code == 200
    assert factors.has_factor(member)


@pytest.mark.requirement("R20")
def test_an_agency_may_let_case_managers_in_without_one_but_never_administrators(
    app, make, agency_a, database
):
    agency_a.require_second_factor = False
    database.session.commit()
    manager = make.staff(Role.CASE_MANAGER, agency_a, second_factor=False)
    admin = make.staff(Role.AGENCY_ADMIN, agency_a, second_factor=False)
    assert password_step(app.test_client(), manager).headers["Location"] == "/staff/"
    assert password_step(app.test_client(), admin).headers["Location"] == "/staff/sign-in/set-up"


def test_the_agency_setting_is_saved_and_audited(app, agency_admin, agency_a, database):
    response = agency_admin.form(
        "/staff/agency/settings",
        {"default_roi_days": "365"},  # the box left unticked
    )
    assert response.status_code == 303
    assert agency_a.require_second_factor is False
    (event,) = events(database, agency_a, "agency.settings_changed")
    assert event.details == {"require_second_factor": [True, False]}


@pytest.mark.requirement("R29")
def test_ending_other_sessions_asks_for_a_code_too(app, case_manager_user, frozen_clock, database):
    browser = signed_in(app, case_manager_user)
    signed_in(app, case_manager_user)
    frozen_clock.advance(timedelta(minutes=6))  # past the 5 minutes a sign-in counts as fresh
    refused = browser.form(
        "/staff/account/sessions/end",
        {"password": TEST_PASSWORD, "code": "000000", "session": "others"},
        token_from="/staff/account/sessions",
    )
    assert refused.status_code == 200 and WRONG in refused.get_data(as_text=True)
    assert staff_sessions(database, case_manager_user) == 2
    frozen_clock.advance(timedelta(seconds=60))  # the next code
    ended = browser.form(
        "/staff/account/sessions/end",
        {"password": TEST_PASSWORD, "code": totp_now(), "session": "others"},
        token_from="/staff/account/sessions",
    )
    assert ended.status_code == 303
    assert staff_sessions(database, case_manager_user) == 1


def test_an_administrator_resets_a_lost_factor_after_an_identity_check(
    app, make, agency_a, agency_admin_user, frozen_clock, database
):
    member = make.staff(Role.CASE_MANAGER, agency_a)
    lost = signed_in(app, member)
    frozen_clock.advance(timedelta(seconds=30))
    admin = signed_in(app, agency_admin_user)
    path = f"/staff/team/{member.public_id}/reset-second-factor"
    assert admin.get(path).status_code == 200
    frozen_clock.advance(timedelta(seconds=30))
    unchecked = admin.form(path, {"password": TEST_PASSWORD, "code": totp_now()})
    assert unchecked.status_code == 200 and factors.has_factor(member)
    frozen_clock.advance(timedelta(seconds=30))
    done = admin.form(
        path, {"identity_checked": "y", "password": TEST_PASSWORD, "code": totp_now()}
    )
    assert done.status_code == 303
    assert not factors.has_factor(member) and factors.recovery_codes_left(member) == 0
    assert staff_sessions(database, member) == 0
    assert lost.get("/staff/").status_code == 302
    (event,) = events(database, member, "second_factor.reset")
    assert event.details["identity_checked"] is True and event.details["factors"] == 1
    assert password_step(app.test_client(), member).headers["Location"] == "/staff/sign-in/set-up"


def test_who_may_reset_whom(app, make, agency_a, agency_b, database):
    admin_a = make.staff(Role.AGENCY_ADMIN, agency_a)
    admin_b = make.staff(Role.AGENCY_ADMIN, agency_b)
    manager_b = make.staff(Role.CASE_MANAGER, agency_b)
    system = make.staff(Role.SYSTEM_ADMIN)
    browser = signed_in(app, admin_a)
    for other in (manager_b, admin_b):  # another agency's staff, or an administrator
        assert browser.get(f"/staff/team/{other.public_id}/reset-second-factor").status_code == 404
    manager = signed_in(app, make.staff(Role.CASE_MANAGER, agency_a))
    assert manager.get(f"/staff/team/{admin_a.public_id}/reset-second-factor").status_code == 403
    root = signed_in(app, system)
    admins = root.get("/staff/agencies").get_data(as_text=True)
    assert f"/staff/administrators/{admin_b.public_id}/reset-second-factor" in admins
    reset = "/staff/administrators/{}/reset-second-factor"
    assert root.get(reset.format(admin_b.public_id)).status_code == 200
    assert root.get(reset.format(manager_b.public_id)).status_code == 404  # not an administrator
    assert root.get(reset.format(system.public_id)).status_code == 404  # never their own


def at_the_code_step(app, database, browsers: int):
    """A committed case manager, and `browsers` browsers past the password, at the code step.
    Plain values only: on SQLite a transaction held by this thread would hold the threads up."""
    from tests.support import Factories

    make = Factories(database.session)
    member = make.staff(Role.CASE_MANAGER, make.agency())
    person = SimpleNamespace(id=member.id, email=member.email)
    database.session.remove()
    opened = [app.test_client() for _ in range(browsers)]
    for browser in opened:
        assert password_step(browser, person).status_code == 303
    return person, opened


@pytest.mark.real_commits
def test_the_same_code_sent_from_eight_browsers_at_once_signs_in_one(app, database):
    person, browsers = at_the_code_step(app, database, 8)
    code = totp_now()
    results = []

    def send(browser):
        results.append(code_step(browser, code).status_code)

    threads = [threading.Thread(target=send, args=(b,)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [200] * 7 + [303]
    assert staff_sessions(database, person) == 1


def test_a_begun_second_step_ends_when_the_password_changes_or_someone_enrolled(
    app, make, agency_a, database
):
    member = make.staff(Role.CASE_MANAGER, agency_a)
    waiting = app.test_client()
    password_step(waiting, member)
    member.password_changed_at = member.created_at + timedelta(days=1)  # changed since
    database.session.commit()
    answer = waiting.form("/staff/sign-in/code", {"code": totp_now()}, token_from="/privacy")
    assert answer.status_code == 303 and answer.headers["Location"] == "/staff/sign-in"
    assert staff_sessions(database, member) == 0
    # Enrolment begun in one browser, finished in another: the first one's state is over.
    newcomer = make.staff(Role.CASE_MANAGER, agency_a, second_factor=False)
    first, second = app.test_client(), app.test_client()
    password_step(first, newcomer)
    password_step(second, newcomer)
    first_page = first.get("/staff/sign-in/set-up").get_data(as_text=True)
    second_page = second.get("/staff/sign-in/set-up").get_data(as_text=True)
    key = _setup_key(database, newcomer)  # the newest set-up: the second browser's
    assert _shown_key(second_page) == key and _shown_key(first_page) != key  # each its own
    setup_id = re.search(r'name="setup" type="hidden" value="([^"]+)"', second_page).group(1)
    done = second.form("/staff/sign-in/set-up", {"setup": setup_id, "code": pyotp.TOTP(key).now()})
    assert "Your recovery codes" in done.get_data(as_text=True)
    late = first.get("/staff/sign-in/set-up")
    assert late.status_code == 303 and late.headers["Location"] == "/staff/sign-in"


def _shown_key(page: str) -> str:
    return re.search(r'class="secret-key"[^>]*>([A-Z2-7 ]+)<', page).group(1).replace(" ", "")


def test_odd_codes_are_refused_without_an_error(app, anonymous, case_manager_user, database):
    password_step(anonymous, case_manager_user)
    for odd in ("١٢٣٤٥٦", "１２３４５６", "12 34 56 78", "\x00" * 6, "A" * 5000):
        answer = code_step(anonymous, odd)
        assert answer.status_code == 200, odd
    assert staff_sessions(database, case_manager_user) == 0


def test_a_refused_reset_uses_up_no_code(
    app, make, agency_a, agency_admin_user, frozen_clock, database
):
    member = make.staff(Role.CASE_MANAGER, agency_a)
    admin = signed_in(app, agency_admin_user)
    frozen_clock.advance(timedelta(seconds=30))
    path = f"/staff/team/{member.public_id}/reset-second-factor"
    code = totp_now()
    unchecked = admin.form(path, {"password": TEST_PASSWORD, "code": code})
    assert unchecked.status_code == 200 and "Check who they are first" in unchecked.get_data(
        as_text=True
    )
    # The code was not spent on the refused form: it still confirms the reset.
    done = admin.form(path, {"identity_checked": "y", "password": TEST_PASSWORD, "code": code})
    assert done.status_code == 303 and not factors.has_factor(member)


def test_a_set_up_sent_after_the_confirmation_ran_out_counts_no_failure(
    app, case_manager_user, frozen_clock, database
):
    browser = signed_in(app, case_manager_user)
    assert "Set up an authenticator app" in browser.get(
        "/staff/account/second-factor/app"
    ).get_data(as_text=True)
    frozen_clock.advance(timedelta(minutes=6))
    late = browser.form(
        "/staff/account/second-factor/app", {"setup": "x", "code": "123456"}, token_from="/privacy"
    )
    assert late.status_code == 200 and "Confirm it is you" in late.get_data(as_text=True)
    assert case_manager_user.failed_sign_ins == 0


@pytest.mark.real_commits
def test_wrong_codes_sent_at_once_are_each_counted(app, database):
    person, browsers = at_the_code_step(app, database, 4)
    threads = [threading.Thread(target=code_step, args=(b, "000000")) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert database.session.get(StaffUser, person.id).failed_sign_ins == 4  # none lost (R16)
