"""Issue 17 on a 375 x 667 touch screen, in English and Spanish: the header and the menu leave
the first screen to the page (its heading within the top fifth), nothing scrolls sideways,
"Finish and log out" and "Leave quickly" are always there, and every header and menu control
is at least 44 x 44 CSS px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

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

PAGES = ("/home", "/messages", "/documents", "/resources", "/where", "/account", "/updates")
MEASURE = """() => {
  const h1 = document.querySelector('main h1');
  const controls = [...document.querySelectorAll('.site-header button, .client-nav a')];
  return {
    heading: h1 ? h1.getBoundingClientRect().top : null,
    scroll: document.documentElement.scrollWidth,
    smallest: Math.min(...controls.map(e => {
      const r = e.getBoundingClientRect(); return Math.min(r.width, r.height); })),
  };
}"""


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.requirement("R25")
def test_the_first_screen_belongs_to_the_page(live_server, phones, lang):
    t = translator(live_server.app, lang)
    people = seed_connected(live_server)
    phone = phones.open()
    phone.goto(live_server.url + "/sign-in")
    client_sign_in(phone, live_server, people, translator(live_server.app, "en"), FIRST_PASSWORD)
    if lang == "es":
        tap_and_load(phone, phone.locator("button[name=lang][value=es]"))
    width, height = 375, 667
    for path in PAGES:
        phone.goto(live_server.url + path)
        found = phone.evaluate(MEASURE)
        assert found["heading"] is not None, path
        assert found["heading"] <= height * 0.20, (path, lang, found)
        assert found["scroll"] <= width, (path, lang, found)
        assert found["smallest"] >= 44, (path, lang, found)
        expect(phone.get_by_role("button", name=t("Finish and log out"))).to_be_visible()
        expect(phone.get_by_role("button", name=t("Leave quickly"))).to_be_visible()


NAV_FITS = """(width) => [...document.querySelectorAll('.client-nav a, .site-header button')]
  .filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > width + 1)
  .map(e => `${e.innerText.trim()}: ${Math.round(e.getBoundingClientRect().right)} px`)"""


@pytest.mark.parametrize(
    ("lang", "width", "text_size"),
    [("en", 320, "112.5%"), ("es", 320, "112.5%"), ("es", 375, "225%")],
)
def test_the_menu_fits_a_small_screen_and_large_text(live_server, phones, lang, width, text_size):
    """WCAG 1.4.10 (reflow at 320 CSS px) and 1.4.4 (text at 200%: the browser's text size
    doubled on the page's own 112.5%): every menu label and header button shows whole, and
    the page does not scroll sideways."""
    t = translator(live_server.app, lang)
    people = seed_connected(live_server)
    phone = phones.open(viewport={"width": width, "height": 568})
    phone.goto(live_server.url + "/sign-in")
    client_sign_in(phone, live_server, people, translator(live_server.app, "en"), FIRST_PASSWORD)
    if lang == "es":
        tap_and_load(phone, phone.locator("button[name=lang][value=es]"))
    expect(phone.get_by_role("navigation", name=t("Main"))).to_be_visible()
    phone.evaluate("(size) => { document.documentElement.style.fontSize = size; }", text_size)
    # Measured against the screen's width: a mobile browser widens its layout viewport (and
    # innerWidth) to whatever sticks out.
    assert phone.evaluate(NAV_FITS, width) == []
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= width
