"""Issue 5's journey on phones (375x667, touch), axe-core on every page, error states included.

A client updates their phone and, with the phone's location, where to find them; both wait
for review. Their case manager accepts the phone and rejects the location with a reason; the
client sees both decisions, and the record page shows the phone as client supplied."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

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


@pytest.mark.requirement("R33")
def test_a_client_updates_phone_and_location_and_sees_the_decisions(live_server, phones):
    started = time.perf_counter()
    t = translator(live_server.app, "en")
    people = seed_connected(live_server)

    # --- the client, on their phone, with location permission granted ---------------------
    phone = phones.open(
        geolocation={"latitude": 37.774929, "longitude": -122.419416},
        permissions=["geolocation"],
    )
    phone.goto(live_server.url + "/sign-in")
    client_sign_in(phone, live_server, people, t, FIRST_PASSWORD)
    expect(heading(phone, re.compile("^Hello"))).to_be_visible()
    assert_accessible(phone)

    tap_and_load(phone, phone.get_by_role("link", name="Update my phone, email and address"))
    expect(heading(phone, "My contact details")).to_be_visible()
    assert_accessible(phone)
    phone.locator("#phone_1_number").fill("12")
    tap_and_load(phone, phone.get_by_role("button", name="Send to my care team"))
    expect(phone.locator(".error-summary")).to_contain_text("Phone 1: enter a number we can call")
    assert_accessible(phone)
    phone.locator("#phone_1_number").fill("(415) 555-0123")
    phone.locator("#phone_1_kind").select_option("mobile")
    phone.locator("#phone_1_text").check()
    tap_and_load(phone, phone.get_by_role("button", name="Send to my care team"))
    expect(heading(phone, "What I sent")).to_be_visible()
    expect(phone.get_by_text("waiting for review")).to_have_count(1)
    assert_accessible(phone)

    phone.goto(live_server.url + "/home")
    tap_and_load(phone, phone.get_by_role("link", name="Tell my care team where to find me"))
    expect(heading(phone, "Where to find me")).to_be_visible()
    phone.get_by_label("A vehicle").check()
    phone.get_by_label("Shelter name or a landmark (optional)").fill("Blue van behind the library")
    phone.get_by_label("When are you usually there? (optional)").fill("Evenings")
    phone.get_by_label("Also share my phone's location (about 100 m)").check()
    expect(phone.get_by_text("Location found.")).to_be_visible()
    assert phone.locator("input[name=latitude]").input_value() == "37.775"
    assert_accessible(phone)
    tap_and_load(phone, phone.get_by_role("button", name="Send to my care team"))
    expect(phone.get_by_text("Only your care team will see where to find you.")).to_be_visible()
    expect(phone.get_by_text("Waiting for review.")).to_be_visible()
    assert_accessible(phone)

    # --- the case manager decides --------------------------------------------------------
    staff = phones.open()
    staff.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(staff, people["staff_email"], TEST_PASSWORD)
    review_link = staff.get_by_role("navigation", name="Staff").get_by_role(
        "link", name=re.compile("^Review")
    )
    expect(review_link).to_contain_text("2")
    tap_and_load(staff, review_link)
    expect(heading(staff, "Review queue")).to_be_visible()
    assert_accessible(staff)

    tap_and_load(
        staff, staff.get_by_role("row", name=re.compile("Phone numbers")).get_by_role("link")
    )
    expect(staff.get_by_text("(415) 555-0123")).to_be_visible()
    assert_accessible(staff)
    tap_and_load(staff, staff.get_by_role("button", name="Accept and update the record"))
    expect(staff.get_by_text("Accepted. The record is updated.")).to_be_visible()

    tap_and_load(
        staff, staff.get_by_role("row", name=re.compile("Where to find me")).get_by_role("link")
    )
    expect(staff.get_by_text("Blue van behind the library")).to_be_visible()
    expect(staff.get_by_text("37.775, -122.419")).to_be_visible()
    tap_and_load(staff, staff.get_by_role("button", name="Reject"))
    expect(staff.locator(".error-summary")).to_contain_text("Choose a reason")
    assert_accessible(staff)
    staff.get_by_label("Another reason, written below.").check()
    staff.get_by_label(re.compile("^A note for the client")).fill(
        "Please tell us at the drop-in where the van parks."
    )
    tap_and_load(staff, staff.get_by_role("button", name="Reject"))
    expect(staff.get_by_text("Not accepted. The client will see why.")).to_be_visible()
    assert_accessible(staff)

    staff.goto(live_server.url + people["record"])
    expect(staff.get_by_text("Client supplied through the portal")).to_have_count(1)
    assert_accessible(staff)

    # --- the client sees both decisions ---------------------------------------------------
    phone.goto(live_server.url + "/updates")
    expect(phone.locator(".status-active")).to_have_text([re.compile(r"^\s*accepted$")])
    expect(phone.locator(".status-deactivated")).to_have_text([re.compile(r"^\s*not accepted$")])
    expect(phone.get_by_text("Please tell us at the drop-in where the van parks.")).to_be_visible()
    assert_accessible(phone)

    # --- the other pages, each checked with axe ------------------------------------------
    phone.goto(live_server.url + "/record-request")
    tap_and_load(phone, phone.get_by_role("button", name="Send my request"))
    expect(phone.locator(".error-summary")).to_contain_text("Choose at least one part")
    assert_accessible(phone)
    phone.get_by_label("Enrollments and services").check()
    phone.get_by_label("I will pick it up at the agency").check()
    tap_and_load(phone, phone.get_by_role("button", name="Send my request"))
    expect(phone.get_by_text("being prepared")).to_be_visible()
    phone.goto(live_server.url + "/correction")
    expect(heading(phone, "Ask to correct something")).to_be_visible()
    assert_accessible(phone)
    phone.goto(live_server.url + "/account")
    assert_accessible(phone)
    phone.goto(live_server.url + "/account/email")
    assert_accessible(phone)

    staff.goto(live_server.url + "/staff/record-requests")
    expect(staff.get_by_text("Enrollments and services")).to_be_visible()
    assert_accessible(staff)
    tap_and_load(staff, staff.get_by_role("button", name=re.compile("^Mark as fulfilled")))
    expect(staff.get_by_text("Marked as fulfilled.")).to_be_visible()
    staff.goto(live_server.url + people["record"] + "/tasks")
    assert_accessible(staff)
    staff.get_by_label("Update where we can find you").check()
    tap_and_load(staff, staff.get_by_role("button", name="Send the request"))
    expect(staff.get_by_text("Request sent.")).to_be_visible()
    assert_accessible(staff)
    staff.goto(live_server.url + "/staff/coordinated-entry")
    assert_accessible(staff)
    phone.goto(live_server.url + "/home")
    expect(phone.get_by_text("Update where we can find you")).to_be_visible()
    assert_accessible(phone)
    print(f"\n[journey self-service] {time.perf_counter() - started:.1f} s")
