"""Issue 21's HMIS bridge on phones (375x667, touch), axe-core on every page.

A client checks in and tells their care team where to find them; the case manager accepts
the place, and the "To enter in the HMIS" worklist shows both (with its count in the
navigation). The agency administrator makes an export and downloads its zip (the sign-in is
fresh; then, five minutes later, only after the password and an authenticator code again).
The zip holds the two CurrentLivingSituation rows, and the portal's own importer takes it
back. Last, a change in the export is done only when the export is confirmed; a check-in made
after it is marked "Done in the HMIS" by hand and taken back; each moves the navigation's count.
"""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from playwright.sync_api import expect

from portal.domain.core import clock, crypto
from portal.domain.hmis.export._layout import (
    CHECK_IN_CLS,
    CHECK_IN_DETAILS,
    CLS_CSV,
    PLACE_TO_CLS,
    USER_CSV,
)
from portal.domain.hmis.importer import import_export
from portal.domain.models import (
    Agency,
    Client,
    Enrollment,
    HmisLivingSituation,
    HmisUser,
    Organization,
    Project,
)
from portal.extensions import db
from tests.browser.conftest import PAGE_TIMEOUT_MS, assert_accessible
from tests.browser.test_client_account_journey import (
    FIRST_PASSWORD,
    client_sign_in,
    seed_connected,
    translator,
)
from tests.browser.test_staff_journey import APP_KEYS, heading, staff_sign_in, tap_and_load
from tests.support import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

expect.set_options(timeout=PAGE_TIMEOUT_MS)

HMIS_USER_ID = "29"
LANDMARK = "Blue tent under the 5th St bridge"
TIMES = "After 9 pm"


def seed_for_export(live_server, people: dict) -> dict:
    """The client enrolled (since a month ago) in an open street-outreach project of their
    agency, and the agency's default HMIS user for exports."""
    suffix = uuid.uuid4().hex[:10]
    with live_server.app.app_context():
        client = db.session.scalar(db.select(Client).where(Client.email == people["client_email"]))
        agency = client.owning_agency
        organization = Organization(
            hud_organization_id=f"org-{suffix}", name="Outreach org", agency_id=agency.id
        )
        db.session.add(organization)
        db.session.flush()
        project = Project(
            hud_project_id=f"prj-{suffix}",
            organization_id=organization.id,
            name="Street outreach",
            project_type=4,
        )
        db.session.add(project)
        db.session.flush()
        enrollment = Enrollment(
            hud_enrollment_id=f"enr-{suffix}",
            client_id=client.id,
            project_id=project.id,
            entry_date=agency.today() - timedelta(days=30),
            relationship_to_hoh=1,
        )
        user = HmisUser(  # as the agency's import of the HMIS's User.csv brings it
            agency_id=agency.id,
            hud_user_id=HMIS_USER_ID,
            first_name="Intake",
            last_name="Desk",
            imported_at=clock.now(),
        )
        agency.hmis_user_id = HMIS_USER_ID
        db.session.add_all([enrollment, user])
        db.session.commit()
        seeded = {
            "agency_id": agency.id,
            "personal_id": client.personal_id,
            "enrollment_id": enrollment.hud_enrollment_id,
        }
        db.session.remove()
    return seeded


def to_enter_link(page):
    return page.get_by_role("navigation", name="Staff").get_by_role(
        "link", name=re.compile("^To enter in the HMIS")
    )


def expect_waiting(page, count: int) -> None:
    expect(to_enter_link(page).locator(".count")).to_have_attribute("data-waiting", str(count))
    expect(to_enter_link(page)).to_have_accessible_name(f"To enter in the HMIS {count} waiting")


def entry_card(page, kind: str):
    return page.locator("section.card").filter(
        has=page.get_by_role("heading", level=2, name=re.compile(f"^{kind}:"))
    )


def summary_value(page, term: str):
    """The value beside `term` in the page's summary list."""
    return (
        page.locator("dl.summary > div")
        .filter(has=page.locator("dt").get_by_text(term, exact=True))
        .locator("dd")
    )


def download_zip(phones, page, button, path):
    """Tap the download button; the zip is saved at `path`. Chromium ends the form's
    navigation when the answer turns out to be a file (net::ERR_ABORTED for the download's
    own request): that one "request failed" is the download, not a problem, and no other is
    taken out of the phones' list."""
    before = len(phones.problems)
    with page.expect_download() as started:
        button.tap()
    download = started.value
    assert download.failure() is None
    download.save_as(path)
    aborted = [
        problem
        for problem in phones.problems[before:]
        if problem == f"request failed: {download.url} net::ERR_ABORTED"
    ]
    assert len(aborted) <= 1, aborted
    for problem in aborted:
        phones.problems.remove(problem)
    return download


def read_csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))


@pytest.mark.requirement("R33")
def test_a_check_in_and_a_place_reach_the_worklist_and_an_export_that_imports_back(
    live_server, phones, tmp_path
):
    started = time.perf_counter()
    t = translator(live_server.app, "en")
    people = seed_connected(live_server)
    hmis = seed_for_export(live_server, people)

    # --- the client, on their phone: a check-in, then where to find them -----------------
    phone = phones.open()
    phone.goto(live_server.url + "/sign-in")
    client_sign_in(phone, live_server, people, t, FIRST_PASSWORD)
    expect(heading(phone, re.compile("^Hello"))).to_be_visible()
    assert_accessible(phone)
    tap_and_load(phone, phone.get_by_role("button", name="I'm still here"))
    expect(
        phone.get_by_text("Thank you. Your care team knows you checked in today.")
    ).to_be_visible()
    expect(phone.get_by_text(re.compile("^You last checked in on"))).to_be_visible()
    assert_accessible(phone)

    tap_and_load(phone, phone.get_by_role("link", name="Tell my care team where to find me"))
    expect(heading(phone, "Where to find me")).to_be_visible()
    assert_accessible(phone)
    phone.get_by_label("Street or encampment").check()
    phone.get_by_label("Shelter name or a landmark (optional)").fill(LANDMARK)
    phone.get_by_label("When are you usually there? (optional)").fill(TIMES)
    tap_and_load(phone, phone.get_by_role("button", name="Send to my care team"))
    expect(phone.get_by_text("Only your care team will see where to find you.")).to_be_visible()
    assert_accessible(phone)

    # --- the case manager: the check-in waits already; the place once accepted -----------
    staff = phones.open()
    staff.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(staff, people["staff_email"], TEST_PASSWORD)
    expect_waiting(staff, 1)  # the check-in: nobody has to accept it
    review_link = staff.get_by_role("navigation", name="Staff").get_by_role(
        "link", name=re.compile("^Review")
    )
    expect(review_link).to_contain_text("1")
    tap_and_load(staff, review_link)
    expect(heading(staff, "Review queue")).to_be_visible()
    assert_accessible(staff)
    tap_and_load(
        staff, staff.get_by_role("row", name=re.compile("Where to find me")).get_by_role("link")
    )
    expect(staff.get_by_text(LANDMARK)).to_be_visible()
    assert_accessible(staff)
    tap_and_load(staff, staff.get_by_role("button", name="Accept and update the record"))
    expect(staff.get_by_text("Accepted. The record is updated.")).to_be_visible()
    expect_waiting(staff, 2)

    tap_and_load(staff, to_enter_link(staff))
    expect(heading(staff, "To enter in the HMIS")).to_be_visible()
    expect(staff.get_by_role("status").filter(has_text="changes to enter")).to_have_text(
        "2 changes to enter"
    )
    check_in = entry_card(staff, "Check-in")
    place = entry_card(staff, "Where to find me")
    expect(check_in).to_contain_text("Checked in through the portal")
    expect(check_in).to_contain_text(hmis["personal_id"])
    expect(place).to_contain_text("Street or encampment")
    expect(place).to_contain_text(LANDMARK)
    expect(place).to_contain_text(TIMES)
    expect(place).to_contain_text("Accepted by")
    expect(place).to_contain_text(hmis["personal_id"])
    assert_accessible(staff)

    # --- the agency administrator makes an export and downloads it -------------------------
    admin = phones.open()
    admin.goto(live_server.url + "/staff/sign-in")
    staff_sign_in(admin, people["admin_email"], TEST_PASSWORD)
    tap_and_load(
        admin,
        admin.get_by_role("navigation", name="Staff").get_by_role("link", name="HMIS exports"),
    )
    expect(heading(admin, "HMIS exports")).to_be_visible()
    expect(admin.get_by_text("cannot be exported yet")).to_have_count(0)
    assert_accessible(admin)
    tap_and_load(admin, admin.get_by_role("button", name="Make an export of what is new"))
    expect(heading(admin, "Export 1")).to_be_visible()
    expect(admin.get_by_text("The export is made. Download it below.")).to_be_visible()
    expect(summary_value(admin, "Changes")).to_have_text("2")
    expect(summary_value(admin, CLS_CSV)).to_have_text("2 rows")
    expect(summary_value(admin, USER_CSV)).to_have_text("1 row")
    expect(admin.get_by_label("Your password", exact=True)).to_have_count(0)  # a fresh sign-in
    assert_accessible(admin)

    download_button = admin.get_by_role("button", name="Download the export (.zip)")
    zip_path = tmp_path / "hmis-export-1.zip"
    download = download_zip(phones, admin, download_button, zip_path)
    assert download.suggested_filename == "hmis-export-1.zip"
    assert_accessible(admin)  # still the export page

    # Five minutes later the same button asks for the password and an authenticator code.
    later = datetime.now(UTC) + timedelta(minutes=6)
    clock.freeze(later)
    try:
        admin.reload()
        expect(heading(admin, "Export 1")).to_be_visible()
        password = admin.get_by_label("Your password", exact=True)
        expect(password).to_be_visible()
        expect(admin.get_by_label("A code from your authenticator app")).to_be_visible()
        assert_accessible(admin)
        password.fill("not the password at all")
        tap_and_load(admin, download_button)
        expect(admin.locator(".error-summary")).to_contain_text("Your password is not right")
        assert_accessible(admin)
        admin.get_by_label("Your password", exact=True).fill(TEST_PASSWORD)
        admin.get_by_label("A code from your authenticator app").fill(
            pyotp.TOTP(APP_KEYS[people["admin_email"]]).at(later)
        )
        second_path = tmp_path / "again.zip"
        download_zip(phones, admin, download_button, second_path)
    finally:
        clock.unfreeze()
    assert second_path.read_bytes() == zip_path.read_bytes()  # the same bytes every time

    # --- the zip holds the rows --------------------------------------------------------
    with zipfile.ZipFile(zip_path) as archive:
        rows = read_csv(archive, CLS_CSV)
        users = read_csv(archive, USER_CSV)
    assert len(rows) == 2
    assert {row["PersonalID"] for row in rows} == {hmis["personal_id"]}
    assert {row["EnrollmentID"] for row in rows} == {hmis["enrollment_id"]}
    assert {row["UserID"] for row in rows} == {HMIS_USER_ID}
    by_situation = {int(row["CurrentLivingSituation"]): row for row in rows}
    assert set(by_situation) == {CHECK_IN_CLS, PLACE_TO_CLS["street"]}
    assert by_situation[CHECK_IN_CLS]["LocationDetails"] == CHECK_IN_DETAILS
    street = by_situation[PLACE_TO_CLS["street"]]["LocationDetails"]
    assert street == f"Place: {LANDMARK}. Usual times: {TIMES}."
    assert [user["UserID"] for user in users] == [HMIS_USER_ID]

    # --- and imports back (upserted by CurrentLivingSitID) ------------------------------
    details = {row["CurrentLivingSitID"]: row["LocationDetails"] for row in rows}
    with live_server.app.app_context():
        agency = db.session.get(Agency, hmis["agency_id"])
        counted = {}
        for attempt in ("first", "again"):
            report = import_export(zip_path, agency=agency)
            db.session.commit()
            assert report.ok, (attempt, report)
            assert report.is_delta
            counted[attempt] = report.files[CLS_CSV]
            assert counted[attempt].imported + counted[attempt].unchanged == 2, report
            assert counted[attempt].updated == 0 and not counted[attempt].skipped, report
        assert counted["first"].imported == 2  # new here: the portal never held them
        assert counted["again"].unchanged == 2  # the same zip again changes nothing
        stored = db.session.scalars(
            db.select(HmisLivingSituation).where(HmisLivingSituation.hud_id.in_(list(details)))
        ).all()
        assert {
            row.hud_id: crypto.decrypt_text(row.location_details_encrypted) for row in stored
        } == details
        assert {row.living_situation for row in stored} == set(by_situation)
        db.session.remove()

    # --- in an export: done when the export is confirmed, not by hand ---------------------
    staff.reload()
    exported = entry_card(staff, "Check-in")
    expect(exported).to_contain_text("Export 1")
    expect(exported).to_contain_text("Once the HMIS has imported export 1, confirm it on its page.")
    expect(exported.get_by_role("button", name=re.compile("^Done in the HMIS"))).to_have_count(0)
    assert_accessible(staff)

    # --- a new check-in after the export: done in the HMIS by hand, and taken back --------
    phone.goto(live_server.url + "/home")
    tap_and_load(phone, phone.get_by_role("button", name="I'm still here"))
    staff.reload()
    expect_waiting(staff, 3)
    fresh = entry_card(staff, "Check-in").filter(has_not_text="Export 1")
    tap_and_load(staff, fresh.get_by_role("button", name=re.compile("^Done in the HMIS")))
    expect(
        staff.get_by_text("Marked as entered in the HMIS. You can undo this for a day.")
    ).to_be_visible()
    expect_waiting(staff, 2)
    assert_accessible(staff)

    staff.get_by_label("Show").select_option(label="Done")
    tap_and_load(staff, staff.get_by_role("button", name="Filter"))
    expect(staff.get_by_role("status").filter(has_text="done")).to_have_text("1 change done")
    done = entry_card(staff, "Check-in")
    expect(done).to_contain_text("Entered in the HMIS")
    assert_accessible(staff)
    tap_and_load(staff, done.get_by_role("button", name=re.compile("^Undo: not entered yet")))
    expect(
        staff.get_by_text("The mark is taken back: it is on the list to enter again.")
    ).to_be_visible()
    expect_waiting(staff, 3)
    expect(staff.get_by_role("status").filter(has_text="done")).to_have_text("0 changes done")
    assert_accessible(staff)

    # --- the administrator confirms the HMIS imported export 1 ---------------------------
    admin.goto(live_server.url + "/staff/hmis/exports")  # the page last posted a download
    tap_and_load(admin, admin.get_by_role("link", name="Export 1"))
    tap_and_load(
        admin, admin.get_by_role("button", name="The HMIS imported it: mark its changes done")
    )
    expect(admin.get_by_text("Done: 2 changes are marked as entered in the HMIS.")).to_be_visible()
    assert_accessible(admin)
    staff.reload()
    expect_waiting(staff, 1)  # the check-in made after the export
    print(f"\n[journey hmis bridge] {time.perf_counter() - started:.1f} s")
