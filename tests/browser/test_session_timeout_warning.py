"""The idle-timeout warning (R24): shown two minutes before the server would sign the person
out, with "Stay signed in" that keeps the session (JavaScript enhancement)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PAGE_TIMEOUT_MS, assert_accessible
from tests.browser.test_staff_journey import staff_sign_in
from tests.support import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

expect.set_options(timeout=PAGE_TIMEOUT_MS)


@pytest.mark.requirement("R24")
def test_staff_are_warned_before_the_idle_timeout_and_can_stay_signed_in(live_server, phone):
    admin = live_server.create_agency_admin()
    phone.clock.install()
    phone.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(phone, admin["email"], TEST_PASSWORD)
    warning = phone.get_by_role("alertdialog", name="Are you still there?")
    expect(warning).to_be_hidden()
    phone.clock.fast_forward("27:50")  # staff idle timeout 30 min, warning at 28 min
    expect(warning).to_be_hidden()
    phone.clock.fast_forward("00:15")
    expect(warning).to_be_visible()
    stay = warning.get_by_role("button", name="Stay signed in")
    expect(stay).to_be_focused()
    assert_accessible(phone)
    with phone.expect_response(lambda r: r.url.endswith("/session/keep-alive")) as answer:
        stay.tap()
    assert answer.value.status == 204
    expect(warning).to_be_hidden()
