"""Passkeys in a real browser (issue 19): Chromium's virtual WebAuthn authenticator (CTAP2, the
device's own "internal" transport, resident keys, user verification) on http://localhost, at a
desktop width. A case manager adds a passkey, signs out, and signs in with the password and the
passkey; another person's sign-in on the same device finds no passkey of theirs there; the
passkey is removed. axe-core on every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PAGE_TIMEOUT_MS, assert_accessible
from tests.browser.test_staff_journey import heading, staff_sign_in, tap_and_load
from tests.support import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

expect.set_options(timeout=PAGE_TIMEOUT_MS)

DESKTOP = {"viewport": {"width": 1280, "height": 800}, "is_mobile": False}


def virtual_authenticator(page) -> str:
    """A platform authenticator in this browser context that verifies the user (as a phone's
    fingerprint would) without anyone touching it."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    page.authenticator = (cdp, added["authenticatorId"])
    return added["authenticatorId"]


def credentials(page) -> list[dict]:
    cdp, authenticator = page.authenticator
    return cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]


def sign_out_then_password(page, url: str, email: str) -> None:
    """Sign out, then the sign-in's first step (the password) as `email`."""
    tap_and_load(page, page.get_by_role("button", name="Sign out"))
    page.goto(url + "/staff/sign-in")
    password_step(page, email)


def password_step(page, email: str) -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    tap_and_load(page, page.get_by_role("button", name="Sign in", exact=True))


def test_a_case_manager_adds_a_passkey_signs_in_with_it_and_removes_it(live_server, phones):
    person = live_server.create_case_manager_with_app()
    other = live_server.create_case_manager_with_app(name="Robin Other")
    page = phones.open(**DESKTOP)
    virtual_authenticator(page)

    page.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(page, person["email"], TEST_PASSWORD)
    page.goto(live_server.url + "/staff/account")
    tap_and_load(page, page.get_by_role("link", name="Second factor and recovery codes"))
    expect(heading(page, "Second factor")).to_be_visible()
    assert_accessible(page)
    tap_and_load(page, page.get_by_role("link", name="Add a passkey"))
    expect(heading(page, "Add a passkey")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("A name for this passkey").fill("Office computer")
    tap_and_load(page, page.get_by_role("button", name="Add a passkey"))
    # Their first passkey and no recovery codes yet: ten, shown once.
    expect(heading(page, "Your recovery codes")).to_be_visible()
    assert_accessible(page)
    tap_and_load(page, page.get_by_role("link", name="I have kept them, continue"))
    expect(page.get_by_text("Passkey: Office computer")).to_be_visible()
    assert len(credentials(page)) == 1

    # --- signed out, then in with the password and the passkey -------------------------------
    sign_out_then_password(page, live_server.url, person["email"])
    expect(heading(page, "Type the code from your app")).to_be_visible()
    assert_accessible(page)
    tap_and_load(page, page.get_by_role("button", name="Use your passkey instead"))
    expect(page).to_have_url(live_server.url + "/staff/")
    expect(heading(page, f"Hello, {person['name']}")).to_be_visible()
    assert_accessible(page)

    # --- another person, whose passkey is on their own device, tries this one ---------------
    tap_and_load(page, page.get_by_role("button", name="Sign out"))
    their_device = phones.open(**DESKTOP)
    virtual_authenticator(their_device)
    their_device.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(their_device, other["email"], TEST_PASSWORD)
    their_device.goto(live_server.url + "/staff/account/passkeys/new")
    tap_and_load(their_device, their_device.get_by_role("button", name="Add a passkey"))
    expect(heading(their_device, "Your recovery codes")).to_be_visible()
    page.goto(live_server.url + "/staff/sign-in")
    password_step(page, other["email"])
    page.get_by_role("button", name="Use your passkey instead").tap()
    # This device holds only the first person's passkey: it cannot answer for this account.
    expect(page.get_by_role("alert")).to_contain_text("Your passkey did not answer")
    expect(heading(page, "Type the code from your app")).to_be_visible()
    assert_accessible(page)
    page.goto(live_server.url + "/staff/sign-in")

    # --- the owner removes it ------------------------------------------------------------------
    password_step(page, person["email"])
    tap_and_load(page, page.get_by_role("button", name="Use your passkey instead"))
    page.goto(live_server.url + "/staff/account/second-factor")
    tap_and_load(page, page.get_by_role("button", name="Remove Office computer"))
    expect(page.get_by_role("status")).to_contain_text("Removed")
    expect(page.get_by_text("Passkey: Office computer")).to_have_count(0)
    assert_accessible(page)
    assert re.search(r"/staff/account/second-factor$", page.url)
