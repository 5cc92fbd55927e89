from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.domain.accounts import passwords
from portal.domain.models import AuditEvent, UserSession
from tests.support import TEST_PASSWORD, second_step

UNIFORM = "The email or password is not right"


def sign_in(client, email, password):
    """The password, then (when it is right) the app's code."""
    response = client.form("/staff/sign-in", {"email": email, "password": password})
    return second_step(client, None, response)


@pytest.mark.requirement("R22")
def test_staff_sign_in_lands_on_home_with_a_new_session_id(app, anonymous, case_manager_user):
    anonymous.get("/staff/sign-in")
    before = anonymous.get_cookie("portal_session") or anonymous.get_cookie("__Host-portal")
    response = sign_in(anonymous, case_manager_user.email, TEST_PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"
    after = anonymous.get_cookie("__Host-portal")
    assert after is not None and (before is None or before.value != after.value)
    assert anonymous.get("/staff/").status_code == 200


@pytest.mark.requirement("R17")
def test_unknown_email_and_wrong_password_get_the_same_answer(
    anonymous, case_manager_user, database
):
    start = passwords.DUMMY_VERIFICATIONS["count"]
    unknown = sign_in(anonymous, "nobody@staff.test", TEST_PASSWORD)
    wrong = sign_in(anonymous, case_manager_user.email, "not the right password at all")
    assert unknown.status_code == wrong.status_code == 200
    assert UNIFORM in unknown.get_data(as_text=True)
    assert UNIFORM in wrong.get_data(as_text=True)
    assert passwords.DUMMY_VERIFICATIONS["count"] == start + 1, (
        "unknown accounts must run a dummy hash"
    )


@pytest.mark.requirement("R16")
def test_five_failures_bring_a_growing_delay_and_a_success_resets_the_counter(
    anonymous, case_manager_user, frozen_clock, database
):
    for _ in range(5):
        sign_in(anonymous, case_manager_user.email, "wrong wrong wrong wrong")
    assert case_manager_user.failed_sign_ins == 5
    first_wait = case_manager_user.throttled_until - frozen_clock.now()
    assert first_wait == timedelta(seconds=30)
    # While throttled even the right password is refused, with the same message.
    refused = sign_in(anonymous, case_manager_user.email, TEST_PASSWORD)
    assert UNIFORM in refused.get_data(as_text=True)
    frozen_clock.advance(timedelta(seconds=31))
    sign_in(anonymous, case_manager_user.email, "wrong again wrong again")
    assert case_manager_user.throttled_until - frozen_clock.now() == timedelta(seconds=60)
    frozen_clock.advance(timedelta(minutes=2))
    assert sign_in(anonymous, case_manager_user.email, TEST_PASSWORD).status_code == 303
    assert case_manager_user.failed_sign_ins == 0


@pytest.mark.requirement("R16", "R57")
def test_the_hundredth_failure_suspends_the_account(
    anonymous, case_manager_user, frozen_clock, database
):
    case_manager_user.failed_sign_ins = 99
    database.session.commit()
    sign_in(anonymous, case_manager_user.email, "wrong wrong wrong wrong")
    assert case_manager_user.suspended_at is not None
    frozen_clock.advance(timedelta(hours=2))
    refused = sign_in(anonymous, case_manager_user.email, TEST_PASSWORD)
    assert refused.status_code == 200 and UNIFORM in refused.get_data(as_text=True)
    actions = database.session.scalars(select(AuditEvent.action)).all()
    assert "account.suspended" in actions


@pytest.mark.requirement("R25")
def test_sign_out_is_a_post_that_ends_the_server_session(app, case_manager, database):
    cookie = case_manager.get_cookie("__Host-portal").value
    response = case_manager.form("/staff/sign-out", token_from="/staff/")
    assert response.status_code == 303
    assert "cookies" in response.headers["Clear-Site-Data"]
    replay = app.test_client()
    replay.set_cookie("__Host-portal", cookie)
    assert replay.get("/staff/").status_code == 302
    assert database.session.scalars(select(UserSession.end_reason)).all().count("signed_out") == 1


@pytest.mark.requirement("R25", "R41")
def test_sign_out_by_get_is_not_allowed(case_manager):
    assert case_manager.get("/staff/sign-out").status_code == 405
