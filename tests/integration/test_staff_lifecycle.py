"""Agency administrators invite, re-role, deactivate and reactivate staff."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.domain.core import jobs, tokens
from portal.domain.core.roles import Role
from portal.domain.models import (
    AccountToken,
    AuditEvent,
    OutboxMessage,
    StaffNotification,
    StaffUser,
)
from tests.support import link_in, signed_in

NEW_PASSWORD = "quiet orange harbor seventeen"


def invite(admin, name="Riley Rivera", email="riley@agency.test", role="case_manager"):
    return admin.form("/staff/team/invite", {"display_name": name, "email": email, "role": role})


def link_in_outbox(database, email) -> str:
    message = database.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == email)
        .order_by(OutboxMessage.id.desc())
    ).first()
    return link_in(message)


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


@pytest.mark.requirement("R2", "R21")
def test_inviting_creates_a_passwordless_account_and_queues_the_email(
    agency_admin, agency_admin_user, database
):
    response = invite(agency_admin)
    assert response.status_code == 303
    member = database.session.scalar(
        select(StaffUser).where(StaffUser.email == "riley@agency.test")
    )
    assert member.password_hash is None and member.agency_id == agency_admin_user.agency_id
    assert member.role == Role.CASE_MANAGER
    message = database.session.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == "riley@agency.test")
    )
    assert message.template == "staff_invite"
    # The link's token is kept encrypted in the outbox and hashed in the token table.
    link = link_in_outbox(database, "riley@agency.test")
    assert link.startswith("https://portal.test/staff/set-password/")
    assert token_of(link) not in message.secret_params
    stored = database.session.scalar(
        select(AccountToken).where(AccountToken.account_id == member.id)
    )
    assert stored.token_hash == tokens.hash_token(token_of(link))


@pytest.mark.requirement("R5")
def test_invitation_links_use_the_configured_origin_not_the_host_header(agency_admin, database):
    cookie = agency_admin.get_cookie("__Host-portal").value
    agency_admin.set_cookie("__Host-portal", cookie, domain="evil.example")
    response = agency_admin.form(
        "/staff/team/invite",
        {"display_name": "Hal Host", "email": "hal@agency.test", "role": "case_manager"},
        base_url="https://evil.example",
        headers={"X-Forwarded-Host": "evil.example"},
    )
    assert response.status_code == 303
    assert link_in_outbox(database, "hal@agency.test").startswith("https://portal.test/")


@pytest.mark.requirement("R1")
def test_tokens_are_long_random_and_unrelated_to_the_account():
    seen = {tokens.new_token() for _ in range(10_000)}
    assert len(seen) == 10_000
    assert all(len(t) >= 43 for t in seen)


@pytest.mark.requirement("R3", "R4")
def test_the_set_password_link_works_once_and_a_get_consumes_nothing(app, agency_admin, database):
    invite(agency_admin)
    path = link_in_outbox(database, "riley@agency.test").replace("https://portal.test", "")
    newcomer = app.test_client()
    assert newcomer.get(path).status_code == 200
    assert newcomer.get(path).status_code == 200  # a mail scanner's prefetch uses nothing
    response = newcomer.form(path, {"password": NEW_PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/staff/sign-in"
    assert newcomer.get("/staff/").status_code == 302  # no automatic sign-in
    assert newcomer.get(path).status_code == 404  # used
    member = database.session.scalar(
        select(StaffUser).where(StaffUser.email == "riley@agency.test")
    )
    assert signed_in(app, member, NEW_PASSWORD).get("/staff/").status_code == 200


@pytest.mark.requirement("R3")
def test_the_link_expires_after_24_hours(app, frozen_clock, agency_admin, database):
    invite(agency_admin)
    path = link_in_outbox(database, "riley@agency.test").replace("https://portal.test", "")
    frozen_clock.advance(timedelta(hours=24, seconds=1))
    assert app.test_client().get(path).status_code == 404


@pytest.mark.requirement("R3")
def test_resending_revokes_the_earlier_link(app, agency_admin, database):
    invite(agency_admin)
    first = link_in_outbox(database, "riley@agency.test").replace("https://portal.test", "")
    member = database.session.scalar(
        select(StaffUser).where(StaffUser.email == "riley@agency.test")
    )
    page = f"/staff/team/{member.public_id}"
    agency_admin.form(f"{page}/resend", token_from=page)
    second = link_in_outbox(database, "riley@agency.test").replace("https://portal.test", "")
    assert first != second
    assert app.test_client().get(first).status_code == 404
    assert app.test_client().get(second).status_code == 200


@pytest.mark.parametrize(
    "password,reason",
    [
        ("fourteen chars", "at least 15 characters"),
        ("passwordpassword", "too common"),
        ("hmisportalhmisportal", "name, email"),
        ("rileyrivera2026riley", "name, email"),
    ],
)
@pytest.mark.requirement("R13", "R14")
def test_weak_passwords_are_refused_with_a_reason(app, agency_admin, database, password, reason):
    invite(agency_admin)
    path = link_in_outbox(database, "riley@agency.test").replace("https://portal.test", "")
    newcomer = app.test_client()
    page = newcomer.form(path, {"password": password})
    assert page.status_code == 200 and reason in page.get_data(as_text=True)
    assert newcomer.get(path).status_code == 200  # the link still works after a refusal


def test_a_duplicate_email_is_refused_and_nothing_is_written(
    agency_admin, case_manager_user, database
):
    before = database.session.query(StaffUser).count()
    page = invite(agency_admin, email=case_manager_user.email.upper())
    assert "already uses this email" in page.get_data(as_text=True)
    assert database.session.query(StaffUser).count() == before
    assert database.session.query(OutboxMessage).count() == 0


def test_inviting_a_system_administrator_is_not_a_choice(agency_admin, database):
    page = invite(agency_admin, role="system_admin")
    assert "Choose a role" in page.get_data(as_text=True)
    assert database.session.query(StaffUser).filter_by(email="riley@agency.test").count() == 0


def test_changing_a_role_is_audited(agency_admin, case_manager_user, database):
    page = f"/staff/team/{case_manager_user.public_id}"
    agency_admin.form(f"{page}/role", {"role": "agency_admin"}, token_from=page)
    database.session.refresh(case_manager_user)
    assert case_manager_user.role == Role.AGENCY_ADMIN
    event = database.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "staff.role_changed")
    )
    assert event.details == {"from": "case_manager", "to": "agency_admin"}


def test_someone_on_a_care_team_is_not_set_back_to_no_clients_yet(
    agency_admin, case_manager_user, make, agency_a, database
):
    from portal.domain.models import CareTeamMember

    page = f"/staff/team/{case_manager_user.public_id}"
    record = make.client(agency_a)
    record.care_team.append(CareTeamMember(staff=case_manager_user, is_case_manager=True))
    database.session.commit()
    refused = agency_admin.form(f"{page}/role", {"role": "no_access_yet"}, token_from=page)
    assert "on the care team of 1 client." in refused.get_data(as_text=True)
    database.session.refresh(case_manager_user)
    assert case_manager_user.role == Role.CASE_MANAGER
    database.session.query(CareTeamMember).filter_by(staff_id=case_manager_user.id).delete()
    database.session.commit()
    agency_admin.form(f"{page}/role", {"role": "no_access_yet"}, token_from=page)
    database.session.refresh(case_manager_user)
    assert case_manager_user.role == Role.NO_ACCESS_YET


def test_administrators_cannot_change_their_own_role(agency_admin, agency_admin_user):
    page = f"/staff/team/{agency_admin_user.public_id}"
    response = agency_admin.form(f"{page}/role", {"role": "case_manager"}, token_from=page)
    assert "cannot change your own role" in response.get_data(as_text=True)


@pytest.mark.requirement("R57")
def test_deactivation_ends_every_session_at_once_and_revokes_links(
    app, agency_admin, agency_admin_user, case_manager_user, make, agency_a, database
):
    open_session = signed_in(app, case_manager_user)
    successor = make.staff(Role.CASE_MANAGER, agency_a, name="Sky Successor")
    page = f"/staff/team/{case_manager_user.public_id}/deactivate"
    assert agency_admin.get(page).status_code == 200  # a confirmation page comes first
    response = agency_admin.form(
        page, {"reason": "security", "successor": str(successor.public_id)}
    )
    assert response.status_code == 303
    follow = open_session.get("/staff/")
    assert follow.status_code == 302 and "/staff/sign-in" in follow.headers["Location"]
    database.session.refresh(case_manager_user)
    assert not case_manager_user.is_active and case_manager_user.deactivation_reason == "security"
    event = database.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "staff.deactivated")
    )
    assert (
        event.actor_id == str(agency_admin_user.public_id) and event.details["sessions_ended"] == 1
    )
    note = database.session.scalar(
        select(StaffNotification).where(StaffNotification.staff_id == successor.id)
    )
    assert note.kind == "work_handed_over"
    # And they cannot sign in again.
    again = app.test_client().form(
        "/staff/sign-in",
        {"email": case_manager_user.email, "password": "tidal violet compass morning"},
    )
    assert again.status_code == 200


def test_deactivation_needs_a_reason(agency_admin, case_manager_user, database):
    page = f"/staff/team/{case_manager_user.public_id}/deactivate"
    response = agency_admin.form(page, {"reason": ""})
    assert "Choose a reason" in response.get_data(as_text=True)
    database.session.refresh(case_manager_user)
    assert case_manager_user.is_active


def test_deactivation_hooks_hand_open_work_to_the_successor(
    agency_admin, agency_admin_user, case_manager_user, monkeypatch
):
    from portal.domain.accounts import staff

    handed = []
    monkeypatch.setattr(
        staff,
        "DEACTIVATION_HOOKS",
        [lambda gone, successor: handed.append((gone.id, successor.id))],
    )
    page = f"/staff/team/{case_manager_user.public_id}/deactivate"
    agency_admin.form(
        page, {"reason": "left_agency", "successor": str(agency_admin_user.public_id)}
    )
    assert handed == [(case_manager_user.id, agency_admin_user.id)]


@pytest.mark.requirement("R21")
def test_reactivation_sends_a_fresh_link_and_the_old_password_no_longer_works(
    app, agency_admin, agency_admin_user, case_manager_user, database
):
    page = f"/staff/team/{case_manager_user.public_id}"
    agency_admin.form(
        f"{page}/deactivate",
        {"reason": "left_agency", "successor": str(agency_admin_user.public_id)},
    )
    agency_admin.form(f"{page}/reactivate", token_from=page)
    database.session.refresh(case_manager_user)
    assert case_manager_user.is_active and case_manager_user.password_hash is None
    assert link_in_outbox(database, case_manager_user.email)


def test_system_administrators_create_agencies_with_a_first_administrator(system_admin, database):
    from portal.domain.models import Agency

    response = system_admin.form(
        "/staff/agencies/new",
        {
            "name": "Eastside Clinic",
            "timezone": "America/Denver",
            "admin_name": "Ed East",
            "admin_email": "ed@eastside.test",
        },
    )
    assert response.status_code == 303
    agency = database.session.scalar(select(Agency).where(Agency.name == "Eastside Clinic"))
    admin = database.session.scalar(select(StaffUser).where(StaffUser.email == "ed@eastside.test"))
    assert (
        agency.timezone == "America/Denver"
        and admin.agency_id == agency.id
        and admin.role == Role.AGENCY_ADMIN
    )


def test_a_refused_agency_leaves_nothing_behind(system_admin, case_manager_user, database):
    from portal.domain.models import Agency

    count = database.session.query(Agency).count()
    response = system_admin.form(
        "/staff/agencies/new",
        {
            "name": "Dup Admin Agency",
            "timezone": "America/Denver",
            "admin_name": "Ed",
            "admin_email": case_manager_user.email,
        },
    )
    assert "already uses this email" in response.get_data(as_text=True)
    assert database.session.query(Agency).count() == count


def test_the_set_password_email_is_rendered_in_the_recipients_language(app, agency_admin, database):
    invite(agency_admin)
    member = database.session.scalar(
        select(StaffUser).where(StaffUser.email == "riley@agency.test")
    )
    message = database.session.scalar(
        select(OutboxMessage).where(OutboxMessage.to_address == member.email)
    )
    message.language = "es"
    database.session.commit()
    jobs.run_pending()
    sent = (
        app.extensions["portal.settings"].instance_path / "mail" / f"{message.public_id.hex}.eml"
    ).read_text()
    assert "Subject: =?utf-8?" in sent or "contrase" in sent.lower()
    assert re.search(r"https://portal\.test/staff/set-password/\S+", sent)
