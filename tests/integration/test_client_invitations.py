"""Staff verify identity, then invite (issue 4, staff side)."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.domain.accounts import invitations
from portal.domain.core import crypto, tokens
from portal.domain.core.roles import Role
from portal.domain.models import (
    ClientAccount,
    ClientInvitation,
    Enrollment,
    IdentityCheck,
    Organization,
    OutboxMessage,
    Project,
)
from tests.support import link_in, signed_in


@pytest.fixture
def client(make, agency_a, frozen_clock):
    return make.client(
        agency_a, email="robin@example.org", dob=date(1990, 6, 1), preferred_language="es"
    )


def check_identity(browser, client, facts=("dob", "photo"), **extra):
    data = {"name_confirmed": "y", "facts": list(facts), **extra}
    return browser.form(f"/staff/clients/{client.public_id}/identity-check", data)


def invite(browser, client, delivery="email"):
    return browser.form(f"/staff/clients/{client.public_id}/invite", {"delivery": delivery})


def test_an_identity_check_needs_the_name_and_two_facts(case_manager, client, database):
    assert "at least two" in check_identity(case_manager, client, facts=["dob"]).get_data(
        as_text=True
    )
    no_name = case_manager.form(
        f"/staff/clients/{client.public_id}/identity-check", {"facts": ["dob", "photo"]}
    )
    assert "full name" in no_name.get_data(as_text=True)
    other = check_identity(case_manager, client, facts=["dob", "other"])
    assert "Say what other information" in other.get_data(as_text=True)
    assert (
        check_identity(
            case_manager, client, facts=["dob", "other"], note="library card"
        ).status_code
        == 303
    )
    check = database.session.scalar(select(IdentityCheck))
    assert check.facts == {"facts": ["dob", "other"]} and check.note == "library card"


def test_no_invitation_without_a_recent_identity_check(case_manager, client, frozen_clock):
    page = case_manager.get(f"/staff/clients/{client.public_id}/invite").get_data(as_text=True)
    assert "Record an identity check" in page
    check_identity(case_manager, client)
    frozen_clock.advance(timedelta(days=8))
    assert "Record an identity check" in signed_in_again(case_manager, client)


def signed_in_again(browser, client):
    from tests.support import signed_in as sign

    return (
        sign(browser.application, browser.account)
        .get(f"/staff/clients/{client.public_id}/invite")
        .get_data(as_text=True)
    )


@pytest.mark.parametrize("quality", [2, 8, 9, 99])
@pytest.mark.requirement("R8")
def test_only_a_full_date_of_birth_allows_an_invitation(case_manager, client, database, quality):
    client.dob_quality = quality
    database.session.commit()
    check_identity(case_manager, client)
    assert "full date of birth" in case_manager.get(
        f"/staff/clients/{client.public_id}/invite"
    ).get_data(as_text=True)
    assert invite(case_manager, client).status_code == 200
    assert database.session.scalar(select(ClientInvitation)) is None


@pytest.mark.requirement("R9")
def test_eighteen_today_in_the_agency_time_zone_is_old_enough_and_a_day_less_is_not(
    case_manager, client, agency_a, database
):
    today = agency_a.today()
    client.dob = today.replace(year=today.year - 18) + timedelta(days=1)
    database.session.commit()
    check_identity(case_manager, client)
    assert "Only adults" in case_manager.get(f"/staff/clients/{client.public_id}/invite").get_data(
        as_text=True
    )
    client.dob = today.replace(year=today.year - 18)
    database.session.commit()
    assert invite(case_manager, client).status_code == 303


@pytest.mark.requirement("R9")
def test_born_on_29_february_turns_a_year_older_on_1_march_in_common_years():
    assert invitations.age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert invitations.age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18
    assert invitations.age_on(date(2008, 2, 29), date(2028, 2, 29)) == 20


def test_no_invitation_without_an_email_or_with_an_email_another_account_uses(
    case_manager, client, make, agency_a, database
):
    check_identity(case_manager, client)
    other = make.client_account(agency_a)
    other.email = "robin@example.org"
    database.session.commit()
    assert "already uses this email" in case_manager.get(
        f"/staff/clients/{client.public_id}/invite"
    ).get_data(as_text=True)
    client.email = None
    database.session.commit()
    assert "email address to the record" in case_manager.get(
        f"/staff/clients/{client.public_id}/invite"
    ).get_data(as_text=True)


def test_no_invitation_while_a_deactivated_account_awaits_reinstatement(
    case_manager, client, make, agency_a, database
):
    account = make.client_account(agency_a)
    account.client_id, account.is_active = client.id, False
    database.session.commit()
    check_identity(case_manager, client)
    assert "reinstate" in case_manager.get(f"/staff/clients/{client.public_id}/invite").get_data(
        as_text=True
    )


@pytest.mark.requirement("R65")
def test_clients_served_only_by_victim_service_providers_are_never_invited(
    case_manager, client, agency_a, database
):
    org = Organization(
        hud_organization_id="VSP1",
        name="Safe House",
        victim_service_provider=True,
        agency_id=agency_a.id,
    )
    project = Project(hud_project_id="VSPP", organization=org, name="Safe House program")
    database.session.add(
        Enrollment(
            hud_enrollment_id="VSPE", client=client, project=project, entry_date=date(2025, 1, 1)
        )
    )
    database.session.commit()
    check_identity(case_manager, client)
    assert "victim service providers" in case_manager.get(
        f"/staff/clients/{client.public_id}/invite"
    ).get_data(as_text=True)


@pytest.mark.requirement("R1", "R2", "R3", "R63")
def test_an_emailed_invitation_stores_only_a_hash_and_mails_the_first_name_and_a_link(
    case_manager, client, database
):
    check_identity(case_manager, client)
    assert invite(case_manager, client).status_code == 303
    invitation = database.session.scalar(select(ClientInvitation))
    message = database.session.scalar(
        select(OutboxMessage).where(OutboxMessage.template == "client_invitation")
    )
    link = link_in(message)
    raw = link.rsplit("/", 1)[1]
    assert link.startswith("https://portal.test/invitation/") and len(raw) >= 43
    assert invitation.token_hash == tokens.hash_token(raw) and invitation.code_hmac is None
    assert message.language == "es" and message.params["name"] == client.first_name
    assert set(message.params) == {"name", "hours"}  # no PII beyond the first name
    assert invitation.expires_at - invitation.created_at == timedelta(hours=72)


@pytest.mark.requirement("R2")
def test_a_printed_invitation_shows_a_grouped_code_once_and_stores_an_hmac(
    case_manager, client, database
):
    check_identity(case_manager, client)
    sheet = invite(case_manager, client, delivery="print")
    page = sheet.get_data(as_text=True)
    assert (
        sheet.status_code == 200
        and '<html lang="es">' in page
        and "data:image/svg+xml;base64," in page
    )
    import re

    code = re.search(r'class="invite-code">([A-Z0-9-]+)<', page).group(1)
    assert re.fullmatch(r"[A-HJKMNP-Z2-9]{5}-[A-HJKMNP-Z2-9]{5}", code)
    invitation = database.session.scalar(select(ClientInvitation))
    assert invitation.code_hmac == crypto.keyed_hash(
        "invite_code", invitations.normalize_code(code)
    )
    assert code.replace("-", "") not in str(invitation.code_hmac)
    assert invitation.code_expires_at - invitation.created_at == timedelta(days=7)


@pytest.mark.requirement("R3")
def test_a_new_invitation_revokes_the_earlier_one_and_cancel_revokes_it(
    case_manager, client, database
):
    check_identity(case_manager, client)
    invite(case_manager, client)
    invite(case_manager, client)
    statuses = database.session.scalars(
        select(ClientInvitation.status).order_by(ClientInvitation.id)
    ).all()
    assert statuses == ["revoked", "pending"]
    case_manager.form(
        f"/staff/clients/{client.public_id}/invite/cancel",
        token_from=f"/staff/clients/{client.public_id}/invite",
    )
    assert database.session.scalars(
        select(ClientInvitation.status).order_by(ClientInvitation.id)
    ).all() == ["revoked", "cancelled"]


@pytest.mark.requirement("R12")
def test_only_the_owning_agency_invites(app, client, make, agency_b, database):
    other = signed_in(app, make.staff(Role.CASE_MANAGER, agency_b))
    assert other.get(f"/staff/clients/{client.public_id}/invite").status_code == 404
    assert other.get(f"/staff/clients/{client.public_id}/identity-check").status_code == 404


@pytest.mark.requirement("R12")
def test_the_twenty_first_invitation_in_an_hour_is_refused(case_manager, client):
    check_identity(case_manager, client)
    codes = [invite(case_manager, client).status_code for _ in range(21)]
    assert codes[:20] == [303] * 20 and codes[20] == 429


def test_the_portal_status_follows_the_account(case_manager, client, make, agency_a, database):
    assert invitations.portal_status(client).code == "not_connected"
    check_identity(case_manager, client)
    invite(case_manager, client)
    assert invitations.portal_status(client).code == "invite_pending"
    account = make.client_account(agency_a)
    account.client_id = client.id
    database.session.commit()
    assert invitations.portal_status(client).code == "connected"
    account.is_active = False
    database.session.commit()
    assert invitations.portal_status(client).code == "deactivated"
    assert isinstance(database.session.get(ClientAccount, account.id), ClientAccount)


def test_the_record_page_shows_the_portal_account_and_the_way_to_invite(case_manager, client):
    page = case_manager.get(f"/staff/clients/{client.public_id}").get_data(as_text=True)
    assert "Not connected" in page and f"/staff/clients/{client.public_id}/invite" in page
    check_identity(case_manager, client)
    invite(case_manager, client)
    assert "Invitation pending" in case_manager.get(f"/staff/clients/{client.public_id}").get_data(
        as_text=True
    )
