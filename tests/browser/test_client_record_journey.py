"""Issue 3's journey on a phone: import the sample HMIS export, find a client, record a paper
Release of Information, add a colleague of another agency to the care team, who then sees the
client. axe-core runs on every page."""

from __future__ import annotations

import csv
import re
import zipfile

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PAGE_TIMEOUT_MS, assert_accessible
from tests.browser.test_staff_journey import heading, staff_sign_in, tap_and_load
from tests.support import TEST_PASSWORD, shared_path

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

expect.set_options(timeout=PAGE_TIMEOUT_MS)


@pytest.fixture
def export_zip(tmp_path):
    folder = shared_path("data", "hmis", "greenriver-fy2026-export")
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        for file in folder.glob("*.csv"):
            bundle.write(file, file.name)
    with (folder / "Client.csv").open(newline="") as handle:
        first = next(csv.DictReader(handle))
    return path, first


def nav(page, name):
    tap_and_load(
        page,
        page.get_by_role("navigation", name="Staff").get_by_role("link", name=name, exact=True),
    )


@pytest.mark.requirement("R63")
def test_an_imported_client_is_shared_with_a_colleague_of_another_agency(
    live_server, phones, export_zip
):
    path, first = export_zip
    admin = live_server.create_agency_admin(name="Alex Admin")
    colleague = live_server.create_agency_admin(name="Blair Partner")

    phone = phones.open()
    phone.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(phone, admin["email"], TEST_PASSWORD)

    # Import the sample export.
    nav(phone, "HMIS import")
    expect(heading(phone, "Import from the HMIS")).to_be_visible()
    assert_accessible(phone)
    phone.get_by_label("HMIS CSV export (.zip)").set_input_files(str(path))
    tap_and_load(phone, phone.get_by_role("button", name="Import", exact=True))
    expect(phone.get_by_role("status")).to_contain_text("Imported")
    assert_accessible(phone)

    # Find the first client of the export by last name.
    nav(phone, "Clients")
    phone.get_by_label("Name, HMIS ID or last 4 of SSN").fill(first["LastName"])
    tap_and_load(phone, phone.get_by_role("button", name="Search"))
    assert_accessible(phone)
    tap_and_load(phone, phone.get_by_role("link", name=re.compile(first["FirstName"])).first)
    expect(heading(phone, re.compile(first["LastName"]))).to_be_visible()
    expect(phone.get_by_text("Imported from the HMIS")).to_be_visible()
    assert first["SSN"] not in phone.content()
    record_url = phone.url
    assert_accessible(phone)

    # Record a paper ROI.
    tap_and_load(phone, phone.get_by_role("link", name="Record a paper Release of Information"))
    assert_accessible(phone)
    phone.get_by_label("They gave permission to share").check()
    tap_and_load(phone, phone.get_by_role("button", name="Record"))
    expect(phone.get_by_text(re.compile("In force until"))).to_be_visible()
    assert_accessible(phone)

    # Add a colleague of another agency to the care team.
    phone.get_by_label("Staff member's work email address").fill(colleague["email"])
    tap_and_load(phone, phone.get_by_role("button", name="Add to the care team"))
    expect(phone.get_by_role("status")).to_contain_text("Added to the care team")
    expect(phone.get_by_text("Blair Partner")).to_be_visible()
    assert_accessible(phone)

    # The colleague, on their own phone, now sees the client.
    other = phones.open()
    other.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(other, colleague["email"], TEST_PASSWORD)
    nav(other, "Clients")
    expect(other.get_by_role("link", name=re.compile(first["LastName"]))).to_be_visible()
    assert_accessible(other)
    other.goto(record_url)
    expect(other.get_by_text("shared under a Release of Information")).to_be_visible()
    expect(other.get_by_role("link", name="Edit identity and contact")).to_have_count(0)
    assert_accessible(other)
