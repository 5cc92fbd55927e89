"""Issue 4's whole journey on a phone (375x667, touch), in English and in Spanish.

A case manager checks the client's identity and emails an invitation; the client redeems it
on their own phone (a wrong date of birth and a weak password first: the error states), reads
the code from the real email the SMTP server received, lands on the dashboard, looks at where
they are signed in, finishes and logs out, recovers a forgotten password through the emailed
link, signs in again and finally closes their own account; the case manager sees it closed.
axe-core checks every page, error states included. The client's pages are read in the
client's language, so every string the client sees is looked up in the catalog.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import date

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from portal.domain.accounts.passwords import hash_password
from portal.domain.core.roles import Role
from portal.domain.models import Agency, CareTeamMember, Client, StaffUser
from portal.extensions import db
from tests.browser.conftest import PAGE_TIMEOUT_MS, assert_accessible
from tests.browser.test_staff_journey import heading, staff_sign_in, tap_and_load
from tests.support import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

expect.set_options(timeout=PAGE_TIMEOUT_MS)

DOB = date(1990, 4, 12)
FIRST_PASSWORD = "copper kettle morning seventeen"
NEW_PASSWORD = "violet harbor lantern ninety"


def translator(app, lang: str):
    """The catalog's text for `lang`: what the client's page must show."""

    def t(text: str, **values) -> str:
        with app.test_request_context(), force_locale(lang):
            return gettext(text, **values)

    return t


def seed(live_server, lang: str) -> dict:
    """An agency, its case manager (on the care team) and a client record ready to invite."""
    suffix = uuid.uuid4().hex[:10]
    with live_server.app.app_context():
        agency = Agency(name=f"Harbor Outreach {suffix}", timezone="America/Los_Angeles")
        casey = StaffUser(
            email=f"casey-{suffix}@staff.test",
            display_name="Casey Case",
            role=Role.CASE_MANAGER,
            agency=agency,
            password_hash=hash_password(TEST_PASSWORD),
        )
        client = Client(
            personal_id=f"P-{suffix}",
            owning_agency=agency,
            first_name="Robin" if lang == "en" else "Rocío",
            last_name="Rivera",
            name_quality=1,
            dob=DOB,
            dob_quality=1,
            email=f"robin-{suffix}@client.test",
            preferred_language=lang,
        )
        client.care_team.append(CareTeamMember(staff=casey, is_case_manager=True))
        db.session.add_all([agency, casey, client])
        db.session.commit()
        seeded = {
            "staff_email": casey.email,
            "client_email": client.email,
            "first_name": client.first_name,
            "record": f"/staff/clients/{client.public_id}",
        }
        db.session.remove()
    return seeded


def invite_by_email(phone, live_server, people) -> None:
    phone.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(phone, people["staff_email"], TEST_PASSWORD)
    phone.goto(live_server.url + people["record"])
    expect(phone.get_by_text("Not connected")).to_be_visible()
    tap_and_load(phone, phone.get_by_role("link", name="Invite to the portal"))
    expect(phone.get_by_role("alert")).to_contain_text("Record an identity check")
    assert_accessible(phone)
    tap_and_load(phone, phone.get_by_role("link", name="Record an identity check"))
    phone.get_by_label(re.compile("confirmed the client")).check()
    phone.get_by_label("Date of birth", exact=True).check()
    phone.get_by_label("Photo ID or photo on file").check()
    assert_accessible(phone)
    tap_and_load(phone, phone.get_by_role("button", name="Record the identity check"))
    phone.get_by_label(re.compile("^Email it to")).check()
    assert_accessible(phone)
    tap_and_load(phone, phone.get_by_role("button", name="Send the invitation"))
    expect(phone.get_by_text("Invitation emailed")).to_be_visible()
    expect(phone.get_by_text("Invitation pending")).to_be_visible()


def fill_date_of_birth(phone, t, day: date) -> None:
    phone.get_by_label(t("Month"), exact=True).select_option(str(day.month))
    phone.get_by_label(t("Day"), exact=True).fill(str(day.day))
    phone.get_by_label(t("Year"), exact=True).fill(str(day.year))
    tap_and_load(phone, phone.get_by_role("button", name=t("Continue")))


def redeem(phone, live_server, people, t) -> None:
    link = live_server.link_in_latest_mail(people["client_email"], "/invitation/")
    phone.goto(link)
    expect(heading(phone, t("Your invitation to the portal"))).to_be_visible()
    assert_accessible(phone)
    tap_and_load(phone, phone.get_by_role("button", name=t("Continue")))
    assert link.rsplit("/", 1)[1] not in phone.url  # the token left the address bar

    expect(heading(phone, t("What is your date of birth?"))).to_be_visible()
    fill_date_of_birth(phone, t, DOB.replace(year=1991))
    expect(phone.locator(".field-error")).to_contain_text(
        t(
            "This date of birth does not match our record. Check it and try again. After "
            "%(count)s wrong tries this invitation stops working, and your case manager can give "
            "you a new one.",
            count=3,
        )
    )
    assert_accessible(phone)
    fill_date_of_birth(phone, t, DOB)

    expect(heading(phone, t("What is your email address?"))).to_be_visible()
    assert_accessible(phone)
    phone.get_by_label(t("Email address")).fill(people["client_email"].upper())
    tap_and_load(phone, phone.get_by_role("button", name=t("Send me a code")))

    expect(heading(phone, t("Check your email"))).to_be_visible()
    body = live_server.latest_mail_body(people["client_email"])
    assert t("Your code is:") in body
    code = re.search(r"\b(\d{6})\b", body).group(1)
    assert_accessible(phone)
    phone.get_by_label(t("6-digit code")).fill(code)
    tap_and_load(phone, phone.get_by_role("button", name=t("Continue")))

    expect(heading(phone, t("Your privacy"))).to_be_visible()
    assert_accessible(phone)
    phone.get_by_label(t("I have read the privacy notice and the portal terms")).check()
    tap_and_load(phone, phone.get_by_role("button", name=t("Continue")))

    expect(heading(phone, t("Create a password"))).to_be_visible()
    phone.get_by_label(t("Create a password"), exact=True).fill("Rivera Rivera 1990")
    tap_and_load(phone, phone.get_by_role("button", name=t("Create my account")))
    expect(phone.locator(".error-summary")).to_be_visible()
    assert_accessible(phone)
    password = phone.get_by_label(t("Create a password"), exact=True)
    password.fill(FIRST_PASSWORD)
    phone.get_by_role("button", name=t("Show")).tap()  # the show/hide toggle (JavaScript)
    expect(password).to_have_attribute("type", "text")
    tap_and_load(phone, phone.get_by_role("button", name=t("Create my account")))
    expect(heading(phone, t("Hello, %(name)s", name=people["first_name"]))).to_be_visible()
    assert_accessible(phone)


def client_nav(phone, t, name: str) -> None:
    link = phone.get_by_role("navigation", name=t("Main")).get_by_role("link", name=t(name))
    tap_and_load(phone, link)


def client_sign_in(phone, live_server, people, t, password: str) -> None:
    phone.get_by_label(t("Email address")).fill(people["client_email"])
    phone.get_by_label(t("Password"), exact=True).fill(password)
    tap_and_load(phone, phone.get_by_role("button", name=t("Sign in"), exact=True))


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.requirement("R61")
def test_a_client_joins_recovers_a_password_and_closes_the_account(live_server, phones, lang):
    started = time.perf_counter()
    t = translator(live_server.app, lang)
    if lang == "es":
        assert t("What is your date of birth?") != "What is your date of birth?"
    people = seed(live_server, lang)

    staff = phones.open()
    invite_by_email(staff, live_server, people)
    invitation_mail = live_server.mails_to(people["client_email"])[-1]
    assert people["first_name"] in invitation_mail.get_body(("plain",)).get_content()
    assert "Rivera" not in invitation_mail.as_string()  # no PII beyond the first name

    phone = phones.open(locale="es-US" if lang == "es" else "en-US")
    redeem(phone, live_server, people, t)
    assert phone.locator("html").get_attribute("lang") == lang

    # Where am I signed in?
    client_nav(phone, t, "My account")
    expect(heading(phone, t("My account"))).to_be_visible()
    assert_accessible(phone)
    tap_and_load(phone, phone.get_by_role("link", name=t("Where I am signed in")))
    expect(phone.get_by_text(t("this phone or computer"))).to_be_visible()
    assert_accessible(phone)

    # Finish and log out: the server session ends and the browser forgets it (the page after
    # may start a new, anonymous session for its language form).
    signed_in_cookie = {c["value"] for c in phone.context.cookies()}
    tap_and_load(phone, phone.get_by_role("button", name=t("Finish and log out")))
    assert not signed_in_cookie & {c["value"] for c in phone.context.cookies()}
    phone.goto(live_server.url + "/home")
    expect(heading(phone, t("Sign in"))).to_be_visible()

    # Forgot password: the link arrives by email; no automatic sign-in after the reset.
    tap_and_load(phone, phone.get_by_role("link", name=t("Forgot your password?")))
    assert_accessible(phone)
    phone.get_by_label(t("Email address")).fill(people["client_email"])
    tap_and_load(phone, phone.get_by_role("button", name=t("Send the link")))
    expect(heading(phone, t("Check your email"))).to_be_visible()
    assert_accessible(phone)
    phone.goto(live_server.link_in_latest_mail(people["client_email"], "/reset-password/"))
    expect(heading(phone, t("Choose a new password"))).to_be_visible()
    assert_accessible(phone)
    phone.get_by_label(t("New password"), exact=True).fill(NEW_PASSWORD)
    tap_and_load(phone, phone.get_by_role("button", name=t("Save my new password")))
    expect(phone.get_by_text(t("Your new password is set. Sign in with it now."))).to_be_visible()
    assert_accessible(phone)
    client_sign_in(phone, live_server, people, t, NEW_PASSWORD)
    expect(heading(phone, t("Hello, %(name)s", name=people["first_name"]))).to_be_visible()

    # Close my own account.
    client_nav(phone, t, "My account")
    tap_and_load(phone, phone.get_by_role("link", name=t("Close my account")))
    assert_accessible(phone)
    tap_and_load(phone, phone.get_by_role("button", name=t("Close my account")))
    expect(phone.locator(".error-summary")).to_be_visible()  # the box was not ticked
    assert_accessible(phone)
    phone.get_by_label(t("Yes, close my account now")).check()
    tap_and_load(phone, phone.get_by_role("button", name=t("Close my account")))
    expect(heading(phone, t("Your account is closed"))).to_be_visible()
    assert_accessible(phone)
    phone.goto(live_server.url + "/sign-in")
    client_sign_in(phone, live_server, people, t, NEW_PASSWORD)
    expect(phone.locator(".error-summary")).to_be_visible()

    # The case manager sees it on the record and in their notifications.
    staff.goto(live_server.url + people["record"])
    expect(staff.get_by_text("The client closed it in the portal")).to_be_visible()
    assert_accessible(staff)
    staff.goto(live_server.url + "/staff/notifications")
    expect(staff.get_by_text("A client closed their portal account")).to_be_visible()
    print(f"\n[journey {lang}] {time.perf_counter() - started:.1f} s")


def case_manager_and_client(people: dict) -> tuple[StaffUser, Client]:
    """The case manager and the client record `seed` made (in an app context)."""
    casey = db.session.scalar(db.select(StaffUser).where(StaffUser.email == people["staff_email"]))
    client = db.session.scalar(db.select(Client).where(Client.email == people["client_email"]))
    return casey, client


def seed_connected(live_server) -> dict:
    """An agency with an administrator and a case manager, and a client already connected."""
    from portal.domain.accounts.onboarding import PRIVACY_VERSION
    from portal.domain.core import clock
    from portal.domain.models import ClientAccount

    people = seed(live_server, "en")
    suffix = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        casey, client = case_manager_and_client(people)
        admin = StaffUser(
            email=f"admin-{suffix}@staff.test",
            display_name="Alex Admin",
            role=Role.AGENCY_ADMIN,
            agency=casey.agency,
            password_hash=hash_password(TEST_PASSWORD),
        )
        account = ClientAccount(
            email=client.email,
            first_name=client.first_name,
            agency=casey.agency,
            client_id=client.id,
            password_hash=hash_password(FIRST_PASSWORD),
            email_verified_at=clock.now(),
            privacy_version=PRIVACY_VERSION,
        )
        db.session.add_all([admin, account])
        db.session.commit()
        people["admin_email"] = admin.email
        db.session.remove()
    return people


@pytest.mark.requirement("R26")
def test_staff_deactivate_after_someone_else_got_in_and_reinstate_with_a_printed_code(
    live_server, phones
):
    started = time.perf_counter()
    t = translator(live_server.app, "en")
    people = seed_connected(live_server)

    # The client is signed in on their phone, and someone else on another.
    phone = phones.open()
    phone.goto(live_server.url + "/sign-in")
    client_sign_in(phone, live_server, people, t, FIRST_PASSWORD)
    intruder = phones.open()
    intruder.goto(live_server.url + "/sign-in")
    client_sign_in(intruder, live_server, people, t, FIRST_PASSWORD)
    phone.goto(live_server.url + "/account/sessions")
    expect(phone.locator(".card")).to_have_count(2)
    expect(phone.get_by_role("button", name="Sign out everywhere else")).to_be_visible()
    assert_accessible(phone)

    # The case manager deactivates the account: the page sits apart and wants a reason.
    staff = phones.open()
    staff.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(staff, people["staff_email"], TEST_PASSWORD)
    staff.goto(live_server.url + people["record"])
    tap_and_load(staff, staff.get_by_role("link", name="Deactivate the portal account"))
    assert_accessible(staff)
    tap_and_load(staff, staff.get_by_role("button", name="Deactivate the account now"))
    expect(staff.locator(".error-summary")).to_be_visible()
    assert_accessible(staff)
    staff.get_by_label("Someone else used the account").check()
    tap_and_load(staff, staff.get_by_role("button", name="Deactivate the account now"))
    expect(staff.get_by_text("Portal account deactivated.")).to_be_visible()
    assert_accessible(staff)

    # Both client sessions ended at once.
    for device in (phone, intruder):
        device.goto(live_server.url + "/home")
        expect(heading(device, "Sign in")).to_be_visible()

    # An agency administrator reinstates after a fresh identity check: a printed code only.
    admin = phones.open()
    admin.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(admin, people["admin_email"], TEST_PASSWORD)
    admin.goto(live_server.url + people["record"])
    tap_and_load(admin, admin.get_by_role("link", name="Reinstate the portal account"))
    expect(admin.get_by_text("First check the client's identity again")).to_be_visible()
    assert_accessible(admin)
    tap_and_load(admin, admin.get_by_role("link", name="Record an identity check"))
    admin.get_by_label(re.compile("confirmed the client")).check()
    admin.get_by_label("Date of birth", exact=True).check()
    admin.get_by_label("HMIS ID").check()
    tap_and_load(admin, admin.get_by_role("button", name="Record the identity check"))
    expect(heading(admin, re.compile("^Reinstate"))).to_be_visible()
    expect(admin.get_by_label(re.compile("^Email a link"))).to_have_count(0)
    admin.get_by_label("Print a reset code to hand over now").check()
    assert_accessible(admin)
    tap_and_load(admin, admin.get_by_role("button", name="Reinstate the account"))
    expect(heading(admin, "Your password reset code")).to_be_visible()
    expect(admin.get_by_role("button", name="Print this sheet")).to_be_visible()
    assert_accessible(admin)
    code = admin.locator(".invite-code").inner_text().strip()

    # The client types the code (a wrong one first) with a new password, then signs in.
    phone.goto(live_server.url + "/sign-in")
    tap_and_load(phone, phone.get_by_role("link", name="I have a reset code"))
    phone.get_by_label("Reset code").fill("AAAAA-BBBBB")
    phone.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    tap_and_load(phone, phone.get_by_role("button", name="Save my new password"))
    expect(phone.locator(".error-summary")).to_contain_text("This code does not work")
    assert_accessible(phone)
    phone.get_by_label("Reset code").fill(code.lower())
    phone.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    tap_and_load(phone, phone.get_by_role("button", name="Save my new password"))
    expect(phone.get_by_text("Your new password is set.")).to_be_visible()
    client_sign_in(phone, live_server, people, t, FIRST_PASSWORD)  # the old one is gone
    expect(phone.locator(".error-summary")).to_be_visible()
    client_sign_in(phone, live_server, people, t, NEW_PASSWORD)
    expect(heading(phone, t("Hello, %(name)s", name=people["first_name"]))).to_be_visible()
    print(f"\n[journey deactivate-reinstate] {time.perf_counter() - started:.1f} s")
