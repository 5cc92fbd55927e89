"""A client's account after onboarding (issue 4): sign-in, forgot password, printed reset
codes, sessions, privacy updates, deactivation by staff and by the client, reinstatement."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.domain.accounts.onboarding import PRIVACY_VERSION
from portal.domain.core.roles import Role
from portal.domain.models import (
    AccountToken,
    AuditEvent,
    ClientAccount,
    ClientInvitation,
    OutboxMessage,
    StaffNotification,
    UserSession,
)
from tests.support import TEST_PASSWORD, link_in, signed_in

NEW = "lantern meadow quietly ninety"
CODE = re.compile(r'class="invite-code">([A-Z0-9]{5}-[A-Z0-9]{5})<')


@pytest.fixture
def account(make, agency_a, case_manager_user, database):
    """A connected client whose care team is the case manager of agency A."""
    from portal.domain.models import CareTeamMember

    connected = make.client_account(agency_a)
    record = connected_client(database, connected)
    record.care_team.append(CareTeamMember(staff=case_manager_user, is_case_manager=True))
    database.session.commit()
    return connected


def connected_client(database, account):
    from portal.domain.models import Client

    return database.session.get(Client, account.client_id)


def reloaded(database, account) -> ClientAccount:
    database.session.expire_all()
    return database.session.get(ClientAccount, account.id)


def main_of(response) -> str:
    """The page's main content, without its CSRF token (signed with the current second)."""
    main = response.get_data(as_text=True).split("<main", 1)[1].split("</main>", 1)[0]
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token"', main)


def outbox(database, address, template):
    return database.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.to_address == address, OutboxMessage.template == template)
        .order_by(OutboxMessage.id)
    ).all()


def reset_path(database, address) -> str:
    message = outbox(database, address, "password_reset")[-1]
    return link_in(message).replace("https://portal.test", "")


def check_identity(browser, client, then=""):
    query = f"?then={then}" if then else ""
    return browser.form(
        f"/staff/clients/{client.public_id}/identity-check{query}",
        {"name_confirmed": "y", "facts": ["dob", "photo"]},
    )


def printed_code(response) -> str:
    match = CODE.search(response.get_data(as_text=True))
    assert match, "no code on the printed sheet"
    return match.group(1)


def actions(database, action):
    return database.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


# --- sign-in ------------------------------------------------------------------------------


@pytest.mark.requirement("R17", "R57")
def test_unknown_accounts_and_wrong_passwords_get_the_same_answer(anonymous, account, database):
    unknown = anonymous.form("/sign-in", {"email": "nobody@client.test", "password": NEW})
    wrong = anonymous.form("/sign-in", {"email": account.email, "password": NEW})
    assert unknown.status_code == wrong.status_code == 200
    assert main_of(unknown).replace("nobody@client.test", account.email) == main_of(wrong)
    assert "email or password is not right" in main_of(wrong)
    assert len(actions(database, "sign_in.failed")) == 2


@pytest.mark.requirement("R16")
def test_five_failures_start_a_growing_delay_and_a_hundred_suspend(
    app, anonymous, account, frozen_clock, database
):
    for _ in range(5):
        anonymous.form("/sign-in", {"email": account.email, "password": NEW})
    refused = anonymous.form("/sign-in", {"email": account.email, "password": TEST_PASSWORD})
    assert refused.status_code == 200  # the right password waits out the delay
    frozen_clock.advance(timedelta(seconds=31))
    assert signed_in(app, account).get("/home").status_code == 200
    account = reloaded(database, account)
    account.failed_sign_ins = 99
    database.session.commit()
    anonymous.form("/sign-in", {"email": account.email, "password": NEW})
    assert reloaded(database, account).suspended_at is not None
    frozen_clock.advance(timedelta(hours=2))  # past any delay: suspension is not a delay
    right = anonymous.form("/sign-in", {"email": account.email, "password": TEST_PASSWORD})
    assert right.status_code == 200 and "not right" in right.get_data(as_text=True)


# --- forgot password ----------------------------------------------------------------------


def ask_reset(browser, email):
    return browser.form("/forgot-password", {"email": email})


@pytest.mark.requirement("R17", "R18")
def test_forgot_password_answers_the_same_for_every_address(anonymous, account, database):
    known = ask_reset(anonymous, account.email)
    unknown = ask_reset(anonymous, "nobody@client.test")
    assert known.status_code == unknown.status_code == 200
    assert main_of(known) == main_of(unknown) and "Check your email" in main_of(known)
    assert len(outbox(database, account.email, "password_reset")) == 1
    assert outbox(database, "nobody@client.test", "password_reset") == []


@pytest.mark.parametrize("path", ["/forgot-password", "/staff/forgot-password"])
@pytest.mark.parametrize(
    ("typed", "says"),
    [("", "Enter an email address."), ("robin at home", "like name@example.org")],
)
def test_forgot_password_with_no_address_says_so_instead_of_check_your_email(
    anonymous, database, path, typed, says
):
    """Issue 17: an empty form answered "Check your email" and sent the person off to wait.
    An address that cannot be anyone's is refused in words; that tells nothing about accounts."""
    answer = anonymous.form(path, {"email": typed})
    assert answer.status_code == 200
    assert says in main_of(answer) and "Check your email" not in main_of(answer)
    assert database.session.scalar(select(func.count(OutboxMessage.id))) == 0


@pytest.mark.requirement("R18")
def test_a_reset_link_works_once_after_a_confirm_ends_sessions_and_signs_nobody_in(
    app, anonymous, account, database
):
    other_phone = signed_in(app, account)
    ask_reset(anonymous, account.email)
    path = reset_path(database, account.email)
    assert path.startswith("/reset-password/")
    assert anonymous.get(path).status_code == 200 and anonymous.get(path).status_code == 200
    weak = anonymous.form(path, {"password": "Robin"})
    assert "at least 15 characters" in weak.get_data(as_text=True)
    done = anonymous.form(path, {"password": NEW})
    assert done.status_code == 303 and done.headers["Location"] == "/sign-in"
    assert anonymous.get("/home").status_code == 302  # no automatic sign-in
    assert other_phone.get("/home").status_code == 302  # every session ended
    assert anonymous.get(path).status_code == 404  # single use
    assert outbox(database, account.email, "password_changed")
    assert signed_in(app, account, NEW).get("/home").status_code == 200


@pytest.mark.requirement("R18")
def test_a_reset_link_expires_after_24_hours_and_dies_with_a_password_change(
    app, anonymous, account, frozen_clock, database
):
    ask_reset(anonymous, account.email)
    first = reset_path(database, account.email)
    frozen_clock.advance(timedelta(hours=24, seconds=1))
    assert anonymous.get(first).status_code == 404
    ask_reset(anonymous, account.email)
    second = reset_path(database, account.email)
    me = signed_in(app, account)
    changed = me.form("/account", {"current_password": TEST_PASSWORD, "new_password": NEW})
    assert changed.status_code == 303
    assert anonymous.get(second).status_code == 404


@pytest.mark.requirement("R14")
def test_a_reset_password_may_not_be_built_from_the_record(anonymous, account, database):
    ask_reset(anonymous, account.email)
    path = reset_path(database, account.email)
    record = connected_client(database, account)
    built = anonymous.form(path, {"password": f"{record.first_name} {record.last_name} 19800517"})
    assert built.status_code == 200
    assert "Do not build your password from your name" in built.get_data(as_text=True)
    assert reloaded(database, account).password_changed_at is None


# --- printed reset codes ------------------------------------------------------------------


@pytest.mark.requirement("R57")
def test_a_reset_code_needs_a_fresh_identity_check(case_manager, account, frozen_clock, database):
    record = connected_client(database, account)
    page = f"/staff/clients/{record.public_id}/portal/reset-code"
    shown = case_manager.get(page).get_data(as_text=True)
    assert "then=reset-code" in shown and "Print a reset code" not in shown
    refused = case_manager.form(
        page, token_from=f"/staff/clients/{record.public_id}/identity-check"
    )
    assert "identity again first" in refused.get_data(as_text=True)
    assert CODE.search(refused.get_data(as_text=True)) is None
    check_identity(case_manager, record)
    frozen_clock.advance(timedelta(minutes=20))
    assert case_manager.get("/staff/").status_code == 200  # still signed in (idle 30 minutes)
    frozen_clock.advance(timedelta(minutes=11))
    late = case_manager.form(page, token_from=f"/staff/clients/{record.public_id}/identity-check")
    assert CODE.search(late.get_data(as_text=True)) is None
    went = check_identity(case_manager, record, then="reset-code")
    assert went.headers["Location"] == page
    assert printed_code(case_manager.form(page))
    assert len(actions(database, "password_reset.code_issued")) == 1


def test_a_reset_code_sets_a_password_once_and_a_new_code_cancels_the_old(
    app, anonymous, case_manager, account, database
):
    record = connected_client(database, account)
    other_phone = signed_in(app, account)
    check_identity(case_manager, record)
    page = f"/staff/clients/{record.public_id}/portal/reset-code"
    old_code = printed_code(case_manager.form(page))
    code = printed_code(case_manager.form(page))
    assert old_code != code
    stale = anonymous.form("/reset-code", {"code": old_code, "password": NEW})
    assert "does not work" in stale.get_data(as_text=True)
    wrong = anonymous.form("/reset-code", {"code": "AAAAA-BBBBB", "password": NEW})
    assert main_of(wrong).replace("AAAAA-BBBBB", old_code) == main_of(stale)
    weak = anonymous.form("/reset-code", {"code": code.lower(), "password": "short"})
    assert "at least 15 characters" in weak.get_data(as_text=True)
    assert code.lower() in weak.get_data(as_text=True)  # what was typed stays
    done = anonymous.form("/reset-code", {"code": code.lower().replace("-", " "), "password": NEW})
    assert done.status_code == 303 and done.headers["Location"] == "/sign-in"
    assert other_phone.get("/home").status_code == 302
    again = anonymous.form("/reset-code", {"code": code, "password": "another long passphrase"})
    assert "does not work" in again.get_data(as_text=True)
    assert signed_in(app, account, NEW).get("/home").status_code == 200


@pytest.mark.requirement("R16")
def test_a_reset_code_lifts_a_suspension(app, anonymous, case_manager, account, database):
    account = reloaded(database, account)
    account.failed_sign_ins, account.suspended_at = 100, account.created_at
    database.session.commit()
    record = connected_client(database, account)
    check_identity(case_manager, record)
    code = printed_code(case_manager.form(f"/staff/clients/{record.public_id}/portal/reset-code"))
    anonymous.form("/reset-code", {"code": code, "password": NEW})
    assert signed_in(app, account, NEW).get("/home").status_code == 200


def test_other_agencies_cannot_print_codes_or_deactivate(app, make, agency_b, account, database):
    outsider = signed_in(app, make.staff(Role.AGENCY_ADMIN, agency_b))
    record = connected_client(database, account)
    for path in ("reset-code", "deactivate", "reinstate"):
        assert outsider.get(f"/staff/clients/{record.public_id}/portal/{path}").status_code == 404


# --- sessions -----------------------------------------------------------------------------


@pytest.mark.requirement("R29")
def test_clients_see_their_sessions_and_sign_out_everywhere_else(app, account, database):
    phone = signed_in(app, account)
    library_computer = signed_in(app, account)
    page = phone.get("/account/sessions").get_data(as_text=True)
    assert page.count('class="card"') == 2 and "this phone or computer" in page
    assert "Sign out everywhere else" in page
    phone.form("/account/sessions/end", {"session": "others"}, token_from="/account/sessions")
    assert library_computer.get("/home").status_code == 302
    assert phone.get("/home").status_code == 200


@pytest.mark.requirement("R29")
def test_a_client_cannot_end_someone_elses_session(app, account, case_manager_user, database):
    staff_phone = signed_in(app, case_manager_user)
    staff_row = database.session.scalars(
        select(UserSession).where(UserSession.account_kind == "staff")
    ).first()
    me = signed_in(app, account)
    me.form("/account/sessions/end", {"session": str(staff_row.public_id)}, token_from="/account")
    assert staff_phone.get("/staff/").status_code == 200


@pytest.mark.requirement("R27")
def test_a_client_changes_their_password_and_other_sessions_end(app, account, database):
    other = signed_in(app, account)
    me = signed_in(app, account)
    wrong = me.form("/account", {"current_password": "not it at all really", "new_password": NEW})
    assert "current password is not right" in wrong.get_data(as_text=True)
    done = me.form("/account", {"current_password": TEST_PASSWORD, "new_password": NEW})
    assert done.status_code == 303
    assert me.get("/home").status_code == 200 and other.get("/home").status_code == 302


def test_the_device_description_is_short_and_plain():
    from portal.domain.accounts.sessions import describe_device

    android = (
        "Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"
    )
    iphone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
    )
    assert describe_device(android) == "Samsung Internet · Android"
    assert describe_device(iphone) == "Safari · iPhone"
    assert describe_device("curl/8.0") is None and describe_device(None) is None


# --- privacy notice versions --------------------------------------------------------------


@pytest.mark.requirement("R61")
def test_a_new_privacy_notice_is_accepted_at_the_next_sign_in(app, account, database):
    account = reloaded(database, account)
    account.privacy_version = "2025-01"
    database.session.commit()
    me = signed_in(app, account)
    for path in ("/home", "/account", "/account/sessions"):
        answer = me.get(path)
        assert answer.status_code == 303 and answer.headers["Location"] == "/privacy/update"
    assert me.get("/privacy").status_code == 200
    assert me.get("/account/deactivate").status_code == 200  # leaving stays possible
    unticked = me.form("/privacy/update", {})
    assert "Tick the box" in unticked.get_data(as_text=True)
    assert reloaded(database, account).privacy_version == "2025-01"
    assert me.form("/privacy/update", {"accept": "y"}).headers["Location"] == "/home"
    assert reloaded(database, account).privacy_version == PRIVACY_VERSION
    assert me.get("/home").status_code == 200
    event = actions(database, "privacy.accepted")[0]
    assert event.details == {"version": PRIVACY_VERSION, "previous": "2025-01"}


# --- deactivation by staff ----------------------------------------------------------------


@pytest.mark.requirement("R26")
def test_staff_deactivate_with_a_reason_and_everything_stops_at_once(
    app, anonymous, case_manager, account, database
):
    record = connected_client(database, account)
    phone = signed_in(app, account)
    ask_reset(anonymous, account.email)
    link = reset_path(database, account.email)
    check_identity(case_manager, record)
    code = printed_code(case_manager.form(f"/staff/clients/{record.public_id}/portal/reset-code"))
    page = f"/staff/clients/{record.public_id}/portal/deactivate"
    form_page = case_manager.get(page).get_data(as_text=True)
    assert (
        "Someone else used the account" in form_page and "Deactivate the account now" in form_page
    )
    no_reason = case_manager.form(page, {})
    assert "Choose why" in no_reason.get_data(as_text=True)
    assert reloaded(database, account).is_active
    done = case_manager.form(page, {"reason": "someone_else"})
    assert done.status_code == 303
    after = reloaded(database, account)
    assert not after.is_active and after.deactivation_reason == "someone_else"
    landed = phone.get("/home")
    assert landed.status_code == 302 and "/sign-in" in landed.headers["Location"]
    assert anonymous.get(link).status_code == 404
    used = anonymous.form("/reset-code", {"code": code, "password": NEW})
    assert "does not work" in used.get_data(as_text=True)
    live = database.session.scalars(
        select(AccountToken).where(
            AccountToken.account_id == account.id,
            AccountToken.account_kind == "client",
            AccountToken.revoked_at.is_(None),
            AccountToken.used_at.is_(None),
        )
    ).all()
    assert live == []
    record_page = case_manager.get(f"/staff/clients/{record.public_id}").get_data(as_text=True)
    assert "Deactivated" in record_page and "Someone else used the account" in record_page
    assert actions(database, "client_account.deactivated")[0].subject_id == str(record.public_id)


@pytest.mark.requirement("R26")
def test_deactivation_revokes_a_pending_invitation(case_manager, agency_a, database, make):
    """A record with an account never gets a new invitation; one issued before stops too."""
    from tests.integration.test_client_invitations import check_identity as check
    from tests.integration.test_client_invitations import invite

    client = make.client(agency_a, email="robin@example.org")
    check(case_manager, client)
    invite(case_manager, client)
    account = make.client_account(client=client)
    case_manager.form(
        f"/staff/clients/{client.public_id}/portal/deactivate", {"reason": "client_asked"}
    )
    statuses = database.session.scalars(
        select(ClientInvitation.status).where(ClientInvitation.client_id == client.id)
    ).all()
    assert statuses == ["revoked"] and not reloaded(database, account).is_active


def test_serving_agencies_cannot_deactivate(app, make, agency_b, account, database):
    from datetime import date

    from portal.domain.models import Consent

    record = connected_client(database, account)
    helper = make.staff(Role.CASE_MANAGER, agency_b)
    from portal.domain.models import CareTeamMember

    record.care_team.append(CareTeamMember(staff=helper))
    database.session.add(
        Consent(
            client_id=record.id,
            recorded_by_agency_id=record.owning_agency_id,
            permission=True,
            refused=False,
            starts_on=date(2020, 1, 1),
            ends_on=date(2099, 1, 1),
        )
    )
    database.session.commit()
    serving = signed_in(app, helper)
    assert serving.get(f"/staff/clients/{record.public_id}").status_code == 200
    page = f"/staff/clients/{record.public_id}/portal/deactivate"
    assert serving.get(page).status_code == 403
    assert reloaded(database, account).is_active


# --- deactivation by the client -----------------------------------------------------------


def test_clients_close_their_own_account_after_confirming(
    app, account, case_manager_user, database
):
    me = signed_in(app, account)
    other_phone = signed_in(app, account)
    page = me.get("/account/deactivate").get_data(as_text=True)
    assert "Your care team is told" in page
    unconfirmed = me.form("/account/deactivate", {})
    assert "Tick the box" in unconfirmed.get_data(as_text=True)
    assert reloaded(database, account).is_active
    done = me.form("/account/deactivate", {"confirm": "y"})
    assert done.status_code == 303 and done.headers["Location"] == "/account-closed"
    assert done.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    closed = me.get("/account-closed").get_data(as_text=True)
    assert "talk to your case manager" in closed
    assert not reloaded(database, account).is_active
    assert reloaded(database, account).deactivation_reason == "self"
    assert other_phone.get("/home").status_code == 302
    notes = database.session.scalars(
        select(StaffNotification).where(StaffNotification.staff_id == case_manager_user.id)
    ).all()
    assert [n.kind for n in notes] == ["client_deactivated_self"]
    refused = app.test_client().form(
        "/sign-in", {"email": account.email, "password": TEST_PASSWORD}
    )
    assert refused.status_code == 200 and "not right" in refused.get_data(as_text=True)


# --- reinstatement ------------------------------------------------------------------------


def deactivate(case_manager, record, reason="someone_else"):
    return case_manager.form(
        f"/staff/clients/{record.public_id}/portal/deactivate", {"reason": reason}
    )


def test_only_agency_administrators_reinstate(case_manager, account, database):
    record = connected_client(database, account)
    deactivate(case_manager, record)
    assert (
        case_manager.get(f"/staff/clients/{record.public_id}/portal/reinstate").status_code == 403
    )


def test_reinstatement_needs_an_identity_check_after_the_deactivation(
    agency_admin, case_manager, account, database
):
    record = connected_client(database, account)
    check_identity(agency_admin, record)  # before: does not count
    deactivate(case_manager, record)
    page = f"/staff/clients/{record.public_id}/portal/reinstate"
    shown = agency_admin.get(page).get_data(as_text=True)
    assert "Record an identity check" in shown and "then=reinstate" in shown
    refused = agency_admin.form(page, {"delivery": "print"})
    assert "identity again" in refused.get_data(as_text=True)
    assert not reloaded(database, account).is_active


@pytest.mark.requirement("R21")
def test_reinstatement_with_a_printed_code_wipes_the_old_password(
    app, anonymous, agency_admin, case_manager, account, database
):
    record = connected_client(database, account)
    deactivate(case_manager, record)
    went = check_identity(agency_admin, record, then="reinstate")
    page = f"/staff/clients/{record.public_id}/portal/reinstate"
    assert went.headers["Location"] == page
    code = printed_code(agency_admin.form(page, {"delivery": "print"}))
    after = reloaded(database, account)
    assert after.is_active and after.password_hash is None and after.deactivation_reason is None
    old = anonymous.form("/sign-in", {"email": account.email, "password": TEST_PASSWORD})
    assert "not right" in old.get_data(as_text=True)
    anonymous.form("/reset-code", {"code": code, "password": NEW})
    assert signed_in(app, account, NEW).get("/home").status_code == 200
    assert len(actions(database, "client_account.reinstated")) == 1


def test_reinstatement_by_email_sends_a_reset_link(
    app, anonymous, agency_admin, case_manager, account, database
):
    record = connected_client(database, account)
    deactivate(case_manager, record, reason="client_asked")
    check_identity(agency_admin, record)
    done = agency_admin.form(
        f"/staff/clients/{record.public_id}/portal/reinstate", {"delivery": "email"}
    )
    assert done.status_code == 303
    path = reset_path(database, account.email)
    anonymous.form(path, {"password": NEW})
    assert signed_in(app, account, NEW).get("/home").status_code == 200


def test_a_connected_client_is_not_invited_again(case_manager, account, database):
    from tests.integration.test_client_invitations import check_identity as check

    record = connected_client(database, account)
    check(case_manager, record)
    page = case_manager.get(f"/staff/clients/{record.public_id}/invite").get_data(as_text=True)
    assert "already has a portal account" in page
    record_page = case_manager.get(f"/staff/clients/{record.public_id}").get_data(as_text=True)
    assert "Print a password reset code" in record_page
    assert f"/staff/clients/{record.public_id}/invite" not in record_page


# --- account states on the staff list and record ------------------------------------------


def test_the_list_shows_and_filters_every_portal_state(case_manager, make, agency_a, database):
    from tests.integration.test_client_invitations import check_identity as check
    from tests.integration.test_client_invitations import invite

    def record(last_name, **values):
        return make.client(agency_a, last_name=last_name, email=f"{last_name}@x.test", **values)

    record("Loner")
    pending = record("Pending")
    check(case_manager, pending)
    invite(case_manager, pending)
    locked = record("Tried")
    check(case_manager, locked)
    invite(case_manager, locked)
    database.session.execute(
        ClientInvitation.__table__.update()
        .where(ClientInvitation.client_id == locked.id)
        .values(status="locked")
    )
    make.client_account(client=record("Joined"))
    suspended = make.client_account(client=record("Suspended"))
    suspended.suspended_at = suspended.created_at
    gone = make.client_account(client=record("Gone"))
    gone.is_active, gone.deactivation_reason = False, "someone_else"
    database.session.commit()

    expected = {
        "not_connected": ("Loner", "Not connected"),
        "invite_pending": ("Pending", "Invitation pending · until"),
        "connected": ("Joined", "Connected"),
        "deactivated": ("Gone", "Deactivated · Someone else used the account"),
    }
    for state, (name, text) in expected.items():
        page = case_manager.get(f"/staff/clients?portal_status={state}").get_data(as_text=True)
        [(row_name, row_text)] = list_rows(page)
        assert row_name == name and row_text.startswith(text), (state, row_text)
    page = case_manager.get("/staff/clients?portal_status=locked").get_data(as_text=True)
    assert sorted(list_rows(page)) == [
        ("Suspended", "Locked"),
        ("Tried", "Invitation locked after too many tries"),
    ]
    # Unfiltered (the statement built once): every state, in the list's order (last names).
    everyone = dict(list_rows(case_manager.get("/staff/clients").get_data(as_text=True)))
    assert list(everyone) == sorted(everyone)
    for _state, (name, text) in expected.items():
        assert everyone[name].startswith(text), (name, everyone[name])
    assert everyone["Suspended"] == "Locked"
    assert everyone["Tried"] == "Invitation locked after too many tries"


def list_rows(page: str) -> list[tuple[str, str]]:
    """(last name, the status cell's text) for each row of the client list."""
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)[1:]:
        name = re.search(r"<a [^>]*>([^<]+)</a>", row).group(1).split()[-1]
        status_cell = re.findall(r"<td>(.*?)</td>", row, flags=re.S)[-1]
        text = " ".join(re.sub(r"<[^>]+>", " ", status_cell).split())
        rows.append((name, text))
    return rows


# --- review follow-ups: re-authentication, codes after a reset, notices, safe channels ----


@pytest.mark.requirement("R29")
def test_ending_other_sessions_needs_the_password_after_five_minutes(
    app, account, frozen_clock, database
):
    phone = signed_in(app, account)
    other = signed_in(app, account)
    frozen_clock.advance(timedelta(minutes=6))
    page = phone.get("/account/sessions").get_data(as_text=True)
    assert "type your password first" in page
    wrong = phone.form(
        "/account/sessions/end", {"session": "others", "password": NEW}, token_from="/account"
    )
    assert wrong.status_code == 200 and "password is not right" in wrong.get_data(as_text=True)
    assert other.get("/home").status_code == 200  # nothing ended
    assert actions(database, "reauth.failed")  # kept although the form was refused
    right = phone.form(
        "/account/sessions/end",
        {"session": "others", "password": TEST_PASSWORD},
        token_from="/account",
    )
    assert right.status_code == 303 and other.get("/home").status_code == 302
    assert "type your password first" not in phone.get("/account/sessions").get_data(as_text=True)


def test_ending_this_very_session_signs_out(app, account, database):
    phone = signed_in(app, account)
    row = database.session.scalars(
        select(UserSession).where(
            UserSession.account_id == account.id, UserSession.account_kind == "client"
        )
    ).one()
    done = phone.form(
        "/account/sessions/end", {"session": str(row.public_id)}, token_from="/account"
    )
    assert done.status_code == 303 and "Clear-Site-Data" in done.headers
    assert phone.get("/home").status_code == 302


def test_closing_the_account_needs_the_password_after_five_minutes(
    app, account, frozen_clock, database
):
    me = signed_in(app, account)
    frozen_clock.advance(timedelta(minutes=6))
    refused = me.form("/account/deactivate", {"confirm": "y", "password": NEW})
    assert "password is not right" in refused.get_data(as_text=True)
    assert reloaded(database, account).is_active
    done = me.form("/account/deactivate", {"confirm": "y", "password": TEST_PASSWORD})
    assert done.status_code == 303 and not reloaded(database, account).is_active


def test_a_printed_code_dies_when_the_password_changes_another_way(
    app, anonymous, case_manager, account, database
):
    record = connected_client(database, account)
    check_identity(case_manager, record)
    code = printed_code(case_manager.form(f"/staff/clients/{record.public_id}/portal/reset-code"))
    ask_reset(anonymous, account.email)
    anonymous.form(reset_path(database, account.email), {"password": NEW})
    late = anonymous.form("/reset-code", {"code": code, "password": "another long passphrase"})
    assert "does not work" in late.get_data(as_text=True)
    refused = actions(database, "password_reset.code_refused")
    assert len(refused) == 1 and refused[0].outcome == "failure"  # kept despite the rollback


def test_refused_reset_codes_are_limited_per_address(anonymous, account, database):
    answers = [
        anonymous.form("/reset-code", {"code": f"AAAAA-BBBB{i}", "password": NEW}).status_code
        for i in range(2, 13)
    ]
    assert answers[:10] == [200] * 10 and answers[10] == 429


@pytest.mark.requirement("R26", "R57")
def test_the_care_team_hears_of_staff_deactivation_and_reinstatement(
    app, make, agency_a, agency_admin, account, case_manager_user, database
):
    from portal.domain.models import CareTeamMember

    colleague = make.staff(Role.CASE_MANAGER, agency_a)
    record = connected_client(database, account)
    record.care_team.append(CareTeamMember(staff=colleague))
    database.session.commit()
    actor = signed_in(app, case_manager_user)
    deactivate(actor, record)
    check_identity(agency_admin, record)
    agency_admin.form(f"/staff/clients/{record.public_id}/portal/reinstate", {"delivery": "print"})
    kinds = {
        staff_id: sorted(
            database.session.scalars(
                select(StaffNotification.kind).where(StaffNotification.staff_id == staff_id)
            )
        )
        for staff_id in (colleague.id, case_manager_user.id)
    }
    assert kinds[colleague.id] == ["client_account_deactivated", "client_account_reinstated"]
    assert kinds[case_manager_user.id] == ["client_account_reinstated"]  # not told of own act
    event = actions(database, "client_account.deactivated")[0]
    assert event.actor_id == str(case_manager_user.public_id)
    assert event.details["reason"] == "someone_else"


def test_after_someone_else_got_in_reinstatement_only_prints_a_code(
    agency_admin, case_manager, account, database
):
    record = connected_client(database, account)
    deactivate(case_manager, record, reason="someone_else")
    check_identity(agency_admin, record)
    page = f"/staff/clients/{record.public_id}/portal/reinstate"
    shown = agency_admin.get(page).get_data(as_text=True)
    assert "Email a link" not in shown and "Print a reset code" in shown
    refused = agency_admin.form(page, {"delivery": "email"})
    assert "may not be safe" in refused.get_data(as_text=True)
    assert not reloaded(database, account).is_active
    assert outbox(database, account.email, "password_reset") == []


def test_a_reinstated_account_waits_for_a_new_password(
    anonymous, agency_admin, case_manager, account, database
):
    record = connected_client(database, account)
    deactivate(case_manager, record, reason="client_asked")
    check_identity(agency_admin, record)
    agency_admin.form(f"/staff/clients/{record.public_id}/portal/reinstate", {"delivery": "print"})
    page = case_manager.get(f"/staff/clients/{record.public_id}").get_data(as_text=True)
    assert "Reinstated: waiting for a new password" in page
    ask_reset(anonymous, account.email)  # no password yet: staff give the way in
    assert outbox(database, account.email, "password_reset") == []


def test_an_email_held_by_a_deactivated_account_blocks_an_invitation(
    case_manager, account, make, agency_a, database
):
    from tests.integration.test_client_invitations import check_identity as check

    deactivate(case_manager, connected_client(database, account))
    other = make.client(agency_a, email=account.email.upper())
    check(case_manager, other)
    page = case_manager.get(f"/staff/clients/{other.public_id}/invite").get_data(as_text=True)
    assert "already uses this email" in page


def test_other_agencies_cannot_post_to_the_account_actions(app, make, agency_b, account, database):
    outsider = signed_in(app, make.staff(Role.AGENCY_ADMIN, agency_b))
    record = connected_client(database, account)
    token = outsider.csrf_token("/staff/account")
    for path, data in (
        ("reset-code", {}),
        ("deactivate", {"reason": "other"}),
        ("reinstate", {"delivery": "print"}),
    ):
        answer = outsider.post(
            f"/staff/clients/{record.public_id}/portal/{path}", data={"csrf_token": token, **data}
        )
        assert answer.status_code == 404, path
    assert reloaded(database, account).is_active
    assert actions(database, "password_reset.code_issued") == []


def test_the_deactivation_reason_is_for_the_owning_agency_only(
    app, make, agency_b, case_manager, account, database
):
    from datetime import date

    from portal.domain.models import CareTeamMember, Consent

    record = connected_client(database, account)
    deactivate(case_manager, record, reason="someone_else")
    helper = make.staff(Role.CASE_MANAGER, agency_b)
    record.care_team.append(CareTeamMember(staff=helper))
    database.session.add(
        Consent(
            client_id=record.id,
            recorded_by_agency_id=record.owning_agency_id,
            permission=True,
            refused=False,
            starts_on=date(2020, 1, 1),
            ends_on=date(2099, 1, 1),
        )
    )
    database.session.commit()
    page = signed_in(app, helper).get(f"/staff/clients/{record.public_id}").get_data(as_text=True)
    assert "Deactivated" in page and "Someone else used the account" not in page
