"""Issue 8 on phones (375x667, touch): staff ask for the ROI, the client agrees to sign
electronically (reading a word from the sample PDF), reads, draws and signs, and downloads the
sealed copy; axe-core on every page, errors too."""

from __future__ import annotations

import io
import re
import time

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from portal.domain.models import Client
from portal.extensions import db
from tests.browser.conftest import PAGE_TIMEOUT_MS, assert_accessible
from tests.browser.test_client_account_journey import (
    FIRST_PASSWORD,
    client_sign_in,
    seed_connected,
    translator,
)
from tests.browser.test_staff_journey import heading, staff_sign_in, tap_and_load
from tests.support import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

expect.set_options(timeout=PAGE_TIMEOUT_MS)


@pytest.mark.requirement("R51", "R52", "R55")
def test_a_client_signs_the_release_of_information_with_a_drawn_signature(live_server, phones):
    started = time.perf_counter()
    t = translator(live_server.app, "en")
    people = seed_connected(live_server)
    with live_server.app.app_context():
        client_id = db.session.scalar(
            db.select(Client.public_id).where(Client.email == people["client_email"])
        )
        db.session.remove()

    staff = phones.open()
    staff.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(staff, people["staff_email"], TEST_PASSWORD)
    staff.goto(f"{live_server.url}/staff/clients/{client_id}")
    tap_and_load(
        staff,
        staff.get_by_role("button", name="Ask the client to sign the Release of Information"),
    )
    expect(staff.get_by_text("Sent. The client sees it on their home page.")).to_be_visible()
    assert_accessible(staff)

    phone = phones.open()
    phone.goto(live_server.url + "/sign-in")
    client_sign_in(phone, live_server, people, t, FIRST_PASSWORD)
    tap_and_load(phone, phone.get_by_role("link", name="Release of Information"))
    expect(heading(phone, "Signing documents on your phone")).to_be_visible()
    assert_accessible(phone)
    tap_and_load(phone, phone.get_by_role("button", name="Agree"))
    expect(phone.locator(".error-summary")).to_be_visible()  # no box ticked, no word
    assert_accessible(phone)
    sample = phone.request.get(live_server.url + "/esign/sample.pdf")
    word = PdfReader(io.BytesIO(sample.body())).pages[0].extract_text().split()[-1]
    phone.get_by_label("The word in the sample PDF").fill(word)
    phone.get_by_label("I agree to get and sign documents electronically").check()
    tap_and_load(phone, phone.get_by_role("button", name="Agree"))
    expect(heading(phone, re.compile("Release of Information"))).to_be_visible()
    assert_accessible(phone)
    # Issue 17: the summary and the action lead; the full text is one tap away (it was about
    # seven screens before the Sign button).
    sign_button = phone.get_by_role("button", name="Sign", exact=True)
    full_text = phone.locator("details.full-text .document-text")
    expect(full_text).to_be_hidden()
    assert phone.evaluate("() => document.querySelector('details.full-text').open") is False
    where = "e => e.getBoundingClientRect().top + window.scrollY"
    form_top = phone.locator("form[data-sign]").evaluate(where)
    button_top = sign_button.evaluate(where)
    print(f"\n[sign page] form at {form_top:.0f} px, Sign button at {button_top:.0f} px")
    assert form_top < 1.5 * 667, f"the signing form starts {form_top:.0f} px down"
    assert button_top < 2 * 667, f"the Sign button starts {button_top:.0f} px down"
    phone.get_by_text("Read the full text you sign").tap()
    expect(full_text).to_be_visible()
    expect(full_text).to_contain_text("What this is")

    tap_and_load(phone, sign_button)
    expect(phone.locator(".error-summary")).to_contain_text("I want to sign this electronically")
    assert_accessible(phone)
    phone.get_by_label("I want to sign this electronically").check()
    phone.get_by_label("Type your full name").fill("Rosa María Rivera")
    box = phone.locator(".signature-pad canvas").bounding_box()
    phone.mouse.move(box["x"] + 20, box["y"] + 60)
    phone.mouse.down()
    for step in range(1, 12):
        phone.mouse.move(box["x"] + 20 + step * 25, box["y"] + 60 + (15 if step % 2 else -15))
    phone.mouse.up()
    assert phone.locator("input[name=drawn]").input_value().startswith("M")
    tap_and_load(phone, phone.get_by_role("button", name="Sign", exact=True))
    expect(phone.get_by_text("Signed. Your copy is in Documents.")).to_be_visible()
    assert_accessible(phone)
    link = phone.get_by_role("link", name=re.compile(r"^Download signed-.*\.pdf$"))
    copy = phone.request.get(live_server.url + link.get_attribute("href")).body()
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(copy)).pages)
    assert "Rosa María Rivera" in text.split("\n") and "Certificate of signature" in text
    print(f"\n[journey e-sign] {time.perf_counter() - started:.1f} s")


def test_an_administrator_publishes_a_document_to_sign(live_server, phones):
    """Documents to sign on a phone: the list, a refused form, a preview, publishing, a new
    version; axe-core on every page, errors too."""
    admin = live_server.create_agency_admin(name="Alex Admin")
    page = phones.open()
    page.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(page, admin["email"], TEST_PASSWORD)
    tap_and_load(page, page.get_by_role("link", name="Documents to sign"))
    expect(heading(page, "Documents to sign")).to_be_visible()
    expect(page.get_by_role("link", name="Release of Information")).to_be_visible()
    assert_accessible(page)

    tap_and_load(page, page.get_by_role("link", name="Add a document to sign"))
    tap_and_load(page, page.get_by_role("button", name="Publish"))
    expect(page.locator(".error-summary")).to_be_visible()  # nothing filled in
    assert_accessible(page)

    page.get_by_label("Name staff see").fill("Program rules")
    english = page.get_by_role("group", name="English")
    english.get_by_label("Title").fill("Program rules")
    english.get_by_label("In short (plain words)").fill("Quiet hours and visitors.")
    english.get_by_label("Full text").fill("## Quiet hours\n\nFrom **10 pm** to 6 am.")
    tap_and_load(page, page.get_by_role("button", name="Preview"))
    preview = page.locator("section.document-text")
    expect(preview.get_by_role("heading", name="Quiet hours")).to_be_visible()
    expect(preview.locator("strong")).to_have_text("10 pm")
    assert_accessible(page)

    tap_and_load(page, page.get_by_role("button", name="Publish"))
    expect(page.get_by_text("Published. Staff can ask clients to sign it.")).to_be_visible()
    expect(page.get_by_role("cell", name="English")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("group", name="English").get_by_label("Full text").fill("From 11 pm.")
    tap_and_load(page, page.get_by_role("button", name="Publish"))
    expect(page.get_by_text("Version 2 published.")).to_be_visible()
    assert_accessible(page)
