"""Issue 21, out: what clients told the portal reaches the HMIS. The "to enter in the HMIS"
worklist (entries, marks, undo, scope by agency and policy) and the HUD CSV delta export
(exactly once, re-authentication, expiry, the command)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.domain.core import clock, crypto
from portal.domain.core.roles import Role
from portal.domain.hmis import export as hmis_export
from portal.domain.models import (
    AuditEvent,
    CareTeamMember,
    Client,
    Enrollment,
    HmisEntry,
    HmisExport,
    HmisUser,
    Organization,
    Project,
    ReviewItem,
)
from tests.support import TEST_PASSWORD, shared_path, signed_in, totp_now

SAMPLE = ("data", "hmis", "greenriver-fy2026-export")


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture
def me(app, make, agency_a, case_manager_user, database):
    """A signed-in client on the agency A case manager's care team, enrolled in an open
    street-outreach project of agency A since 2020."""
    account = make.client_account(agency_a)
    client = database.session.get(Client, account.client_id)
    client.care_team.append(CareTeamMember(staff=case_manager_user, is_case_manager=True))
    enroll(database, client, agency_a)
    browser = signed_in(app, account)
    browser.record = client
    return browser


def enroll(database, client, agency, *, project_type=4, entry=date(2020, 1, 1), exit=None):
    suffix = client.personal_id
    organization = database.session.scalar(
        select(Organization).where(Organization.agency_id == agency.id)
    )
    if organization is None:
        organization = Organization(
            hud_organization_id=f"org-{agency.id}", name="Outreach org", agency_id=agency.id
        )
        database.session.add(organization)
        database.session.flush()
    project = Project(
        hud_project_id=f"prj-{suffix}-{project_type}",
        organization_id=organization.id,
        name="Street outreach",
        project_type=project_type,
        operating_start=date(2019, 1, 1),
    )
    database.session.add(project)
    database.session.flush()
    enrollment = Enrollment(
        hud_enrollment_id=f"enr-{suffix}-{project_type}",
        client_id=client.id,
        project_id=project.id,
        entry_date=entry,
        exit_date=exit,
        relationship_to_hoh=1,
    )
    database.session.add(enrollment)
    database.session.commit()
    return enrollment


@pytest.fixture
def hmis_user(database, case_manager_user, agency_a):
    """The case manager is HMIS user 27 (by email); the agency's default is user 29."""
    mapped = HmisUser(
        agency_id=agency_a.id,
        hud_user_id="27",
        first_name="Casey",
        last_name="Case",
        email=case_manager_user.email.lower(),
        imported_at=clock.now(),
    )
    default = HmisUser(
        agency_id=agency_a.id,
        hud_user_id="29",
        first_name="Intake",
        last_name="Desk",
        imported_at=clock.now(),
    )
    database.session.add_all([mapped, default])
    agency_a.hmis_user_id = "29"
    database.session.commit()
    return mapped


def pending(database, client, kind):
    return database.session.scalar(
        select(ReviewItem)
        .where(ReviewItem.client_id == client.id, ReviewItem.kind == kind)
        .where(ReviewItem.status == "pending")
        .order_by(ReviewItem.id.desc())
    )


def decide(staff, item, action, **data):
    return staff.form(
        f"/staff/review/{item.public_id}",
        {"action": action, "version": str(item.version), **data},
    )


def share_place(me, database, **values):
    data = {"place_kind": "street", "place": "Under the 5th St bridge", "times": "After 9 pm"}
    response = me.form("/where", {**data, **values})
    assert response.status_code == 303, response.get_data(as_text=True)[:400]
    return pending(database, me.record, "location")


def entries(database, client=None):
    database.session.expire_all()
    query = select(HmisEntry).order_by(HmisEntry.id)
    if client is not None:
        query = query.where(HmisEntry.client_id == client.id)
    return database.session.scalars(query).unique().all()


def files_of(content: bytes) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {
            name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))
            for name in archive.namelist()
        }


def headers_of(content: bytes) -> dict[str, list[str]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {
            name: next(csv.reader(io.StringIO(archive.read(name).decode("utf-8"))))
            for name in archive.namelist()
        }


def audits(database, action, after=0):
    return database.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action, AuditEvent.id > after)
    ).all()


def last_audit_id(database):
    return database.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc())) or 0


# --- the worklist ------------------------------------------------------------------------


def test_a_check_in_and_each_accepted_change_wait_to_be_entered(
    me, case_manager, database, hmis_user
):
    assert me.form("/check-in", {}).status_code == 303
    item = share_place(me, database)
    assert decide(case_manager, item, "accept").status_code == 303
    me.form("/contact", {"preferred_contact": "text", "email": me.record.email})
    method = pending(database, me.record, "preferred_contact")
    assert decide(case_manager, method, "accept").status_code == 303

    rows = entries(database, me.record)
    assert [row.kind for row in rows] == ["check_in", "location", "preferred_contact"]
    assert rows[0].accepted_by_id is None and rows[0].contact_event_id is not None
    assert rows[1].accepted_by_id == item.decided_by_id and rows[1].care_team_only
    assert rows[1].review_item_id == item.id
    assert "Under the 5th St bridge" not in (rows[1].values_encrypted or "")  # encrypted

    page = case_manager.get("/staff/hmis/worklist").get_data(as_text=True)
    assert "Under the 5th St bridge" in page and "After 9 pm" in page
    assert me.record.personal_id in page
    assert page.index("Check-in") < page.index("Under the 5th St bridge")  # oldest first
    assert "A text message" in page
    # the navigation counts them
    home = case_manager.get("/staff/").get_data(as_text=True)
    assert 'data-waiting="3"' in home


@pytest.mark.requirement("R33")
def test_a_rejected_change_is_not_to_enter(me, case_manager, database):
    item = share_place(me, database)
    decide(case_manager, item, "reject", reason="could_not_confirm")
    assert entries(database, me.record) == []


def test_an_accepted_correction_carries_the_clients_words_and_the_staff_note(
    me, case_manager, database
):
    item = share_place(me, database)
    decide(case_manager, item, "accept")
    me.form("/correction", {"field": "location", "text": "I moved to the church steps"})
    correction = pending(database, me.record, "location_correction")
    assert correction is not None
    decide(case_manager, correction, "accept", hmis_note="Update the CLS note in Clarity")
    rows = [row for row in entries(database, me.record) if row.kind == "location_correction"]
    assert len(rows) == 1
    page = case_manager.get("/staff/hmis/worklist").get_data(as_text=True)
    assert "I moved to the church steps" in page
    assert "Update the CLS note in Clarity" in page


def test_done_marks_are_audited_and_can_be_undone_within_a_day(
    frozen_clock, app, me, case_manager_user, database
):
    case_manager = signed_in(app, case_manager_user)
    me.form("/check-in", {})
    (entry,) = entries(database, me.record)
    before = last_audit_id(database)
    done = case_manager.form(f"/staff/hmis/worklist/{entry.public_id}/entered", {})
    assert done.status_code == 303
    entry = entries(database, me.record)[0]
    assert entry.entered_at == frozen_clock.now() and entry.entered_by_id is not None
    assert len(audits(database, "hmis_entry.entered", before)) == 1
    assert "0 changes to enter" in case_manager.get("/staff/hmis/worklist").get_data(as_text=True)
    # a second mark at once finds it done: nothing changes
    again = case_manager.form(f"/staff/hmis/worklist/{entry.public_id}/entered", {})
    assert again.status_code == 303
    assert len(audits(database, "hmis_entry.entered", before)) == 1
    done_page = case_manager.get("/staff/hmis/worklist?show=done").get_data(as_text=True)
    assert "Undo: not entered yet" in done_page

    frozen_clock.advance(timedelta(hours=23))
    case_manager = signed_in(app, case_manager_user)  # a day later: signed in again
    undo = case_manager.form(f"/staff/hmis/worklist/{entry.public_id}/undo", {})
    assert undo.status_code == 303
    assert entries(database, me.record)[0].entered_at is None
    assert len(audits(database, "hmis_entry.entered_undone", before)) == 1

    case_manager.form(f"/staff/hmis/worklist/{entry.public_id}/entered", {})
    frozen_clock.advance(timedelta(hours=25))
    case_manager = signed_in(app, case_manager_user)
    late = case_manager.form(f"/staff/hmis/worklist/{entry.public_id}/undo", {})
    assert late.status_code == 303
    assert entries(database, me.record)[0].entered_at is not None
    assert "Undo" not in case_manager.get("/staff/hmis/worklist?show=done").get_data(as_text=True)


@pytest.mark.requirement("R30")
def test_the_worklist_is_scoped_by_agency_and_by_the_access_policy(
    app, make, me, case_manager, other_agency_admin, agency_a, database
):
    me.form("/check-in", {})
    item = share_place(me, database)
    decide(case_manager, item, "accept")
    check_in, place = entries(database, me.record)

    # another agency: nothing, and its entries are 404
    other = other_agency_admin.get("/staff/hmis/worklist").get_data(as_text=True)
    assert me.record.personal_id not in other
    assert (
        other_agency_admin.form(
            f"/staff/hmis/worklist/{check_in.public_id}/entered", {}
        ).status_code
        == 404
    )
    # a colleague of the same agency, not on the care team: the check-in, never the place
    colleague = signed_in(app, make.staff(Role.CASE_MANAGER, agency_a, name="Other CM"))
    page = colleague.get("/staff/hmis/worklist").get_data(as_text=True)
    assert me.record.personal_id in page and "Under the 5th St bridge" not in page
    assert colleague.form(f"/staff/hmis/worklist/{place.public_id}/entered", {}).status_code == 404
    # a client has no worklist
    assert me.get("/staff/hmis/worklist").status_code in (302, 303, 403, 404)


# --- the export ----------------------------------------------------------------------------


def accepted_place_and_check_in(me, case_manager, database):
    me.form("/check-in", {})
    item = share_place(
        me,
        database,
        place_kind="vehicle",
        use_my_location="y",
        latitude="37.7749295",
        longitude="-122.4194155",
    )
    assert decide(case_manager, item, "accept").status_code == 303


def test_an_export_holds_the_rows_with_the_hud_headers(
    me, case_manager, agency_admin, agency_admin_user, agency_a, database, hmis_user
):
    accepted_place_and_check_in(me, case_manager, database)
    me.form(
        "/contact",
        {
            "preferred_contact": "",
            "email": me.record.email,
            "phone_1_number": "(415) 555-0123",
            "phone_1_kind": "mobile",
            "phone_1_text": "y",
        },
    )
    phones = pending(database, me.record, "phones")
    decide(case_manager, phones, "accept")

    made = agency_admin.form("/staff/hmis/exports", {})
    assert made.status_code == 303
    export = database.session.scalars(select(HmisExport)).one()
    assert export.content_encrypted is not None and b"PK" not in export.content_encrypted[:4]
    content = hmis_export.content_of(export)
    files = files_of(content)
    assert set(files) == {
        "Export.csv",
        "CurrentLivingSituation.csv",
        "User.csv",
        "PortalContactChanges.csv",
    }
    (meta,) = files["Export.csv"]
    assert meta["ExportDirective"] == "1" and meta["CSVVersion"].startswith("2026 v")
    assert meta["ExportID"] == export.hud_export_id

    check_in, place = files["CurrentLivingSituation.csv"]
    enrollment = f"enr-{me.record.personal_id}-4"
    assert check_in["CurrentLivingSituation"] == "99" and place["CurrentLivingSituation"] == "116"
    assert check_in["EnrollmentID"] == place["EnrollmentID"] == enrollment
    assert check_in["PersonalID"] == me.record.personal_id
    assert check_in["UserID"] == "29"  # nobody accepted a check-in: the agency's default
    assert place["UserID"] == "27"  # the case manager, by email
    assert place["LocationDetails"].startswith("In a vehicle.")  # the lossy kind kept in words
    assert (
        "37.775, -122.419" in place["LocationDetails"] and "37.7749" not in place["LocationDetails"]
    )
    assert place["LeaveSituation14Days"] == "" and place["DateDeleted"] == ""
    assert {row["UserID"] for row in files["User.csv"]} == {"27", "29"}
    (phone_row,) = files["PortalContactChanges.csv"]
    assert phone_row["ChangeKind"] == "phones" and phone_row["Phone1Number"] == "+14155550123"
    assert phone_row["Phone1TextOK"] == "1" and phone_row["PersonalID"] == me.record.personal_id

    # the headers are exactly the HMIS's own (FY2026 sample)
    sample = shared_path(*SAMPLE)
    headers = headers_of(content)
    for name in ("Export.csv", "CurrentLivingSituation.csv", "User.csv"):
        with (sample / name).open(encoding="utf-8-sig", newline="") as file:
            assert headers[name] == next(csv.reader(file)), name
    # downloaded again: the same bytes
    assert hmis_export.content_of(database.session.get(HmisExport, export.id)) == content
    assert export.sha256 and export.size == len(content)


def test_each_change_goes_into_exactly_one_export_in_order(
    me, case_manager, agency_admin, database, hmis_user
):
    accepted_place_and_check_in(me, case_manager, database)
    agency_admin.form("/staff/hmis/exports", {})
    # between the exports: one accepted, one rejected, one check-in
    first_place = share_place(me, database, place="Library steps")
    decide(case_manager, first_place, "reject", reason="could_not_confirm")
    second_place = share_place(me, database, place="Church on 3rd")
    decide(case_manager, second_place, "accept")
    me.form("/check-in", {})
    agency_admin.form("/staff/hmis/exports", {})
    # nothing new: no third export
    third = agency_admin.form("/staff/hmis/exports", {})
    assert "there is nothing to export" in third.get_data(as_text=True)

    one, two = database.session.scalars(select(HmisExport).order_by(HmisExport.sequence)).all()
    assert (one.sequence, two.sequence) == (1, 2)
    first = files_of(hmis_export.content_of(one))["CurrentLivingSituation.csv"]
    second = files_of(hmis_export.content_of(two))["CurrentLivingSituation.csv"]
    ids = [row["CurrentLivingSitID"] for row in first + second]
    assert len(ids) == len(set(ids)) == 4
    assert not any("Library steps" in row["LocationDetails"] for row in first + second)
    assert ["Church on 3rd" in row["LocationDetails"] for row in second] == [True, False]
    rows = entries(database, me.record)
    assert all(row.export_id is not None for row in rows)
    assert [row.export_id for row in rows] == sorted(row.export_id for row in rows)


def test_a_change_with_no_open_enrollment_waits_and_says_why(
    app, make, agency_a, case_manager, agency_admin, database, hmis_user, case_manager_user
):
    account = make.client_account(agency_a)
    client = database.session.get(Client, account.client_id)
    client.care_team.append(CareTeamMember(staff=case_manager_user, is_case_manager=True))
    enroll(database, client, agency_a, project_type=1)  # a shelter stay: not a contact project
    database.session.commit()
    browser = signed_in(app, account)
    browser.form("/check-in", {})
    page = agency_admin.get("/staff/hmis/exports").get_data(as_text=True)
    assert "1 change cannot be exported yet" in page
    assert "no open coordinated-entry or street-outreach enrollment" in page
    refused = agency_admin.form("/staff/hmis/exports", {})
    assert "there is nothing to export" in refused.get_data(as_text=True)
    assert database.session.scalars(select(HmisExport)).all() == []
    # once enrolled in outreach, it goes in the next export
    enroll(database, client, agency_a, project_type=4)
    assert agency_admin.form("/staff/hmis/exports", {}).status_code == 303
    (entry,) = entries(database, client)
    assert entry.export_id is not None


@pytest.mark.requirement("R27")
def test_an_export_is_downloaded_only_after_the_password_and_code_again(
    frozen_clock, me, case_manager, agency_admin, database, hmis_user
):
    accepted_place_and_check_in(me, case_manager, database)
    agency_admin.form("/staff/hmis/exports", {})
    export = database.session.scalars(select(HmisExport)).one()
    page = f"/staff/hmis/exports/{export.public_id}"
    frozen_clock.advance(timedelta(minutes=6))  # past the 5 minutes a sign-in counts as fresh
    assert 'name="password"' in agency_admin.get(page).get_data(as_text=True)
    before = last_audit_id(database)
    refused = agency_admin.form(
        f"{page}/download", {"password": "wrong", "code": totp_now()}, token_from=page
    )
    assert refused.status_code == 200 and refused.mimetype == "text/html"
    assert audits(database, "hmis_export.downloaded", before) == []
    no_code = agency_admin.form(f"{page}/download", {"password": TEST_PASSWORD}, token_from=page)
    assert no_code.mimetype == "text/html"
    frozen_clock.advance(timedelta(seconds=31))
    done = agency_admin.form(
        f"{page}/download", {"password": TEST_PASSWORD, "code": totp_now()}, token_from=page
    )
    assert done.status_code == 200 and done.mimetype == "application/zip"
    assert done.headers["Cache-Control"] == "no-store"
    (event,) = audits(database, "hmis_export.downloaded", before)
    assert done.data == crypto.decrypt_bytes(export.content_encrypted)
    assert "Under" not in str(event.details) and me.record.personal_id not in str(event.details)
    # a case manager (no IMPORT_HMIS) and another agency cannot reach it
    assert case_manager.get(page).status_code == 403


@pytest.mark.requirement("R30")
def test_another_agency_cannot_see_or_download_an_export(
    me, case_manager, agency_admin, other_agency_admin, database, hmis_user
):
    accepted_place_and_check_in(me, case_manager, database)
    agency_admin.form("/staff/hmis/exports", {})
    export = database.session.scalars(select(HmisExport)).one()
    assert other_agency_admin.get(f"/staff/hmis/exports/{export.public_id}").status_code == 404
    assert export.hud_export_id not in other_agency_admin.get("/staff/hmis/exports").get_data(
        as_text=True
    )


def test_exports_are_kept_their_days_then_only_their_counts(
    frozen_clock, app, me, case_manager, agency_admin, agency_admin_user, database, hmis_user
):
    accepted_place_and_check_in(me, case_manager, database)
    agency_admin.form("/staff/hmis/exports", {})
    export = database.session.scalars(select(HmisExport)).one()
    assert export.expires_at == frozen_clock.now() + timedelta(days=30)
    frozen_clock.advance(timedelta(days=29))
    assert hmis_export.expire_exports() == 0
    frozen_clock.advance(timedelta(days=1, seconds=1))
    assert hmis_export.expire_exports() == 1
    database.session.commit()
    database.session.expire_all()
    export = database.session.get(HmisExport, export.id)
    assert export.content_encrypted is None and export.counts["entries"] == 2
    admin = signed_in(app, agency_admin_user)
    page = admin.get(f"/staff/hmis/exports/{export.public_id}").get_data(as_text=True)
    assert "its file is gone" in page and "Download the export" not in page


def test_confirming_an_export_marks_its_changes_entered(
    me, case_manager, agency_admin, database, hmis_user
):
    accepted_place_and_check_in(me, case_manager, database)
    agency_admin.form("/staff/hmis/exports", {})
    export = database.session.scalars(select(HmisExport)).one()
    assert (
        agency_admin.form(f"/staff/hmis/exports/{export.public_id}/confirm", {}).status_code == 303
    )
    assert all(row.entered_at is not None for row in entries(database, me.record))
    assert "0 changes to enter" in case_manager.get("/staff/hmis/worklist").get_data(as_text=True)


def test_the_command_writes_an_export_for_the_agency(
    app, me, case_manager, database, hmis_user, agency_a, tmp_path
):
    accepted_place_and_check_in(me, case_manager, database)
    out = tmp_path / "export.zip"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["export-hmis", "--agency", agency_a.name, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 changes" in result.output
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    files = files_of(out.read_bytes())
    assert len(files["CurrentLivingSituation.csv"]) == 2
    again = runner.invoke(
        args=["export-hmis", "--agency", agency_a.name, "--out", str(tmp_path / "b.zip")]
    )
    assert again.exit_code != 0 and "nothing to export" in again.output
    unknown = runner.invoke(
        args=["export-hmis", "--agency", "Nobody", "--out", str(tmp_path / "c.zip")]
    )
    assert unknown.exit_code != 0


# --- the writer ---------------------------------------------------------------------------


def test_every_hud_living_situation_code_goes_through_the_writer_and_others_do_not():
    codes = list(hmis_export.cls_list().values)
    assert len(codes) == 24
    for code in codes:
        row = hmis_export.cls_row(
            row_id="a" * 32,
            enrollment_id="1",
            personal_id="2",
            information_date=date(2026, 1, 2),
            situation=code,
            details="",
            created=clock.now(),
            user_id="3",
            export_id="4",
        )
        assert row["CurrentLivingSituation"] == str(code)
        assert tuple(row) == hmis_export.COLUMNS["CurrentLivingSituation.csv"]
    for wrong in (24, 30, 312, 0, 1000):  # Destination codes (3.12) a living situation cannot be
        with pytest.raises(ValueError):
            hmis_export.cls_row(
                row_id="a",
                enrollment_id="1",
                personal_id="2",
                information_date=date(2026, 1, 2),
                situation=wrong,
                details="",
                created=clock.now(),
                user_id="3",
                export_id="4",
            )


def test_location_details_keep_within_hud_250_characters():
    long = hmis_export.location_details(
        "location", {"place_kind": "hotel", "place": "x" * 100, "times": "y" * 200}
    )
    assert len(long) == 250 and long.startswith("Hotel or motel") and long.endswith("…")
    assert hmis_export.location_details("check_in", {}) == "Checked in through the client portal."
    assert hmis_export.PLACE_TO_CLS.keys() == {
        "shelter",
        "street",
        "vehicle",
        "friends_family",
        "hotel",
        "other",
    }
    assert all(code in hmis_export.cls_list() for code in hmis_export.PLACE_TO_CLS.values())


def test_the_agency_names_its_hmis_user_from_the_imported_users(
    agency_admin, agency_a, database, hmis_user
):
    page = "/staff/agency/settings"
    unknown = agency_admin.form(page, {"default_roi_days": "365", "hmis_user_id": "999"})
    assert unknown.status_code == 200
    assert "No HMIS user has this ID" in unknown.get_data(as_text=True)
    database.session.refresh(agency_a)
    assert agency_a.hmis_user_id == "29"
    before = last_audit_id(database)
    assert (
        agency_admin.form(page, {"default_roi_days": "365", "hmis_user_id": " 27 "}).status_code
        == 303
    )
    database.session.refresh(agency_a)
    assert agency_a.hmis_user_id == "27"
    (event,) = audits(database, "agency.settings_changed", before)
    assert event.details["hmis_user_id"] == ["29", "27"]
    agency_admin.form(page, {"default_roi_days": "365", "hmis_user_id": ""})
    database.session.refresh(agency_a)
    assert agency_a.hmis_user_id is None


def test_the_export_settings_are_checked():
    from portal.settings import Settings

    message = "HMIS_EXPORT_DROP must be an s3://bucket/prefix/ URL, or empty"
    for wrong in ("s3://", "s3:///", "/srv/drop", "https://bucket/x"):
        assert message in Settings(hmis_export_drop=wrong).problems(), wrong
    assert message not in Settings(hmis_export_drop="s3://hmis/in/").problems()
    assert (
        "HMIS_EXPORT_KEEP_DAYS must be at least 1" in Settings(hmis_export_keep_days=0).problems()
    )


def test_another_agencys_import_neither_changes_nor_removes_our_hmis_users(
    agency_a, agency_b, database, hmis_user, case_manager_user, tmp_path
):
    """Users belong to the agency whose import brought them: agency B's User.csv giving user
    27 another email and deleting user 29 leaves agency A's exports named as before."""
    from portal.domain.hmis.importer import import_export

    columns = hmis_export.COLUMNS
    export_row = dict.fromkeys(columns["Export.csv"], "")
    export_row.update(ExportID="B1", CSVVersion="2026 v1.0", ExportDirective="1")
    users = [
        {**dict.fromkeys(columns["User.csv"], ""), "UserID": "27", "UserEmail": "b@b.test"},
        {**dict.fromkeys(columns["User.csv"], ""), "UserID": "29"},
    ]
    users[1]["DateDeleted"] = "2026-01-01 00:00:00"
    for row in users:
        row["ExportID"] = "B1"
    path = tmp_path / "b.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, rows in (("Export.csv", [export_row]), ("User.csv", users)):
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=columns[name])
            writer.writeheader()
            writer.writerows(rows)
            archive.writestr(name, out.getvalue())
    report = import_export(path, agency=agency_b)
    assert report.ok, report
    database.session.commit()
    mine = {
        user.hud_user_id: user.email
        for user in database.session.scalars(
            select(HmisUser).where(HmisUser.agency_id == agency_a.id)
        )
    }
    assert mine == {"27": case_manager_user.email.lower(), "29": None}
    theirs = database.session.scalars(
        select(HmisUser.hud_user_id).where(HmisUser.agency_id == agency_b.id)
    ).all()
    assert theirs == ["27"]  # a new user deleted in the HMIS is not made


def test_a_deleted_clients_changes_are_not_exported(
    me, case_manager, agency_admin, database, hmis_user
):
    accepted_place_and_check_in(me, case_manager, database)
    record = database.session.get(Client, me.record.id)
    record.mark_deleted(clock.now())
    database.session.commit()
    refused = agency_admin.form("/staff/hmis/exports", {})
    assert "there is nothing to export" in refused.get_data(as_text=True)
    assert all(row.export_id is None for row in entries(database, me.record))


def test_a_change_in_an_export_is_done_when_the_export_is_confirmed_not_by_hand(
    me, case_manager, agency_admin, database, hmis_user
):
    accepted_place_and_check_in(me, case_manager, database)
    agency_admin.form("/staff/hmis/exports", {})
    check_in = entries(database, me.record)[0]
    page = case_manager.get("/staff/hmis/worklist").get_data(as_text=True)
    assert "Once the HMIS has imported export 1, confirm it on its page." in page
    assert "Done in the HMIS" not in page
    refused = case_manager.form(f"/staff/hmis/worklist/{check_in.public_id}/entered", {})
    assert refused.status_code == 303
    assert entries(database, me.record)[0].entered_at is None
    # confirmed: done, and not to be taken back one by one
    export = database.session.scalars(select(HmisExport)).one()
    agency_admin.form(f"/staff/hmis/exports/{export.public_id}/confirm", {})
    undo = case_manager.form(f"/staff/hmis/worklist/{check_in.public_id}/undo", {})
    assert undo.status_code == 303
    assert entries(database, me.record)[0].entered_at is not None


def test_an_export_for_the_drop_is_kept_until_it_is_delivered(
    frozen_clock, me, case_manager, agency_a, database, hmis_user
):
    accepted_place_and_check_in(me, case_manager, database)
    made = hmis_export.make_export(agency_a, None, through="job")
    database.session.commit()
    frozen_clock.advance(timedelta(days=31))
    assert hmis_export.expire_exports() == 0  # not delivered: its changes are in it
    made.dropped_at = clock.now()
    database.session.commit()
    assert hmis_export.expire_exports() == 1


def test_the_portals_own_place_coming_back_from_the_hmis_flags_nothing(
    me, case_manager, agency_a, database, hmis_user, tmp_path
):
    """The export's rows imported back (the HMIS re-exports what it took) are not the HMIS
    changing where the client is: a newer place waiting for review is not flagged."""
    from portal.domain.hmis.importer import import_export

    accepted_place_and_check_in(me, case_manager, database)
    made = hmis_export.make_export(agency_a, None, through="command")
    database.session.commit()
    share_place(me, database, place="The new spot")
    waiting = pending(database, me.record, "location")
    path = tmp_path / "back.zip"
    path.write_bytes(crypto.decrypt_bytes(made.content_encrypted))
    report = import_export(path, agency=agency_a)
    assert report.ok and report.files["CurrentLivingSituation.csv"].imported == 2
    database.session.commit()
    database.session.refresh(waiting)
    assert waiting.hmis_changed_at is None


def test_a_large_backlog_goes_into_one_export(me, agency_a, database, hmis_user):
    """More waiting changes than one claim statement takes (5,000 ids, within any SQLite's
    bound-parameter limit): the claim goes in chunks and takes every one, once."""
    values = crypto.encrypt_json({})
    database.session.add_all(
        HmisEntry(
            agency_id=agency_a.id,
            client_id=me.record.id,
            kind="check_in",
            occurred_at=clock.now(),
            values_encrypted=values,
        )
        for _ in range(12_000)
    )
    database.session.commit()
    made = hmis_export.make_export(agency_a, None, through="command")
    database.session.commit()
    assert made.counts["entries"] == 12_000
    assert made.counts["rows"]["CurrentLivingSituation.csv"] == 12_000
    waiting = database.session.scalar(
        select(func.count()).select_from(HmisEntry).where(HmisEntry.export_id.is_(None))
    )
    assert waiting == 0
