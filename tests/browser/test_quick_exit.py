"""Issue 17: "Leave quickly" on a shared phone. One tap (or Shift three times) ends the session
and puts an ordinary site in the page's place; Back then shows no portal page with client
data (the session is gone and pages are not cached)."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from portal.settings import current as current_settings
from tests.browser.conftest import PAGE_TIMEOUT_MS
from tests.browser.test_client_account_journey import (
    FIRST_PASSWORD,
    client_sign_in,
    seed_connected,
    translator,
)
from tests.browser.test_staff_journey import tap_and_load

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

expect.set_options(timeout=PAGE_TIMEOUT_MS)


def _neutral_site(phone, url: str) -> None:
    """The neutral site, answered here (no network in tests)."""
    phone.route(
        re.compile("^" + re.escape(url.rstrip("/"))),
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<title>Weather</title><h1>Weather</h1>"
        ),
    )


def _wait_until_signed_out(live_server, email: str, seconds: float = 10) -> None:
    """The session ended on the server (the beacon went out before the page was replaced)."""
    from portal.domain.models import ClientAccount, UserSession
    from portal.extensions import db

    end = time.monotonic() + seconds
    while True:
        with live_server.app.app_context():
            account = db.session.scalar(
                db.select(ClientAccount).where(ClientAccount.email == email)
            )
            live = db.session.scalar(
                db.select(db.func.count(UserSession.id)).where(
                    UserSession.account_kind == "client",
                    UserSession.account_id == account.id,
                    UserSession.ended_at.is_(None),
                )
            )
            db.session.remove()
        if live == 0:
            return
        assert time.monotonic() < end, "the session did not end"
        time.sleep(0.1)


@pytest.mark.parametrize("how", ["tap", "shift three times"])
@pytest.mark.requirement("R25")
def test_leave_quickly_ends_the_session_and_back_shows_no_client_data(live_server, phones, how):
    t = translator(live_server.app, "en")
    people = seed_connected(live_server)
    with live_server.app.app_context():
        away = current_settings().quick_exit_url
    phone = phones.open()
    _neutral_site(phone, away)
    phone.goto(live_server.url + "/sign-in")
    client_sign_in(phone, live_server, people, t, FIRST_PASSWORD)
    earlier_url = phone.url  # page A, before the private page
    tap_and_load(phone, phone.get_by_role("link", name="Messages", exact=True))
    expect(phone.get_by_role("heading", level=1)).to_be_visible()
    private_url = phone.url  # page P, the one left quickly
    assert private_url != earlier_url
    entries = phone.evaluate("history.length")  # the tab's history, ending in P

    if how == "tap":
        phone.get_by_role("button", name="Leave quickly").tap()
    else:
        for _ in range(3):
            phone.keyboard.press("Shift")
    phone.wait_for_url(re.compile("^" + re.escape(away.rstrip("/"))))
    expect(phone.get_by_role("heading", name="Weather")).to_be_visible()
    _wait_until_signed_out(live_server, people["client_email"])
    # The beacon's answer is never read (its page is gone): the browser calls it aborted.
    phones.problems[:] = [
        p for p in phones.problems if not p.startswith(f"request failed: {live_server.url}/leave ")
    ]

    # The page left was replaced (location.replace), not added to: the history did not grow,
    # and Back asks for the page before it (A), never P again. Either way the portal page asked
    # for finds no session (the sign-in page, whose address differs from P's with or without
    # replace: hence the checks on the history and on what Back asked for).
    assert phone.evaluate("history.length") == entries, "the private page is still in history"
    back = phone.go_back()
    phone.wait_for_load_state()
    assert back is not None, "Back went nowhere"
    asked = back.request
    while asked.redirected_from is not None:
        asked = asked.redirected_from
    assert asked.url == earlier_url, f"Back asked for {asked.url}, not the page before"
    assert phone.url != private_url
    expect(phone.get_by_label(t("Email address"))).to_be_visible()  # the sign-in page
    assert people["client_email"] not in phone.content()
    # Going to the private page directly asks for sign-in too: the session ended on the server.
    phone.goto(private_url)
    expect(phone.get_by_label(t("Email address"))).to_be_visible()


def test_typing_capitals_with_shift_does_not_leave(live_server, phones):
    """Shift three times leaves only when nothing else is pressed between: "SSI" typed with
    Shift for each letter stays on the page."""
    t = translator(live_server.app, "en")
    people = seed_connected(live_server)
    phone = phones.open()
    phone.goto(live_server.url + "/sign-in")
    client_sign_in(phone, live_server, people, t, FIRST_PASSWORD)
    phone.goto(live_server.url + "/messages/new")
    box = phone.get_by_label("Your message")
    box.click()
    for letter in "SSI":
        phone.keyboard.press(f"Shift+{letter}")
    phone.wait_for_timeout(300)
    expect(box).to_have_value("SSI")
    assert phone.url == live_server.url + "/messages/new"
