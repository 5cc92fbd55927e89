"""Issue 21, the HMIS into the portal: CurrentLivingSituation.csv, Services.csv, Event.csv and
User.csv; the last contact they give; delta exports; review items the HMIS made stale; the
record of every import run; the watched landing place.

Expected values come from the CSV files, never written down here. Services.csv and Event.csv
are written by the tests with the HUD headers of the CSV specification's data dictionary.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import shutil
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select

from portal.domain.core import crypto, jobs
from portal.domain.core.errors import Forbidden
from portal.domain.core.roles import Role
from portal.domain.hmis import runs, watch
from portal.domain.hmis.importer import ERROR_CODES, import_export
from portal.domain.models import (
    CareTeamMember,
    Client,
    Enrollment,
    HmisContact,
    HmisImportRun,
    HmisLivingSituation,
    HmisUser,
    Job,
)
from portal.domain.records.coordinated_entry import record_contact
from portal.settings import Settings
from tests.integration.test_hmis_import import copy_of, edit_cell, export_folder, rows_of, zipped
from tests.support import signed_in

CLS = "CurrentLivingSituation.csv"
SERVICES = "Services.csv"
EVENT = "Event.csv"
USER = "User.csv"
HEADERS = {
    SERVICES: [
        "ServicesID",
        "EnrollmentID",
        "PersonalID",
        "DateProvided",
        "RecordType",
        "TypeProvided",
        "OtherTypeProvided",
        "MovingOnOtherType",
        "SubTypeProvided",
        "FAAmount",
        "FAStartDate",
        "FAEndDate",
        "ReferralOutcome",
        "DateCreated",
        "DateUpdated",
        "UserID",
        "DateDeleted",
        "ExportID",
    ],
    EVENT: [
        "EventID",
        "EnrollmentID",
        "PersonalID",
        "EventDate",
        "Event",
        "ProbSolDivRRResult",
        "ReferralCaseManageAfter",
        "LocationCrisisOrPHHousing",
        "ReferralResult",
        "ResultDate",
        "DateCreated",
        "DateUpdated",
        "UserID",
        "DateDeleted",
        "ExportID",
    ],
}
HOSTILE = [
    "<script>alert('x')</script>",
    "'; DROP TABLE clients; --",
    "\u202eegdirb eht rednu",
    "Tent 🏕️ by the river 🌉, Ωmega café",
]


# --- helpers -----------------------------------------------------------------------------


def header_of(name: str) -> list[str]:
    if name in HEADERS:
        return HEADERS[name]
    with (export_folder(2026) / name).open(newline="", encoding="utf-8-sig") as f:
        return next(csv.reader(f))


def write_csv(path: Path, name: str, rows: list[dict[str, str]]) -> None:
    header = header_of(name)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in header})


def export_id() -> str:
    return rows_of(export_folder(2026), "Export.csv")[0]["ExportID"]


def delta(tmp_path: Path, files: dict[str, list[dict[str, str]]], directive: str = "1") -> Path:
    """An export of Export.csv (with this ExportDirective) and the files given."""
    folder = tmp_path / f"delta-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    export = {**rows_of(export_folder(2026), "Export.csv")[0], "ExportDirective": directive}
    write_csv(folder / "Export.csv", "Export.csv", [export])
    for name, rows in files.items():
        write_csv(folder / name, name, rows)
    return folder


def cls_row(hud_id: str, enrollment: dict, day: str, **more: str) -> dict[str, str]:
    return {
        "CurrentLivingSitID": hud_id,
        "EnrollmentID": enrollment["EnrollmentID"],
        "PersonalID": enrollment["PersonalID"],
        "InformationDate": day,
        "CurrentLivingSituation": "116",
        "DateCreated": f"{day} 10:00:00",
        "DateUpdated": f"{day} 10:00:00",
        "UserID": "29",
        "ExportID": export_id(),
        **more,
    }


def service_row(hud_id: str, enrollment: dict, day: str, **more: str) -> dict[str, str]:
    return {
        "ServicesID": hud_id,
        "EnrollmentID": enrollment["EnrollmentID"],
        "PersonalID": enrollment["PersonalID"],
        "DateProvided": day,
        "RecordType": "200",
        "TypeProvided": "200",
        "DateCreated": f"{day} 10:00:00",
        "DateUpdated": f"{day} 10:00:00",
        "UserID": "29",
        "ExportID": export_id(),
        **more,
    }


def event_row(hud_id: str, enrollment: dict, day: str, **more: str) -> dict[str, str]:
    return {
        "EventID": hud_id,
        "EnrollmentID": enrollment["EnrollmentID"],
        "PersonalID": enrollment["PersonalID"],
        "EventDate": day,
        "Event": "2",
        "ProbSolDivRRResult": "1",
        "DateCreated": f"{day} 10:00:00",
        "DateUpdated": f"{day} 10:00:00",
        "UserID": "29",
        "ExportID": export_id(),
        **more,
    }


def enrollments_without_cls() -> list[dict[str, str]]:
    """Enrollments of clients the sample keeps and CurrentLivingSituation.csv never names."""
    folder = export_folder(2026)
    kept = {r["PersonalID"] for r in rows_of(folder, "Client.csv") if not r["DateDeleted"]}
    named = {r["PersonalID"] for r in rows_of(folder, CLS)}
    rows = [r for r in rows_of(folder, "Enrollment.csv") if r["PersonalID"] in kept - named]
    return list({r["PersonalID"]: r for r in rows}.values())  # one per client


def newest_cls() -> tuple[dict[str, str], str]:
    """The sample's enrollment row of the client with the most CLS rows, and their newest date."""
    rows = rows_of(export_folder(2026), CLS)
    person = max(
        {r["PersonalID"] for r in rows}, key=lambda p: [r["PersonalID"] for r in rows].count(p)
    )
    enrollment_id = next(r["EnrollmentID"] for r in rows if r["PersonalID"] == person)
    enrollment = {"EnrollmentID": enrollment_id, "PersonalID": person}
    return enrollment, max(r["InformationDate"] for r in rows if r["PersonalID"] == person)


def client_of(database, personal_id: str) -> Client:
    return database.session.scalar(select(Client).where(Client.personal_id == personal_id))


def start_of(day: str, timezone: str = "America/Los_Angeles") -> datetime:
    return datetime.combine(date.fromisoformat(day), time.min, ZoneInfo(timezone)).astimezone(UTC)


def counts(database) -> dict[str, int]:
    return {
        model.__tablename__: database.session.scalar(select(func.count()).select_from(model))
        for model in (Client, Enrollment, HmisLivingSituation, HmisContact, HmisUser)
    }


def timestamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def number(value: int | None) -> str:
    return "" if value is None else str(value)


# --- the sample's living situations and users --------------------------------------------


def test_living_situations_and_users_of_the_fy2026_export_round_trip_column_by_column(
    database, make, tmp_path
):
    folder = copy_of(export_folder(2026), tmp_path)
    details = "Under the 5th St bridge, north side"
    for column, value in {
        "LocationDetails": details,
        "VerifiedBy": "Outreach team",
        "CLSSubsidyType": "419",
        "LeaveSituation14Days": "1",
        "SubsequentResidence": "0",
        "ResourcesToObtain": "8",
        "LeaseOwn60Day": "9",
        "MovedTwoOrMore": "99",
    }.items():
        edit_cell(folder, CLS, 1, column, value)

    report = import_export(folder, agency=make.agency())

    assert report.ok, report
    rows, users = rows_of(folder, CLS), rows_of(folder, USER)
    assert (len(rows), len(users)) == (20, 12)
    assert report.files[CLS].imported == len(rows) and report.files[USER].imported == len(users)
    assert counts(database)["hmis_living_situations"] == len(rows)
    assert counts(database)["hmis_users"] == len(users)
    for row in rows:
        stored = database.session.scalar(
            select(HmisLivingSituation).where(
                HmisLivingSituation.hud_id == row["CurrentLivingSitID"]
            )
        )
        encrypted = stored.location_details_encrypted
        assert {
            "EnrollmentID": stored.enrollment.hud_enrollment_id,
            "PersonalID": database.session.get(Client, stored.client_id).personal_id,
            "InformationDate": stored.information_date.isoformat(),
            "CurrentLivingSituation": number(stored.living_situation),
            "CLSSubsidyType": number(stored.subsidy_type),
            "VerifiedBy": stored.verified_by or "",
            "LeaveSituation14Days": number(stored.leave_situation_14_days),
            "SubsequentResidence": number(stored.subsequent_residence),
            "ResourcesToObtain": number(stored.resources_to_obtain),
            "LeaseOwn60Day": number(stored.lease_own_60_day),
            "MovedTwoOrMore": number(stored.moved_two_or_more),
            "LocationDetails": crypto.decrypt_text(encrypted) if encrypted else "",
            "DateCreated": timestamp(stored.hud_date_created),
            "DateUpdated": timestamp(stored.hud_date_updated),
            "UserID": stored.hud_user_id or "",
        } == {
            k: v
            for k, v in row.items()
            if k not in ("CurrentLivingSitID", "DateDeleted", "ExportID")
        }
    raw = database.session.scalars(select(HmisLivingSituation.location_details_encrypted)).all()
    assert sum(1 for value in raw if value) == 1
    assert not any(details in value or "5th St" in value for value in raw if value)
    for row in users:
        user = database.session.scalar(
            select(HmisUser).where(HmisUser.hud_user_id == row["UserID"])
        )
        assert (
            user.first_name,
            user.last_name,
            user.phone,
            user.extension or "",
            user.email,
            timestamp(user.hud_date_created),
            timestamp(user.hud_date_updated),
        ) == (
            row["UserFirstName"],
            row["UserLastName"],
            row["UserPhone"],
            row["UserExtension"],
            row["UserEmail"].lower(),
            row["DateCreated"],
            row["DateUpdated"],
        )


def test_a_second_import_leaves_living_situations_and_users_untouched(database, make, frozen_clock):
    agency = make.agency()
    import_export(export_folder(2026), agency=agency)
    database.session.commit()
    before = {
        s.hud_id: s.imported_at for s in database.session.scalars(select(HmisLivingSituation))
    }
    frozen_clock.advance(timedelta(days=2))

    report = import_export(export_folder(2026), agency=agency)

    assert report.files[CLS].unchanged == len(before) and report.files[CLS].updated == 0
    assert report.files[USER].unchanged == 12 and report.files[USER].updated == 0
    after = {s.hud_id: s.imported_at for s in database.session.scalars(select(HmisLivingSituation))}
    assert after == before


def test_stored_rows_are_loaded_with_one_query_per_table(database, make, tmp_path):
    agency = make.agency()
    import_export(export_folder(2026), agency=agency)
    first, second = enrollments_without_cls()[:2]
    rows = {
        SERVICES: [service_row(f"Q-{n}", first, "2024-01-01") for n in range(30)],
        EVENT: [event_row(f"Q-{n}", second, "2024-01-01") for n in range(30)],
    }
    import_export(delta(tmp_path, rows), agency=agency)
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = database.session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        again = import_export(export_folder(2026), agency=agency)
        contacts = import_export(delta(tmp_path, rows), agency=agency)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert again.files[CLS].unchanged == 20 and contacts.files[SERVICES].unchanged == 30

    def reads(table: str) -> int:
        return sum(1 for s in seen if f"FROM {table}" in s)

    assert reads("hmis_living_situations") == 1  # the second import of the sample
    assert reads("hmis_users") == 1
    assert reads("hmis_contacts") == 1  # Services.csv and Event.csv together


def test_rows_on_another_agencys_enrollments_are_skipped(database, make, tmp_path):
    owner, other = make.agency(), make.agency()
    import_export(export_folder(2026), agency=owner)
    enrollment, _newest = newest_cls()
    first = enrollments_without_cls()[0]
    stored = rows_of(export_folder(2026), CLS)[0]
    before = counts(database)

    report = import_export(
        delta(
            tmp_path,
            {
                CLS: [cls_row("O-1", enrollment, "2024-01-01"), {**stored, "VerifiedBy": "Other"}],
                SERVICES: [service_row("O-2", first, "2024-01-01")],
            },
        ),
        agency=other,
    )

    assert report.ok, report
    assert report.files[CLS].skipped == [
        (1, "organization_of_another_agency"),
        (2, "organization_of_another_agency"),
    ]
    assert report.files[SERVICES].skipped == [(1, "organization_of_another_agency")]
    assert counts(database) == before
    assert client_of(database, first["PersonalID"]).last_contact_at is None


# --- last contact --------------------------------------------------------------------------


def test_an_imported_living_situation_is_the_last_contact_of_a_client_without_one(database, make):
    agency = make.agency()
    import_export(export_folder(2026), agency=agency)

    rows = rows_of(export_folder(2026), CLS)
    for person in {r["PersonalID"] for r in rows}:
        newest = max(r["InformationDate"] for r in rows if r["PersonalID"] == person)
        client = client_of(database, person)
        assert (client.last_contact_at, client.last_contact_kind) == (start_of(newest), "hmis_cls")
    others = enrollments_without_cls()
    assert client_of(database, others[0]["PersonalID"]).last_contact_at is None


def test_a_later_portal_contact_stays_and_an_older_contact_does_not_move_it_back(
    database, make, frozen_clock, tmp_path
):
    agency = make.agency()
    import_export(export_folder(2026), agency=agency)
    enrollment, newest = newest_cls()
    checked_in = client_of(database, enrollment["PersonalID"])
    record_contact(checked_in, "check_in")
    database.session.commit()
    quiet, other = enrollments_without_cls()[:2]
    client = client_of(database, quiet["PersonalID"])
    client.last_contact_at, client.last_contact_kind = start_of("2024-06-01"), "check_in"
    database.session.commit()
    today = frozen_clock.now().astimezone(ZoneInfo(agency.timezone)).date()
    yesterday = (today - timedelta(days=1)).isoformat()
    older = (date.fromisoformat(newest) - timedelta(days=30)).isoformat()

    report = import_export(
        delta(
            tmp_path,
            {
                CLS: [
                    cls_row("T-CLS-1", enrollment, yesterday),  # before the check-in's moment
                    cls_row("T-CLS-2", quiet, "2024-05-01"),  # older than the portal's contact
                    cls_row("T-CLS-3", other, older),
                ]
            },
        ),
        agency=agency,
    )

    assert report.ok, report
    assert (checked_in.last_contact_at, checked_in.last_contact_kind) == (
        frozen_clock.now(),
        "check_in",
    )
    assert (client.last_contact_at, client.last_contact_kind) == (
        start_of("2024-06-01"),
        "check_in",
    )
    moved = client_of(database, other["PersonalID"])
    assert (moved.last_contact_at, moved.last_contact_kind) == (start_of(older), "hmis_cls")
    # An older living situation of a client whose newest is known does not move it back.
    import_export(delta(tmp_path, {CLS: [cls_row("T-CLS-4", other, "2015-01-01")]}), agency=agency)
    assert moved.last_contact_at == start_of(older)


@pytest.mark.parametrize(
    ("name", "make_row", "kind", "type_code"),
    [(SERVICES, service_row, "hmis_service", 200), (EVENT, event_row, "hmis_event", 2)],
)
def test_services_and_events_are_dated_contacts_that_move_the_last_contact_forward(
    database, make, tmp_path, name, make_row, kind, type_code
):
    agency = make.agency(timezone="America/Los_Angeles")
    import_export(export_folder(2026), agency=agency)
    first, second = enrollments_without_cls()[:2]
    cls_enrollment, newest = newest_cls()
    with_portal = client_of(database, second["PersonalID"])
    with_portal.last_contact_at, with_portal.last_contact_kind = start_of("2025-01-02"), "message"
    database.session.commit()

    report = import_export(
        delta(
            tmp_path,
            {
                name: [
                    make_row("T-1", first, "2023-05-01"),
                    make_row("T-2", first, "2023-06-01"),
                    make_row("T-3", second, "2025-01-01"),
                    make_row("T-4", cls_enrollment, "2019-01-01"),
                ]
            },
        ),
        agency=agency,
    )

    assert report.ok, report
    assert report.files[name].imported == 4
    stored = database.session.scalars(select(HmisContact).order_by(HmisContact.hud_id)).all()
    assert [(c.source, c.hud_id, c.contact_date.isoformat(), c.type_code) for c in stored] == [
        (name.removesuffix(".csv").lower(), f"T-{n}", day, type_code)
        for n, day in enumerate(("2023-05-01", "2023-06-01", "2025-01-01", "2019-01-01"), start=1)
    ]
    client = client_of(database, first["PersonalID"])
    assert stored[0].client_id == client.id
    assert (client.last_contact_at, client.last_contact_kind) == (start_of("2023-06-01"), kind)
    assert (with_portal.last_contact_at, with_portal.last_contact_kind) == (
        start_of("2025-01-02"),
        "message",
    )
    kept = client_of(database, cls_enrollment["PersonalID"])
    assert (kept.last_contact_at, kept.last_contact_kind) == (start_of(newest), "hmis_cls")


def test_the_start_of_the_contact_day_is_taken_in_the_agencys_time_zone(database, make, tmp_path):
    agency = make.agency(timezone="America/New_York")
    import_export(export_folder(2026), agency=agency)
    first = enrollments_without_cls()[0]
    import_export(delta(tmp_path, {EVENT: [event_row("T-9", first, "2024-01-15")]}), agency=agency)
    client = client_of(database, first["PersonalID"])
    assert client.last_contact_at == datetime(2024, 1, 15, 5, 0, tzinfo=UTC)


# --- delta exports ---------------------------------------------------------------------------


def test_a_delta_export_needs_no_client_csv_and_a_full_one_does(database, make, tmp_path):
    agency = make.agency()
    import_export(export_folder(2026), agency=agency)
    first = enrollments_without_cls()[0]
    rows = {CLS: [cls_row("D-1", first, "2024-02-02")]}

    full = import_export(delta(tmp_path, rows, directive="2"), agency=agency)
    unsaid = import_export(delta(tmp_path, rows, directive=""), agency=agency)
    report = import_export(delta(tmp_path, rows, directive="1"), agency=agency)

    assert (full.fatal, full.fatal_file, full.directive) == ("missing_file", "Client.csv", 2)
    assert (unsaid.fatal, unsaid.fatal_file, unsaid.directive) == (
        "missing_file",
        "Client.csv",
        None,
    )
    assert report.ok and report.directive == 1 and report.is_delta
    assert set(report.files) == {CLS} and report.files[CLS].imported == 1
    assert counts(database)["hmis_living_situations"] == 21
    sample = import_export(export_folder(2026), agency=agency)
    assert sample.directive == 2 and not sample.is_delta


def test_an_export_directive_outside_hud_list_1_2_is_fatal(database, make, tmp_path):
    report = import_export(delta(tmp_path, {}, directive="7"), agency=make.agency())
    assert report.fatal == "invalid_export_directive" and report.files == {}


# --- bad rows: all or nothing ----------------------------------------------------------------


def _other_client() -> str:
    rows = rows_of(export_folder(2026), CLS)
    return next(r["PersonalID"] for r in rows if r["PersonalID"] != rows[0]["PersonalID"])


BAD = [
    pytest.param(CLS, 1, "EnrollmentID", "NOSUCHENROLLMENT", "unknown_reference", id="enrollment"),
    pytest.param(CLS, 1, "PersonalID", _other_client, "personal_id_mismatch", id="person"),
    pytest.param(CLS, 2, "CurrentLivingSituation", "30", "invalid_code", id="situation"),
    pytest.param(CLS, 3, "CLSSubsidyType", "999", "invalid_code", id="subsidy"),
    pytest.param(CLS, 4, "LeaseOwn60Day", "2", "invalid_code", id="no-yes"),
    pytest.param(CLS, 5, "LocationDetails", "x" * 251, "too_long", id="details"),
    pytest.param(CLS, 6, "VerifiedBy", "v" * 101, "too_long", id="verified-by"),
    pytest.param(CLS, 7, "UserID", "u" * 33, "too_long", id="user-id"),
    pytest.param(CLS, 8, "InformationDate", "2021-02-30", "invalid_date", id="date"),
    pytest.param(CLS, 9, "InformationDate", "2999-01-01", "out_of_range", id="future"),
    pytest.param(CLS, 10, "DateUpdated", "yesterday", "invalid_datetime", id="updated"),
    pytest.param(CLS, 11, "CurrentLivingSitID", "c" * 33, "too_long", id="id"),
    pytest.param(CLS, 12, "ExportID", "9999", "unknown_export", id="export"),
    pytest.param(USER, 1, "UserEmail", "e" * 321, "too_long", id="email"),
    pytest.param(USER, 2, "UserExtension", "123456", "too_long", id="extension"),
]


@pytest.mark.parametrize(("name", "row", "column", "value", "reason"), BAD)
def test_one_bad_contact_or_user_row_changes_nothing(
    database, make, tmp_path, name, row, column, value, reason
):
    value = value() if callable(value) else value
    folder = copy_of(export_folder(2026), tmp_path)
    edit_cell(folder, name, row, column, value)
    before = counts(database)

    report = import_export(folder, agency=make.agency())

    assert not report.ok and report.fatal is None
    assert report.files[name].errors == [(row, column, reason)] and reason in ERROR_CODES
    assert [n for n, f in report.files.items() if f.errors] == [name]
    assert counts(database) == before
    assert len(value) < 4 or value not in repr(report)


def test_a_bad_row_in_a_delta_keeps_the_good_rows_out_too(database, make, tmp_path):
    agency = make.agency()
    import_export(export_folder(2026), agency=agency)
    first, second = enrollments_without_cls()[:2]
    before = counts(database)
    stranger = {"EnrollmentID": first["EnrollmentID"], "PersonalID": second["PersonalID"]}

    report = import_export(
        delta(
            tmp_path,
            {
                CLS: [cls_row("G-1", first, "2024-01-01")],
                SERVICES: [service_row("G-2", stranger, "2024-01-01")],
            },
        ),
        agency=agency,
    )

    assert report.files[SERVICES].errors == [(1, "PersonalID", "personal_id_mismatch")]
    assert counts(database) == before
    assert client_of(database, first["PersonalID"]).last_contact_at is None


@pytest.mark.parametrize("text", HOSTILE, ids=["script", "sql", "rlo", "emoji"])
def test_hostile_text_in_location_details_and_verified_by_comes_back_exactly(
    database, make, tmp_path, text
):
    agency = make.agency()
    import_export(export_folder(2026), agency=agency)
    first = enrollments_without_cls()[0]
    row = cls_row("H-1", first, "2024-03-03", LocationDetails=text, VerifiedBy=text[:100])

    report = import_export(delta(tmp_path, {CLS: [row]}), agency=agency)
    database.session.commit()

    assert report.ok, report
    stored = database.session.scalar(
        select(HmisLivingSituation).where(HmisLivingSituation.hud_id == "H-1")
    )
    assert crypto.decrypt_text(stored.location_details_encrypted) == text
    assert stored.verified_by == text[:100]
    assert text not in stored.location_details_encrypted


def test_control_characters_in_location_details_are_cleaned_as_staff_input_is(
    database, make, tmp_path
):
    agency = make.agency()
    import_export(export_folder(2026), agency=agency)
    first = enrollments_without_cls()[0]
    row = cls_row("H-2", first, "2024-03-03", LocationDetails="north\x00side\r\nof the  park")

    report = import_export(delta(tmp_path, {CLS: [row]}), agency=agency)

    assert report.ok, report
    stored = database.session.scalar(
        select(HmisLivingSituation).where(HmisLivingSituation.hud_id == "H-2")
    )
    assert crypto.decrypt_text(stored.location_details_encrypted) == "north side of the park"


# --- deleted in the HMIS ---------------------------------------------------------------------


def test_a_deleted_row_deletes_the_stored_one_and_a_new_deleted_one_is_skipped(
    database, make, tmp_path
):
    agency = make.agency()
    import_export(export_folder(2026), agency=agency)
    first = enrollments_without_cls()[0]
    import_export(
        delta(
            tmp_path,
            {
                CLS: [cls_row("X-1", first, "2024-01-01")],
                EVENT: [event_row("X-2", first, "2024-01-02")],
            },
        ),
        agency=agency,
    )
    sample = rows_of(export_folder(2026), CLS)[0]
    user = rows_of(export_folder(2026), USER)[0]
    gone = "2024-02-01 00:00:00"

    report = import_export(
        delta(
            tmp_path,
            {
                CLS: [
                    {**sample, "DateDeleted": gone},
                    cls_row("X-1", first, "2024-01-01", DateDeleted=gone),
                    cls_row("X-3", first, "2024-01-03", DateDeleted=gone),
                ],
                EVENT: [event_row("X-2", first, "2024-01-02", DateDeleted=gone)],
                USER: [{**user, "DateDeleted": gone}],
            },
        ),
        agency=agency,
    )

    assert report.ok, report
    assert (report.files[CLS].updated, report.files[CLS].skipped) == (2, [(3, "deleted_in_hmis")])
    remaining = set(database.session.scalars(select(HmisLivingSituation.hud_id)))
    assert sample["CurrentLivingSitID"] not in remaining and "X-1" not in remaining
    assert len(remaining) == len(rows_of(export_folder(2026), CLS)) - 1
    assert database.session.scalar(select(func.count()).select_from(HmisContact)) == 0
    assert user["UserID"] not in set(database.session.scalars(select(HmisUser.hud_user_id)))


# --- review items the HMIS made stale --------------------------------------------------------


@pytest.fixture
def pending(database, make, frozen_clock):
    """The sample imported, and a pending "where to find me" of a client it holds, sent now
    (the frozen clock), reviewed by the client's case manager."""
    agency = make.agency()
    import_export(export_folder(2026), agency=agency)
    database.session.commit()
    enrollment = enrollments_without_cls()[0]
    client = client_of(database, enrollment["PersonalID"])
    account = make.client_account(agency, client=client)
    item = make.review_item(client, account, kind="location")
    item.payload_encrypted = crypto.encrypt_json({"place_kind": "vehicle", "place": "Blue van"})
    manager = make.staff(Role.CASE_MANAGER, agency)
    client.care_team.append(CareTeamMember(staff=manager, is_case_manager=True))
    database.session.commit()
    today = frozen_clock.now().astimezone(ZoneInfo(agency.timezone)).date()
    return SimpleNamespace(
        agency=agency,
        enrollment=enrollment,
        client=client,
        account=account,
        item=item,
        manager=manager,
        today=today,
    )


NOTICE = "The HMIS changed this since the client sent it"


def test_a_newer_living_situation_flags_a_pending_location_item(
    app, database, pending, tmp_path, frozen_clock
):
    item = pending.item
    reviewer = signed_in(app, pending.manager)
    assert NOTICE not in reviewer.get(f"/staff/review/{item.public_id}").get_data(as_text=True)
    frozen_clock.advance(timedelta(minutes=10))  # within the staff idle timeout

    row = cls_row("F-1", pending.enrollment, pending.today.isoformat())
    report = import_export(delta(tmp_path, {CLS: [row]}), agency=pending.agency)
    database.session.commit()

    assert report.ok, report
    database.session.refresh(item)
    assert item.hmis_changed_at == frozen_clock.now()
    page = reviewer.get(f"/staff/review/{item.public_id}").get_data(as_text=True)
    assert NOTICE in page and "Check the HMIS before you accept." in page


def test_an_older_living_situation_does_not_flag_it(database, pending, tmp_path):
    yesterday = (pending.today - timedelta(days=1)).isoformat()
    row = cls_row("F-2", pending.enrollment, yesterday)
    report = import_export(delta(tmp_path, {CLS: [row]}), agency=pending.agency)
    database.session.commit()
    assert report.ok and report.files[CLS].imported == 1, report
    database.session.refresh(pending.item)
    assert pending.item.hmis_changed_at is None


def test_a_changed_client_row_flags_a_pending_correction_not_a_location(
    database, make, pending, tmp_path
):
    client, account, agency = pending.client, pending.account, pending.agency
    correction = make.review_item(client, account, kind="correction")
    location_correction = make.review_item(client, account, kind="location_correction")
    folder = copy_of(export_folder(2026), tmp_path)
    row = next(
        n
        for n, r in enumerate(rows_of(folder, "Client.csv"), 1)
        if r["PersonalID"] == client.personal_id
    )
    unchanged = import_export(folder, agency=agency)
    database.session.commit()
    assert unchanged.ok and correction.hmis_changed_at is None
    edit_cell(folder, "Client.csv", row, "FirstName", "Renamed")

    report = import_export(folder, agency=agency)
    database.session.commit()

    assert report.ok and report.files["Client.csv"].updated == 1
    for stale in (correction, location_correction, pending.item):
        database.session.refresh(stale)
    assert correction.hmis_changed_at is not None
    assert pending.item.hmis_changed_at is None and location_correction.hmis_changed_at is None


# --- import runs -----------------------------------------------------------------------------


def test_an_upload_records_a_run_and_the_page_lists_it(
    agency_admin, agency_admin_user, other_agency_admin, database
):
    content = zipped(export_folder(2026)).getvalue()
    page = agency_admin.form(
        "/staff/imports/hmis",
        {"export": (io.BytesIO(content), "march-export.zip")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    broken = agency_admin.form(
        "/staff/imports/hmis",
        {"export": (io.BytesIO(b"not a zip"), "broken.zip")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)

    stored = database.session.scalars(select(HmisImportRun).order_by(HmisImportRun.id)).all()
    assert [(r.through, r.source_name, r.ok, r.actor_id) for r in stored] == [
        ("upload", "march-export.zip", True, agency_admin_user.id),
        ("upload", "broken.zip", False, agency_admin_user.id),
    ]
    assert stored[0].sha256 == hashlib.sha256(content).hexdigest()
    assert (
        stored[0].report["files"][CLS]["imported"] == 20
        and stored[1].report["fatal"] == "not_a_zip"
    )
    assert "Recent imports" in page and "march-export.zip" in page
    listed = agency_admin.get("/staff/imports/hmis").get_data(as_text=True)
    assert "march-export.zip" in listed and "broken.zip" in listed
    assert "Nothing imported: Upload the export as a .zip file" in broken
    others = other_agency_admin.get("/staff/imports/hmis").get_data(as_text=True)
    assert "march-export.zip" not in others and "No export has been imported yet." in others


def test_recent_runs_are_for_staff_who_import(database, make, agency_a):
    admin = make.staff(Role.AGENCY_ADMIN, agency_a)
    manager = make.staff(Role.CASE_MANAGER, agency_a)
    for day in range(3):
        runs.record_run(
            agency_a, "command", f"export-{day}.zip", f"{day:064d}", runs.failed_report()
        )
    assert [r.source_name for r in runs.recent_runs(admin, limit=2)] == [
        "export-2.zip",
        "export-1.zip",
    ]
    with pytest.raises(Forbidden):
        runs.recent_runs(manager)


def test_the_command_records_a_run(app, agency_a, database, tmp_path):
    folder = copy_of(export_folder(2026), tmp_path)
    runner = app.test_cli_runner()
    assert (
        runner.invoke(args=["import-hmis", str(folder), "--agency", agency_a.name]).exit_code == 0
    )
    (folder / "Client.csv").unlink()
    failed = runner.invoke(args=["import-hmis", str(folder), "--agency", agency_a.name])
    assert failed.exit_code != 0
    stored = database.session.scalars(select(HmisImportRun).order_by(HmisImportRun.id)).all()
    assert [(r.through, r.ok, r.report["fatal"]) for r in stored] == [
        ("command", True, None),
        ("command", False, "missing_file"),
    ]
    assert stored[0].sha256 != stored[1].sha256


@pytest.mark.requirement("R58")
def test_a_run_keeps_codes_and_counts_never_a_value(database, make, tmp_path):
    folder = copy_of(export_folder(2026), tmp_path)
    secret = "Sentinel Zyxwvut bridge"
    edit_cell(folder, CLS, 1, "LocationDetails", secret + "x" * 250)
    edit_cell(folder, CLS, 2, "LocationDetails", secret)
    agency = make.agency()
    report = import_export(folder, agency=agency)
    run = runs.record_run(agency, "upload", "export.zip", "0" * 64, report)

    assert run.report["files"][CLS]["error_rows"] == [[1, "LocationDetails", "too_long"]]
    text = json.dumps(run.report)
    assert "Sentinel" not in text
    assert not any(r["LastName"] in text for r in rows_of(folder, "Client.csv") if r["LastName"])


# --- the watched landing place -----------------------------------------------------------------


@pytest.fixture
def landing(app, make, monkeypatch, tmp_path):
    """A watched folder for a new agency (the settings of the running app, overridden)."""
    folder = tmp_path / "landing"
    folder.mkdir()
    agency = make.agency()
    settings = app.extensions["portal.settings"].with_overrides(
        hmis_import_watch=str(folder), hmis_import_watch_agency=agency.name
    )
    monkeypatch.setitem(app.extensions, "portal.settings", settings)
    return folder, agency


def watch_runs(database, agency) -> list[HmisImportRun]:
    query = select(HmisImportRun).where(HmisImportRun.agency_id == agency.id)
    return database.session.scalars(query.order_by(HmisImportRun.id)).all()


def test_a_dropped_zip_is_imported_once_whatever_its_name(database, landing, tmp_path):
    folder, agency = landing
    content = zipped(export_folder(2026)).getvalue()
    (folder / "export-1.zip").write_bytes(content)

    watch.watch_job({})

    stored = watch_runs(database, agency)
    assert [(r.through, r.source_name, r.ok) for r in stored] == [("watch", "export-1.zip", True)]
    assert stored[0].sha256 == hashlib.sha256(content).hexdigest()
    assert counts(database)["hmis_living_situations"] == 20
    shutil.copy(folder / "export-1.zip", folder / "same-again.zip")
    watch.watch_job({})
    assert len(watch_runs(database, agency)) == 1

    changed = copy_of(export_folder(2026), tmp_path)
    edit_cell(changed, CLS, 1, "VerifiedBy", "Night outreach")
    (folder / "export-2.zip").write_bytes(zipped(changed).getvalue())
    (folder / "notes.txt").write_text("not an export")
    watch.watch_job({})
    stored = watch_runs(database, agency)
    assert [(r.source_name, r.ok) for r in stored] == [
        ("export-1.zip", True),
        ("export-2.zip", True),
    ]
    assert stored[1].report["files"][CLS]["updated"] == 1


def test_a_broken_zip_is_recorded_failed_once_and_not_retried(database, landing, caplog):
    folder, agency = landing
    (folder / "broken.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    caplog.set_level(logging.INFO, logger="portal.hmis")

    watch.watch_job({})
    watch.watch_job({})

    stored = watch_runs(database, agency)
    assert [(r.source_name, r.ok, r.report["fatal"]) for r in stored] == [
        ("broken.zip", False, "not_a_zip")
    ]
    assert counts(database)["clients"] == 0
    assert "broken.zip" not in caplog.text


def test_the_worker_runs_the_watch_and_queues_it_again(database, landing):
    folder, agency = landing
    (folder / "export.zip").write_bytes(zipped(export_folder(2026)).getvalue())
    jobs.enqueue("hmis.watch", {}, unique_key="recurring:hmis.watch")
    database.session.commit()

    assert jobs.run_pending() == 1

    assert [(r.source_name, r.ok) for r in watch_runs(database, agency)] == [("export.zip", True)]
    queued = database.session.scalars(select(Job).where(Job.kind == "hmis.watch")).all()
    assert sorted(job.status for job in queued) == ["done", "queued"]


def test_an_unknown_agency_or_no_landing_place_imports_nothing(
    app, database, make, monkeypatch, tmp_path, caplog
):
    (tmp_path / "export.zip").write_bytes(zipped(export_folder(2026)).getvalue())
    settings = app.extensions["portal.settings"]
    monkeypatch.setitem(
        app.extensions,
        "portal.settings",
        settings.with_overrides(hmis_import_watch=str(tmp_path), hmis_import_watch_agency="Nobody"),
    )
    assert watch.watch() == 0
    assert "HMIS_IMPORT_WATCH_AGENCY" in caplog.text
    monkeypatch.setitem(app.extensions, "portal.settings", settings)
    assert watch.watch() == 0
    assert database.session.scalar(select(func.count()).select_from(HmisImportRun)) == 0


def test_the_two_watch_settings_go_together():
    alone = Settings(hmis_import_watch="/srv/hmis").problems()
    agency_alone = Settings(hmis_import_watch_agency="Agency A").problems()
    both = Settings(hmis_import_watch="s3://bucket/in/", hmis_import_watch_agency="A").problems()
    no_bucket = Settings(hmis_import_watch="s3://", hmis_import_watch_agency="A").problems()
    together = "HMIS_IMPORT_WATCH and HMIS_IMPORT_WATCH_AGENCY are set together or not"
    assert together in alone and together in agency_alone
    assert not any("HMIS_IMPORT_WATCH" in problem for problem in both)
    assert "HMIS_IMPORT_WATCH must name a bucket: s3://bucket/prefix/" in no_bucket


def test_an_s3_landing_place_is_watched(app, database, make, monkeypatch, seaweedfs):
    agency = make.agency()
    content = zipped(export_folder(2026)).getvalue()
    seaweedfs.client.put_object(Bucket=seaweedfs.bucket, Key="hmis-in/export.zip", Body=content)
    seaweedfs.client.put_object(Bucket=seaweedfs.bucket, Key="elsewhere/other.zip", Body=b"x")
    seaweedfs.client.put_object(Bucket=seaweedfs.bucket, Key="hmis-in/sub/deeper.zip", Body=b"y")
    settings = app.extensions["portal.settings"].with_overrides(
        **seaweedfs.settings_overrides(),
        hmis_import_watch=f"s3://{seaweedfs.bucket}/hmis-in/",
        hmis_import_watch_agency=agency.name,
    )
    monkeypatch.setitem(app.extensions, "portal.settings", settings)
    try:
        watch.watch_job({})
        watch.watch_job({})
    finally:
        for key in ("hmis-in/export.zip", "elsewhere/other.zip", "hmis-in/sub/deeper.zip"):
            seaweedfs.client.delete_object(Bucket=seaweedfs.bucket, Key=key)

    stored = watch_runs(database, agency)
    assert [(r.source_name, r.ok, r.sha256) for r in stored] == [
        ("export.zip", True, hashlib.sha256(content).hexdigest())
    ]
    assert counts(database)["hmis_living_situations"] == 20


def test_a_zip_in_a_watched_folder_under_a_dot_name_is_left_alone(database, landing):
    folder, agency = landing
    (folder / ".export.zip.partial").write_bytes(zipped(export_folder(2026)).getvalue())
    (folder / ".export.zip").write_bytes(zipped(export_folder(2026)).getvalue())
    (folder / "EXPORT.ZIP").write_bytes(b"not a zip either")
    watch.watch_job({})
    assert [(r.source_name, r.ok) for r in watch_runs(database, agency)] == [("EXPORT.ZIP", False)]
    assert counts(database)["clients"] == 0


def test_a_file_already_imported_is_not_downloaded_again(database, landing, monkeypatch):
    """A landing place keeps its files: the one with a run (same name, size and time) is not
    fetched and hashed again every 15 minutes; a new file is."""
    from portal.integrations import hmis_landing

    folder, agency = landing
    (folder / "export-1.zip").write_bytes(zipped(export_folder(2026)).getvalue())
    fetched = []
    real = hmis_landing.fetch

    def counting(settings, location, landed):
        fetched.append(landed.name)
        return real(settings, location, landed)

    monkeypatch.setattr(hmis_landing, "fetch", counting)
    watch.watch_job({})
    watch.watch_job({})
    watch.watch_job({})
    assert fetched == ["export-1.zip"]
    (folder / "broken.zip").write_bytes(b"not a zip")
    watch.watch_job({})
    watch.watch_job({})
    assert fetched == ["export-1.zip", "broken.zip"]
    assert len(watch_runs(database, agency)) == 2


def test_a_later_portal_contact_is_never_moved_back_by_an_import(database, make, agency_a):
    """The import compares in the database: a check-in committed while it ran (the loaded
    client row is stale) stays the last contact."""
    from sqlalchemy import update as sql_update

    from portal.domain.records.coordinated_entry import record_hmis_contact

    client = make.client(agency_a)
    stale = database.session.get(Client, client.id)
    checked_in = datetime(2026, 3, 1, 12, tzinfo=UTC)
    database.session.execute(
        sql_update(Client)
        .where(Client.id == client.id)
        .values(last_contact_at=checked_in, last_contact_kind="check_in")
        .execution_options(synchronize_session=False)
    )
    assert stale.last_contact_at is None  # what the import loaded
    assert not record_hmis_contact(stale, datetime(2026, 2, 1, 8, tzinfo=UTC), "hmis_cls")
    database.session.expire_all()
    fresh = database.session.get(Client, client.id)
    assert (fresh.last_contact_at, fresh.last_contact_kind) == (checked_in, "check_in")
    assert record_hmis_contact(fresh, datetime(2026, 3, 2, 8, tzinfo=UTC), "hmis_event")
    database.session.expire_all()
    assert database.session.get(Client, client.id).last_contact_kind == "hmis_event"
