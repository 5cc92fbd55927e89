"""Issue 21's round trip: every export the portal makes is read back by the portal's own
importer into a fresh database, and its rows compare field by field with what was exported,
against HUD's value lists. On SQLite and, with TEST_DATABASE_URL, on PostgreSQL (the fresh
database is of the same kind).

The portal side starts from the FY2026 sample export (Green River, in ../shared/data/hmis/)
with the clock at 2022-08-20 (after the sample's last contact), when client 618179 had an open
street-outreach enrollment (857506, 2022-07-26 to 2022-08-23). The fresh database imports
the same sample first (the HMIS has its own clients and enrollments), then the portal's
export. A file the importer
ignored would fail here: every exported row must be found, stored, and equal.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.domain import selfservice
from portal.domain.core import clock, crypto
from portal.domain.core.errors import DomainError
from portal.domain.core.roles import Role
from portal.domain.hmis import export as hmis_export
from portal.domain.hmis.importer import import_export
from portal.domain.models import (
    Agency,
    CareTeamMember,
    Client,
    HmisExport,
    HmisLivingSituation,
    HmisUser,
)
from portal.domain.selfservice import review
from portal.extensions import db
from tests.support import Factories, build_app, shared_path

pytestmark = pytest.mark.real_commits

AT = datetime(2022, 8, 20, 18, 0, tzinfo=UTC)
PERSON = "618179"  # open in street outreach (project 1419) on that day
ENROLLMENT = "857506"
USER_EMAIL = "vajegwr@fnscdrj.mbe"  # HMIS user 27 of the sample's User.csv
CLS_COLUMNS = hmis_export.COLUMNS["CurrentLivingSituation.csv"]


def sample() -> Path:
    return shared_path("data", "hmis", "greenriver-fy2026-export")


def csv_rows(content: bytes, name: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))


@pytest.fixture
def portal_side(app, database):
    """The portal's database: the sample imported, the client's account, a case manager who
    is HMIS user 27 (by email) on the care team, the clock at AT."""
    clock.freeze(AT)
    make = Factories(database.session)
    agency = make.agency("Round trip agency", timezone="America/Los_Angeles")
    report = import_export(sample(), agency=agency)
    assert report.ok, report
    database.session.commit()
    client = database.session.scalar(select(Client).where(Client.personal_id == PERSON))
    manager = make.staff(Role.CASE_MANAGER, agency, email=USER_EMAIL)
    client.care_team.append(CareTeamMember(staff=manager, is_case_manager=True))
    agency.hmis_user_id = "28"
    database.session.commit()
    account = make.client_account(agency, client=client)
    return agency, manager, account


def share_and_accept(database, manager, account, **place) -> bool:
    """A place as the client sends it and the case manager accepts it; False if refused."""
    try:
        item = selfservice.submit_location(account, **place)
    except DomainError:
        database.session.rollback()
        return False
    review.accept(manager, item, item.version)
    database.session.commit()
    return True


def import_into_fresh(tmp_path: Path, url: str, content: bytes):
    """A fresh database: the sample (the HMIS's own records), then the portal's export.
    Returns (the report of the export's import, {hud id: stored row as CSV cells}, users)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    fresh = build_app(tmp_path / "fresh", url)
    zip_path = tmp_path / "portal-export.zip"
    zip_path.write_bytes(content)
    with fresh.app_context():
        agency = Agency(name="The HMIS", timezone="America/Los_Angeles")
        db.session.add(agency)
        db.session.commit()
        assert import_export(sample(), agency=agency).ok
        db.session.commit()
        report = import_export(zip_path, agency=agency)
        db.session.commit()
        stored = {
            row.hud_id: as_cells(row) for row in db.session.scalars(select(HmisLivingSituation))
        }
        kinds = {c.personal_id: c.last_contact_kind for c in db.session.scalars(select(Client))}
        users = {
            u.hud_user_id: (u.first_name or "", u.last_name or "", u.email or "")
            for u in db.session.scalars(select(HmisUser))
        }
        db.session.remove()
        db.engine.dispose()  # so the fresh database can be dropped at the end
    return report, stored, users, kinds


def _text(value) -> str:
    return "" if value is None else str(value)


def _stamp(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def as_cells(row: HmisLivingSituation) -> dict[str, str]:
    """A stored row as the CSV cells it was read from."""
    details = row.location_details_encrypted
    return {
        "CurrentLivingSitID": row.hud_id,
        "EnrollmentID": row.enrollment.hud_enrollment_id,
        "PersonalID": db.session.get(Client, row.client_id).personal_id,
        "InformationDate": row.information_date.isoformat(),
        "CurrentLivingSituation": str(row.living_situation),
        "CLSSubsidyType": _text(row.subsidy_type),
        "VerifiedBy": _text(row.verified_by),
        "LeaveSituation14Days": _text(row.leave_situation_14_days),
        "SubsequentResidence": _text(row.subsequent_residence),
        "ResourcesToObtain": _text(row.resources_to_obtain),
        "LeaseOwn60Day": _text(row.lease_own_60_day),
        "MovedTwoOrMore": _text(row.moved_two_or_more),
        "LocationDetails": crypto.decrypt_text(details) if details else "",
        "DateCreated": _stamp(row.hud_date_created),
        "DateUpdated": _stamp(row.hud_date_updated),
        "UserID": _text(row.hud_user_id),
    }


def compare(exported: list[dict[str, str]], stored: dict[str, dict[str, str]]) -> None:
    codes = hmis_export.cls_list()
    assert exported, "the export holds no CurrentLivingSituation row"
    for row in exported:
        assert row["CurrentLivingSitID"] in stored, row["CurrentLivingSitID"]
        back = stored[row["CurrentLivingSitID"]]
        for column in CLS_COLUMNS:
            if column in ("DateDeleted", "ExportID"):
                continue
            assert back[column] == row[column], (column, back[column], row[column])
        assert int(row["CurrentLivingSituation"]) in codes


def test_every_export_reads_back_field_by_field(portal_side, new_database, database, tmp_path):
    agency, manager, account = portal_side
    selfservice.check_in(account)
    database.session.commit()
    for kind in ("shelter", "street", "vehicle", "friends_family", "hotel", "other"):
        assert share_and_accept(
            database, manager, account, place_kind=kind, place=f"A {kind} place", times="Nights"
        )
    assert share_and_accept(
        database,
        manager,
        account,
        place_kind="street",
        place='Corner of 5th & Main, "the blue tent"',
        use_my_location=True,
        latitude="47.6062095",
        longitude="-122.3320708",
    )
    first = hmis_export.make_export(agency, None, through="command")
    database.session.commit()
    # A second export with what came after the first: each is read back on its own.
    clock.freeze(AT.replace(hour=20))
    selfservice.check_in(account)
    database.session.commit()
    second = hmis_export.make_export(agency, None, through="command")
    database.session.commit()

    for made, expected_rows in ((first, 8), (second, 1)):
        content = crypto.decrypt_bytes(database.session.get(HmisExport, made.id).content_encrypted)
        exported = csv_rows(content, "CurrentLivingSituation.csv")
        assert len(exported) == expected_rows
        assert {row["EnrollmentID"] for row in exported} == {ENROLLMENT}
        report, stored, users, kinds = import_into_fresh(
            tmp_path / f"e{made.sequence}", new_database(), content
        )
        assert report.ok, report
        cls = report.files["CurrentLivingSituation.csv"]
        assert cls.imported == expected_rows and not cls.skipped
        assert report.ignored_files == ["PortalContactChanges.csv"]  # not a HUD file
        compare(exported, stored)
        assert kinds[PERSON] == "hmis_cls"  # the HMIS now knows of the contact
        for row in csv_rows(content, "User.csv"):
            assert users[row["UserID"]] == (
                row["UserFirstName"],
                row["UserLastName"],
                row["UserEmail"],
            )
    codes = {
        row["CurrentLivingSituation"]
        for row in csv_rows(
            crypto.decrypt_bytes(database.session.get(HmisExport, first.id).content_encrypted),
            "CurrentLivingSituation.csv",
        )
    }
    assert codes == {"99", "101", "116", "314", "17"}


def test_every_hud_code_and_the_naughty_strings_read_back(
    portal_side, new_database, database, tmp_path
):
    """Every code of HUD's CurrentLivingSituation list (4.12), through the writer's rows, and
    the Big List of Naughty Strings as the places clients typed, through a real export."""
    agency, manager, account = portal_side
    naughty = json.loads(shared_path("data", "blns", "blns.json").read_text(encoding="utf-8"))
    kept = 0
    for text in naughty:
        kept += share_and_accept(database, manager, account, place_kind="other", place=text[:100])
    assert kept > 400  # most strings are places a client can type
    made = hmis_export.make_export(agency, None, through="command")
    database.session.commit()
    content = crypto.decrypt_bytes(database.session.get(HmisExport, made.id).content_encrypted)
    exported = csv_rows(content, "CurrentLivingSituation.csv")
    assert len(exported) == kept
    # Every HUD code, as a row the writer makes, in the same zip.
    extra = [
        hmis_export.cls_row(
            row_id=f"code{code}",
            enrollment_id=ENROLLMENT,
            personal_id=PERSON,
            information_date=date(2022, 8, 20),
            situation=code,
            details=f"code {code}",
            created=AT,
            user_id="27",
            export_id=exported[0]["ExportID"],
        )
        for code in hmis_export.cls_list().values
    ]
    rows = exported + extra
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CLS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            target.writestr(
                name,
                out.getvalue() if name == "CurrentLivingSituation.csv" else source.read(name),
            )
    report, stored, _users, _kinds = import_into_fresh(tmp_path, new_database(), buffer.getvalue())
    assert report.ok, report
    assert report.files["CurrentLivingSituation.csv"].imported == len(rows)
    compare(rows, stored)
