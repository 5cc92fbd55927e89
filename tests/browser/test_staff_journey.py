"""The staff journey on a phone (375x667, touch), checked with axe-core on every page.

An agency administrator signs in, invites a case manager; the worker sends the email; the
case manager chooses a password from the link on their own phone and signs in; the
administrator deactivates them, and the case manager's next request lands on sign-in.
"""

from __future__ import annotations

import re
import time
import uuid

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PAGE_TIMEOUT_MS, assert_accessible
from tests.support import TEST_PASSWORD, TEST_TOTP_KEY

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

expect.set_options(timeout=PAGE_TIMEOUT_MS)

NEW_PASSWORD = "quiet orange harbor seventeen"


def heading(page, text: str):
    return page.get_by_role("heading", level=1, name=text)


def tap_and_load(page, target) -> None:
    """Tap a link or a submit button and wait until the next page has loaded (its deferred
    script has run), so the test never types into a page that is still being set up."""
    with page.expect_navigation():
        target.tap()


# The authenticator-app key of each staff member these journeys set up an app for.
APP_KEYS: dict[str, str] = {}


def staff_sign_in(page, email: str, password: str, *, check=None) -> None:
    """Sign in as a person does: the password; then a code from the app, or at the first
    sign-in setting the app up (the key typed from the page into the "app") and seeing the
    recovery codes. `check(page)` runs on each second-step page (axe, say)."""
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    tap_and_load(page, page.get_by_role("button", name="Sign in", exact=True))
    if page.url.endswith("/staff/sign-in/set-up"):
        if check:
            check(page)
        APP_KEYS[email] = page.locator(".secret-key").inner_text().replace(" ", "")
        page.get_by_label("The 6-digit code your app shows").fill(pyotp.TOTP(APP_KEYS[email]).now())
        tap_and_load(page, page.get_by_role("button", name="Finish set-up"))
        expect(heading(page, "Your recovery codes")).to_be_visible()
        if check:
            check(page)
        tap_and_load(page, page.get_by_role("link", name="I have kept them, continue"))
    elif page.url.endswith("/staff/sign-in/code"):
        if check:
            check(page)
        type_app_code(page, APP_KEYS.get(email, TEST_TOTP_KEY))


def type_app_code(page, key: str) -> None:
    """The app's code; if this person used this 30-second code already (two sign-ins within
    one step), the next step's code, which the portal also accepts."""
    totp = pyotp.TOTP(key)
    for ahead in (0, 30):
        page.get_by_label("Code", exact=True).fill(totp.at(time.time() + ahead))
        tap_and_load(page, page.get_by_role("button", name="Sign in", exact=True))
        if not page.url.endswith("/staff/sign-in/code"):
            return


def staff_nav_link(page):
    return page.get_by_role("navigation", name="Staff").get_by_role(
        "link", name="Staff", exact=True
    )


def open_staff_list(page):
    tap_and_load(page, staff_nav_link(page))
    expect(heading(page, re.compile(r"^Staff of "))).to_be_visible()


def test_admin_invites_a_case_manager_who_signs_in_and_is_then_deactivated(live_server, phones):
    admin = live_server.create_agency_admin(name="Alex Admin")
    invitee_email = f"casey-{uuid.uuid4().hex[:10]}@staff.test"
    invitee_name = "Casey Case"

    # --- the administrator signs in (a wrong password first: the error state) -------------
    admin_phone = phones.open()
    admin_phone.goto(live_server.url + "/staff/sign-in")
    expect(heading(admin_phone, "Staff sign in")).to_be_visible()
    assert admin_phone.evaluate("window.innerWidth") == 375
    assert admin_phone.evaluate("'ontouchstart' in window")
    assert_accessible(admin_phone)

    staff_sign_in(admin_phone, admin["email"], "not the right password at all")
    expect(admin_phone.get_by_role("alert")).to_contain_text("The email or password is not right")
    expect(admin_phone.get_by_label("Password", exact=True)).to_have_value("")
    assert_accessible(admin_phone)

    # The administrator has no second factor yet: setting up the app comes first (axe on the
    # set-up page and on the recovery codes).
    staff_sign_in(admin_phone, admin["email"], TEST_PASSWORD, check=assert_accessible)
    expect(admin_phone).to_have_url(live_server.url + "/staff/")
    expect(heading(admin_phone, "Hello, Alex Admin")).to_be_visible()
    assert_accessible(admin_phone)

    # --- Staff -> Invite a staff member ---------------------------------------------------
    open_staff_list(admin_phone)
    assert_accessible(admin_phone)
    tap_and_load(admin_phone, admin_phone.get_by_role("link", name="Invite a staff member"))
    expect(heading(admin_phone, "Invite a staff member")).to_be_visible()
    assert_accessible(admin_phone)

    send = admin_phone.get_by_role("button", name="Send invitation")
    tap_and_load(admin_phone, send)  # nothing filled in: the error state
    expect(admin_phone.get_by_role("alert")).to_contain_text("There is a problem")
    assert_accessible(admin_phone)

    admin_phone.get_by_label("Full name").fill(invitee_name)
    admin_phone.get_by_label("Work email address").fill(invitee_email)
    admin_phone.get_by_role("group", name="Role").get_by_label("Case manager").check()
    tap_and_load(admin_phone, send)
    expect(admin_phone.get_by_role("status")).to_contain_text("Invitation sent")
    expect(heading(admin_phone, invitee_name)).to_be_visible()
    expect(admin_phone.locator(".summary")).to_contain_text("Invited")
    assert_accessible(admin_phone)

    # --- the worker sends the email -------------------------------------------------------
    assert live_server.run_worker() >= 1
    link = live_server.set_password_link(invitee_email)

    # --- the case manager, on their own phone, chooses a password -------------------------
    case_phone = phones.open()
    case_phone.goto(link)
    expect(heading(case_phone, "Choose your password")).to_be_visible()
    assert_accessible(case_phone)

    case_phone.get_by_label("New password").fill("password")  # too short and common
    tap_and_load(case_phone, case_phone.get_by_role("button", name="Save password"))
    expect(case_phone.get_by_role("alert")).to_contain_text("There is a problem")
    expect(case_phone.get_by_label("New password")).to_have_attribute("aria-invalid", "true")
    assert_accessible(case_phone)

    case_phone.get_by_label("New password").fill(NEW_PASSWORD)
    tap_and_load(case_phone, case_phone.get_by_role("button", name="Save password"))
    expect(case_phone).to_have_url(re.compile(r"/staff/sign-in$"))
    expect(case_phone.get_by_role("status")).to_contain_text("Your password is set")
    assert_accessible(case_phone)

    staff_sign_in(case_phone, invitee_email, NEW_PASSWORD, check=assert_accessible)
    expect(case_phone).to_have_url(live_server.url + "/staff/")
    expect(heading(case_phone, f"Hello, {invitee_name}")).to_be_visible()
    expect(staff_nav_link(case_phone)).to_have_count(0)  # case managers do not manage staff
    assert_accessible(case_phone)

    # --- signed out, then in again: the password, then the app's code (a wrong one first) --
    tap_and_load(case_phone, case_phone.get_by_role("button", name="Sign out"))
    case_phone.goto(live_server.url + "/staff/sign-in")
    case_phone.get_by_label("Email address").fill(invitee_email)
    case_phone.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    tap_and_load(case_phone, case_phone.get_by_role("button", name="Sign in", exact=True))
    expect(heading(case_phone, "Type the code from your app")).to_be_visible()
    assert_accessible(case_phone)
    case_phone.get_by_label("Code", exact=True).fill("000000")
    tap_and_load(case_phone, case_phone.get_by_role("button", name="Sign in", exact=True))
    expect(case_phone.get_by_role("alert")).to_contain_text("That code is not right")
    assert_accessible(case_phone)
    type_app_code(case_phone, APP_KEYS[invitee_email])
    expect(case_phone).to_have_url(live_server.url + "/staff/")

    # The link worked once.
    used = case_phone.context.new_page()
    used.goto(link)
    expect(heading(used, "This link does not work any more")).to_be_visible()
    assert_accessible(used)
    used.close()

    # --- the administrator deactivates the case manager -----------------------------------
    open_staff_list(admin_phone)
    assert_accessible(admin_phone)
    member_link = admin_phone.get_by_role("table").get_by_role("link", name=invitee_name)
    tap_and_load(admin_phone, member_link)
    expect(heading(admin_phone, invitee_name)).to_be_visible()
    expect(admin_phone.locator(".summary")).to_contain_text("Active")
    assert_accessible(admin_phone)

    # The reset of a lost second factor: the page, and its refusal without the identity check.
    member_page = admin_phone.url
    tap_and_load(
        admin_phone,
        admin_phone.get_by_role("link", name="Lost their phone? Reset their second factor"),
    )
    expect(heading(admin_phone, f"Reset {invitee_name}'s second factor")).to_be_visible()
    assert_accessible(admin_phone)
    tap_and_load(admin_phone, admin_phone.get_by_role("button", name="Reset their second factor"))
    expect(admin_phone.get_by_role("alert")).to_contain_text("Check who they are first")
    assert_accessible(admin_phone)
    admin_phone.goto(member_page)
    expect(heading(admin_phone, invitee_name)).to_be_visible()

    tap_and_load(admin_phone, admin_phone.get_by_role("link", name="Deactivate this account"))
    expect(heading(admin_phone, f"Deactivate {invitee_name}?")).to_be_visible()
    assert_accessible(admin_phone)

    admin_phone.get_by_role("group", name="Why are you deactivating this account?").get_by_label(
        "Left the agency"
    ).check()
    admin_phone.get_by_label("Who takes over their open work?").select_option(label="Alex Admin")
    tap_and_load(admin_phone, admin_phone.get_by_role("button", name="Deactivate account"))
    expect(admin_phone.get_by_role("status")).to_contain_text("Account deactivated")
    expect(admin_phone.locator(".summary")).to_contain_text("Deactivated")
    assert_accessible(admin_phone)

    # --- the case manager's next request lands on sign-in ---------------------------------
    case_phone.reload()
    expect(case_phone).to_have_url(re.compile(r"/staff/sign-in"))
    expect(heading(case_phone, "Staff sign in")).to_be_visible()
    assert_accessible(case_phone)

    # And signing in again is refused with the uniform message.
    staff_sign_in(case_phone, invitee_email, NEW_PASSWORD)
    expect(case_phone.get_by_role("alert")).to_contain_text("The email or password is not right")
    assert_accessible(case_phone)


def test_password_toggle_is_hidden_without_javascript(live_server, phones):
    no_js = phones.open(java_script_enabled=False)
    no_js.goto(live_server.url + "/staff/sign-in")
    expect(heading(no_js, "Staff sign in")).to_be_visible()
    # No axe here: with JavaScript off axe.run() never settles. The page is the same one the
    # JavaScript tests check, less the toggle.
    toggle = no_js.locator("[data-toggle-password]")
    expect(toggle).to_have_attribute("hidden", "")
    expect(toggle).to_be_hidden()


@pytest.mark.requirement("R13")
def test_password_toggle_shows_and_hides_the_password_with_javascript(live_server, phone):
    phone.goto(live_server.url + "/staff/sign-in")
    password = phone.get_by_label("Password", exact=True)
    toggle = phone.get_by_role("button", name="Show")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(password).to_have_attribute("type", "password")
    password.fill("a secret phrase")
    toggle.tap()
    expect(password).to_have_attribute("type", "text")
    hide = phone.get_by_role("button", name="Hide")
    expect(hide).to_have_attribute("aria-pressed", "true")
    expect(password).to_have_value("a secret phrase")
    assert_accessible(phone)
    hide.tap()
    expect(password).to_have_attribute("type", "password")
    expect(phone.get_by_role("button", name="Show")).to_have_attribute("aria-pressed", "false")
    expect(password).to_have_value("a secret phrase")
    assert_accessible(phone)


def test_client_start_and_sign_in_pages_pass_axe_in_spanish(live_server, phone):
    phone.goto(live_server.url + "/")
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    languages = phone.get_by_role("group", name="Language")
    tap_and_load(phone, languages.get_by_role("button", name="Español"))
    expect(phone.locator("html[lang=es]")).to_have_count(1)
    expect(phone).to_have_url(re.compile(r"/\??$"))
    expect(heading(phone, "Vea y actualice su registro")).to_be_visible()
    expect(phone.get_by_role("button", name="Español")).to_have_attribute("aria-current", "true")
    assert_accessible(phone)

    tap_and_load(phone, phone.get_by_role("main").get_by_role("link", name="Iniciar sesión"))
    expect(phone).to_have_url(re.compile(r"/sign-in$"))
    expect(phone.locator("html[lang=es]")).to_have_count(1)
    expect(heading(phone, "Iniciar sesión")).to_be_visible()
    assert_accessible(phone)

    # The error state, in Spanish.
    tap_and_load(phone, phone.get_by_role("main").get_by_role("button", name="Iniciar sesión"))
    expect(phone.get_by_role("alert")).to_contain_text("Hay un problema")
    expect(phone.locator("html[lang=es]")).to_have_count(1)
    assert_accessible(phone)
