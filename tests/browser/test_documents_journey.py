"""Issue 7 on phones (375x667, touch): a case manager asks for a document, the client answers
with a photo (the upload goes through the progress-bar enhancement), the case manager looks at
the preview and accepts it, the client sees "Accepted"; axe-core on every page, errors too."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

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
from tests.support import TEST_PASSWORD, shared_path

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

expect.set_options(timeout=PAGE_TIMEOUT_MS)


def test_a_client_answers_a_document_request_with_a_photo(live_server, phones, tmp_path):
    started = time.perf_counter()
    t = translator(live_server.app, "en")
    people = seed_connected(live_server)
    photo = tmp_path / "IMG_2041.jpg"
    photo.write_bytes(
        shared_path("data", "uploads", "malformed-images-pillow", "exif_gps.jpg").read_bytes()
    )
    not_a_photo = tmp_path / "notes.pdf"
    not_a_photo.write_bytes(b"this is not a PDF at all")
    with live_server.app.app_context():
        client_id = db.session.scalar(
            db.select(Client.public_id).where(Client.email == people["client_email"])
        )
        db.session.remove()

    staff = phones.open()
    staff.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(staff, people["staff_email"], TEST_PASSWORD)
    staff.goto(f"{live_server.url}/staff/clients/{client_id}")
    tap_and_load(staff, staff.get_by_role("link", name="Ask the client for a document"))
    expect(heading(staff, re.compile("for a document"))).to_be_visible()
    tap_and_load(staff, staff.get_by_role("button", name="Send the request"))
    expect(staff.locator(".error-summary")).to_be_visible()  # no kind, no name
    assert_accessible(staff)
    staff.get_by_label("Kind of document").select_option("photo_id")
    staff.get_by_label("Which document (the client sees this)").fill("A photo of your ID")
    tap_and_load(staff, staff.get_by_role("button", name="Send the request"))
    expect(staff.get_by_text("Request sent.")).to_be_visible()
    assert_accessible(staff)

    phone = phones.open()
    phone.goto(live_server.url + "/sign-in")
    client_sign_in(phone, live_server, people, t, FIRST_PASSWORD)
    tap_and_load(phone, phone.get_by_role("link", name="Send a document: A photo of your ID"))
    expect(heading(phone, "Documents")).to_be_visible()
    assert_accessible(phone)
    phone.get_by_label("Choose the file or take a photo").set_input_files(str(not_a_photo))
    phone.get_by_role("button", name="Send", exact=True).tap()  # the enhanced upload (XHR)
    expect(phone.locator(".error-summary")).to_be_visible()
    expect(phone.locator(".error-summary")).to_contain_text("cannot be used")
    # The refused file is still the one chosen (the enhancement keeps the input element).
    assert phone.evaluate("document.querySelector('input[type=file]').files[0].name") == "notes.pdf"
    assert_accessible(phone)
    phone.get_by_label("Choose the file or take a photo").set_input_files(str(photo))
    phone.get_by_role("button", name="Send", exact=True).tap()
    expect(phone.get_by_text("Sent. We check the file for safety")).to_be_visible()
    expect(phone.locator(".status-waiting")).to_have_text("Waiting for review")
    assert_accessible(phone)

    tap_and_load(
        staff,
        staff.get_by_role("navigation", name="Staff").get_by_role(
            "link", name=re.compile("^Review")
        ),
    )
    tap_and_load(staff, staff.get_by_role("link", name=re.compile("Rivera")).first)
    preview = staff.get_by_role("img", name="The photo the client sent")
    expect(preview).to_be_visible()
    assert staff.evaluate("document.querySelector('.document-preview img').naturalWidth") > 0
    assert_accessible(staff)
    tap_and_load(staff, staff.get_by_role("button", name="Accept", exact=True))
    expect(staff.get_by_text("Marked as done")).to_be_visible()

    phone.reload()
    expect(phone.locator(".status-accepted")).to_have_text("Accepted")
    expect(phone.get_by_role("link", name=re.compile("^Download IMG_2041.jpg"))).to_be_visible()
    assert_accessible(phone)
    print(f"\n[journey documents] {time.perf_counter() - started:.1f} s")
