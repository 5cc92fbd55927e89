"""Single sign-on in a real browser (issue 19), at 375 x 667 and a desktop width: an agency
administrator requires work-account sign-in for their agency; a case manager's password is
then refused with where to sign in instead, and they sign in through the identity provider (a
real one, npm oidc-provider) and the portal's own second factor. axe-core on every portal page.
"""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from portal.domain.accounts.passwords import hash_password
from portal.domain.core.roles import Role
from portal.domain.models import Agency, StaffUser
from portal.extensions import db
from portal.integrations import oidc
from portal.settings import SsoProvider
from tests.browser.conftest import PAGE_TIMEOUT_MS, assert_accessible
from tests.browser.test_staff_journey import heading, staff_sign_in, tap_and_load, type_app_code
from tests.components import IdentityProvider, _identity_provider_or_missing
from tests.support import TEST_PASSWORD, TEST_TOTP_KEY, enrol_app

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

expect.set_options(timeout=PAGE_TIMEOUT_MS)

DESKTOP = {"viewport": {"width": 1280, "height": 800}, "is_mobile": False}
DOMAIN = "harbor.example"


@pytest.fixture
def harbor(live_server, tmp_path):
    """Harbor (an agency with an administrator and a case manager, both with an app) and its
    work-account provider, running and configured in the live portal."""
    _identity_provider_or_missing()
    suffix = uuid.uuid4().hex[:8]
    with live_server.app.app_context():
        agency = Agency(name=f"Harbor {suffix}", timezone="America/Los_Angeles")
        people = {}
        for role, name in ((Role.AGENCY_ADMIN, "Ada Admin"), (Role.CASE_MANAGER, "Casey Case")):
            member = StaffUser(
                email=f"{name.split()[0].lower()}-{suffix}@{DOMAIN}",
                display_name=name,
                role=role,
                agency=agency,
                password_hash=hash_password(TEST_PASSWORD),
            )
            db.session.add(member)
            db.session.flush()
            enrol_app(db.session, member.id)
            people[role] = {
                "email": member.email,
                "name": name,
                "login": f"{name.split()[0].lower()}-{suffix}",
            }
        db.session.add(agency)
        db.session.commit()
        agency_name = agency.name
        db.session.remove()
    provider = IdentityProvider(tmp_path, [live_server.url + "/staff/sso/harbor/callback"])
    provider.start()
    provider.people(**{person["login"]: {"email": person["email"]} for person in people.values()})
    original = live_server.app.extensions["portal.settings"]
    settings = original.with_overrides(
        sso_providers=(
            SsoProvider(
                key="harbor",
                name="Harbor work account",
                discovery_url=provider.discovery_url,
                client_id="portal",
                client_secret="portal-secret",
                domains=(DOMAIN,),
                agency=agency_name,
            ),
        )
    )
    live_server.app.extensions["portal.settings"] = settings
    oidc.init_app(live_server.app, settings)
    try:
        yield people
    finally:
        live_server.app.extensions["portal.settings"] = original
        oidc.init_app(live_server.app, original)
        provider.stop()


@pytest.mark.parametrize("size", [{}, DESKTOP], ids=["phone", "desktop"])
def test_an_admin_requires_sso_and_a_case_manager_signs_in_through_the_provider(
    live_server, phones, harbor, size
):
    admin, case_manager = harbor[Role.AGENCY_ADMIN], harbor[Role.CASE_MANAGER]

    # --- the administrator requires work-account sign-in -------------------------------------
    page = phones.open(**size)
    page.goto(live_server.url + "/staff/sign-in")
    expect(page.get_by_role("button", name="Sign in with Harbor work account")).to_be_visible()
    assert_accessible(page)
    staff_sign_in(page, admin["email"], TEST_PASSWORD)
    page.goto(live_server.url + "/staff/agency/settings")
    assert_accessible(page)
    page.get_by_label("Staff must sign in with their work account").check()
    tap_and_load(page, page.get_by_role("button", name="Save"))
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    expect(page.get_by_label("Staff must sign in with their work account")).to_be_checked()
    assert_accessible(page)

    # --- the case manager's password is refused (the one answer), with where to sign in ------
    device = phones.open(**size)
    device.goto(live_server.url + "/staff/sign-in")
    device.get_by_label("Email address").fill(case_manager["email"])
    device.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    tap_and_load(device, device.get_by_role("button", name="Sign in", exact=True))
    expect(device.get_by_text("use the work-account button on this page")).to_be_visible()
    assert_accessible(device)

    # --- through the provider (its own page), then the portal's second factor ----------------
    tap_and_load(device, device.get_by_role("button", name="Sign in with Harbor work account"))
    expect(device.get_by_role("heading", name="Harbor work account")).to_be_visible()
    device.get_by_label("Work account").fill(case_manager["login"])
    device.get_by_label("Password").fill("their provider password")
    tap_and_load(device, device.get_by_role("button", name="Sign in"))
    device.wait_for_url(live_server.url + "/staff/sign-in/code")
    expect(heading(device, "Type the code from your app")).to_be_visible()
    assert_accessible(device)
    type_app_code(device, TEST_TOTP_KEY)
    expect(heading(device, f"Hello, {case_manager['name']}")).to_be_visible()
    assert_accessible(device)
