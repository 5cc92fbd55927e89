"""Staff password reset by email and password change (R18), on the shared recovery service."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.domain.models import AuditEvent, OutboxMessage
from tests.support import TEST_PASSWORD, link_in, signed_in

NEW = "lantern meadow quietly ninety"


def reset_link(database, email) -> str:
    message = database.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == email, OutboxMessage.template == "password_reset")
        .order_by(OutboxMessage.id.desc())
    ).first()
    return link_in(message).replace("https://portal.test", "")


def ask(client, email):
    return client.form("/staff/forgot-password", {"email": email})


@pytest.mark.requirement("R17", "R18")
def test_known_and_unknown_addresses_get_the_same_answer(anonymous, case_manager_user, database):
    known = ask(anonymous, case_manager_user.email)
    unknown = ask(anonymous, "nobody@staff.test")
    assert known.status_code == unknown.status_code == 200
    strip = lambda r: r.get_data(as_text=True).split("<main", 1)[1].split("</main>", 1)[0]  # noqa: E731
    assert "Check your email" in strip(known) and strip(known) == strip(unknown)
    templates = database.session.scalars(select(OutboxMessage.to_address)).all()
    assert templates == [case_manager_user.email]


@pytest.mark.requirement("R18")
def test_a_reset_link_sets_a_new_password_once_ends_sessions_and_signs_nobody_in(
    app, anonymous, case_manager_user, database
):
    open_session = signed_in(app, case_manager_user)
    ask(anonymous, case_manager_user.email)
    path = reset_link(database, case_manager_user.email)
    assert anonymous.get(path).status_code == 200 and anonymous.get(path).status_code == 200
    done = anonymous.form(path, {"password": NEW})
    assert done.status_code == 303 and done.headers["Location"] == "/staff/sign-in"
    assert anonymous.get("/staff/").status_code == 302  # not signed in by the reset
    assert open_session.get("/staff/").status_code == 302  # every old session ended
    assert anonymous.get(path).status_code == 404  # used
    assert signed_in(app, case_manager_user, NEW).get("/staff/").status_code == 200
    notices = database.session.scalars(
        select(OutboxMessage.template).where(OutboxMessage.to_address == case_manager_user.email)
    ).all()
    assert "password_changed" in notices


@pytest.mark.requirement("R16")
def test_a_reset_lifts_a_suspension(app, anonymous, case_manager_user, frozen_clock, database):
    case_manager_user.failed_sign_ins = 100
    case_manager_user.suspended_at = frozen_clock.now()
    database.session.commit()
    ask(anonymous, case_manager_user.email)
    anonymous.form(reset_link(database, case_manager_user.email), {"password": NEW})
    assert signed_in(app, case_manager_user, NEW).get("/staff/").status_code == 200


@pytest.mark.requirement("R18")
def test_reset_links_expire_after_24_hours_and_die_when_the_password_changes(
    app, anonymous, case_manager, case_manager_user, frozen_clock, database
):
    ask(anonymous, case_manager_user.email)
    first = reset_link(database, case_manager_user.email)
    frozen_clock.advance(timedelta(hours=24, seconds=1))
    assert anonymous.get(first).status_code == 404
    ask(anonymous, case_manager_user.email)
    second = reset_link(database, case_manager_user.email)
    me = signed_in(app, case_manager_user)
    me.form("/staff/account", {"current_password": TEST_PASSWORD, "new_password": NEW})
    assert anonymous.get(second).status_code == 404


@pytest.mark.requirement("R18", "R57")
def test_at_most_three_reset_emails_per_account_per_hour(anonymous, case_manager_user, database):
    for _ in range(5):
        ask(anonymous, case_manager_user.email)
    sent = database.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "password_reset")
    ).all()
    assert len(sent) == 3
    assert database.session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "password_reset.throttled")
    )


def test_a_newer_reset_link_revokes_the_older(anonymous, case_manager_user, database):
    ask(anonymous, case_manager_user.email)
    first = reset_link(database, case_manager_user.email)
    ask(anonymous, case_manager_user.email)
    assert anonymous.get(first).status_code == 404


@pytest.mark.requirement("R18", "R27")
def test_changing_the_password_needs_the_current_one(case_manager, case_manager_user, database):
    page = case_manager.form(
        "/staff/account", {"current_password": "not it at all", "new_password": NEW}
    )
    assert "current password is not right" in page.get_data(as_text=True)
    old_hash = case_manager_user.password_hash
    database.session.refresh(case_manager_user)
    assert case_manager_user.password_hash == old_hash


@pytest.mark.requirement("R22")
def test_changing_the_password_ends_other_sessions_and_gives_this_one_a_new_id(
    app, case_manager_user, database
):
    laptop = signed_in(app, case_manager_user)
    phone = signed_in(app, case_manager_user)
    before = phone.get_cookie("__Host-portal").value
    response = phone.form(
        "/staff/account", {"current_password": TEST_PASSWORD, "new_password": NEW}
    )
    assert response.status_code == 303
    assert phone.get("/staff/").status_code == 200
    assert phone.get_cookie("__Host-portal").value != before
    assert laptop.get("/staff/").status_code == 302


def test_a_weak_new_password_is_refused_with_the_reason(case_manager):
    page = case_manager.form(
        "/staff/account", {"current_password": TEST_PASSWORD, "new_password": "short one"}
    )
    assert "at least 15 characters" in page.get_data(as_text=True)


def test_the_keep_alive_post_keeps_a_session_from_idling_out(case_manager, frozen_clock):
    token = case_manager.csrf_token("/staff/")
    for _ in range(3):
        frozen_clock.advance(timedelta(minutes=25))
        assert (
            case_manager.post("/session/keep-alive", data={"csrf_token": token}).status_code == 204
        )
    assert case_manager.get("/staff/").status_code == 200


def test_signed_in_pages_carry_the_idle_timeout_for_the_warning(
    case_manager, client_user, anonymous
):
    assert 'data-idle-seconds="1800"' in case_manager.get("/staff/").get_data(as_text=True)
    assert 'data-idle-seconds="900"' in client_user.get("/home").get_data(as_text=True)
    assert "data-idle-seconds" not in anonymous.get("/").get_data(as_text=True)
