"""The HUD HMIS CSV import, with the synthetic FY2024 and FY2026 exports in ../shared.

Expected numbers are computed from the CSV files themselves, never written down here.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.domain.core import crypto
from portal.domain.hmis import hud_lists
from portal.domain.hmis.importer import (
    ERROR_CODES,
    FATAL_CODES,
    HANDLED_FILES,
    SKIP_REASONS,
    WARNING_CODES,
    import_export,
)
from portal.domain.models import AuditEvent, Client, Enrollment, Organization, Project
from tests.support import shared_path

CLS = "CurrentLivingSituation.csv"


def export_folder(fiscal_year: int) -> Path:
    return shared_path("data", "hmis", f"greenriver-fy{fiscal_year}-export")


def rows_of(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def copy_of(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / folder.name
    shutil.copytree(folder, target)
    for path in target.iterdir():
        path.chmod(0o644)  # the shared files are read-only
    return target


def edit_cell(folder: Path, name: str, row: int, column: str, value: str) -> None:
    """Change one cell; `row` counts data rows from 1, as the import's reports do."""
    path = folder / name
    with path.open(newline="", encoding="utf-8-sig") as f:
        lines = list(csv.reader(f))
    lines[row][lines[0].index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(lines)


def table_counts(session) -> dict[str, int]:
    counts = {
        model.__tablename__: session.scalar(select(func.count()).select_from(model))
        for model in (Organization, Project, Client, Enrollment)
    }
    counts["exits"] = session.scalar(
        select(func.count()).select_from(Enrollment).where(Enrollment.hud_exit_id.is_not(None))
    )
    counts["imports_audited"] = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "hmis.imported")
    )
    return counts


def snapshot(session) -> dict[str, tuple]:
    rows = session.execute(select(Client.personal_id, Client.updated_at, Client.imported_at))
    snap = {f"client {pid}": (updated, imported) for pid, updated, imported in rows}
    for model, key in (
        (Organization, Organization.hud_organization_id),
        (Project, Project.hud_project_id),
        (Enrollment, Enrollment.hud_enrollment_id),
    ):
        for hud_id, imported in session.execute(select(key, model.imported_at)):
            snap[f"{model.__tablename__} {hud_id}"] = (imported,)
    return snap


def zipped(folder: Path, prefix: str = "") -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{prefix}{path.name}")
    buffer.seek(0)
    return buffer


# --- whole exports -----------------------------------------------------------------------


def test_the_fy2026_export_imports_every_row_of_its_files(database, make):
    folder = export_folder(2026)
    agency = make.agency()
    report = import_export(folder, agency=agency)

    assert report.ok, report
    assert report.csv_version == "2026 v1.0"
    clients = rows_of(folder, "Client.csv")
    kept = [r for r in clients if not r["DateDeleted"]]
    enrollments = rows_of(folder, "Enrollment.csv")
    exits = rows_of(folder, "Exit.csv")
    counts = table_counts(database.session)
    assert counts == {
        "organizations": len(rows_of(folder, "Organization.csv")),
        "projects": len(rows_of(folder, "Project.csv")),
        "clients": len(kept),
        "enrollments": len(enrollments),
        "exits": len(exits),
        "imports_audited": 1,
    }
    files = report.files
    assert files["Organization.csv"].imported == counts["organizations"]
    assert files["Project.csv"].imported == counts["projects"]
    assert files["Client.csv"].imported == len(kept)
    assert len(files["Client.csv"].skipped) == len(clients) - len(kept)
    assert files["Enrollment.csv"].imported == len(enrollments)
    assert files["Exit.csv"].imported == len(exits)
    assert all(f.updated == 0 and f.unchanged == 0 and not f.errors for f in files.values())
    assert {code for f in files.values() for _, _, code in f.warnings} <= WARNING_CODES
    on_disk = {p.name for p in folder.iterdir()}
    assert sorted(report.ignored_files) == sorted(on_disk - set(HANDLED_FILES))


def test_imported_clients_belong_to_the_importing_agency_and_keep_their_hud_values(
    database, make, frozen_clock
):
    folder = export_folder(2026)
    agency = make.agency()
    import_export(folder, agency=agency)

    row = next(r for r in rows_of(folder, "Client.csv") if r["DOBDataQuality"] == "1")
    client = database.session.scalar(select(Client).where(Client.personal_id == row["PersonalID"]))
    assert client.owning_agency_id == agency.id
    assert client.source == "hmis_import"
    assert client.imported_at == frozen_clock.now()
    assert (client.first_name, client.last_name) == (row["FirstName"], row["LastName"])
    assert client.dob.isoformat() == row["DOB"]
    assert client.name_quality == int(row["NameDataQuality"])
    assert client.hud_date_updated.isoformat(sep=" ") == row["DateUpdated"] + "+00:00"
    enrollment_row = rows_of(folder, "Enrollment.csv")[0]
    enrollment = database.session.scalar(
        select(Enrollment).where(Enrollment.hud_enrollment_id == enrollment_row["EnrollmentID"])
    )
    assert enrollment.client.personal_id == enrollment_row["PersonalID"]
    assert enrollment.project.hud_project_id == enrollment_row["ProjectID"]
    assert enrollment.household_id == enrollment_row["HouseholdID"]
    assert enrollment.project.organization.agency_id == agency.id


def test_exits_close_their_enrollments_with_date_and_destination(database, make):
    folder = export_folder(2026)
    import_export(folder, agency=make.agency())
    for row in rows_of(folder, "Exit.csv")[:25]:
        enrollment = database.session.scalar(
            select(Enrollment).where(Enrollment.hud_enrollment_id == row["EnrollmentID"])
        )
        assert enrollment.hud_exit_id == row["ExitID"]
        assert enrollment.exit_date.isoformat() == row["ExitDate"]
        assert enrollment.destination == int(row["Destination"])


def test_the_fy2024_export_imports_too_though_its_client_columns_differ(database, make):
    folder = export_folder(2024)
    report = import_export(folder, agency=make.agency())

    assert report.ok, report
    assert report.csv_version.startswith("2024 ")
    kept = [r for r in rows_of(folder, "Client.csv") if not r["DateDeleted"]]
    assert report.files["Client.csv"].imported == len(kept)
    assert set(report.files) == {"Organization.csv", "Project.csv", "Client.csv"}
    counts = table_counts(database.session)
    assert counts["clients"] == len(kept)
    assert counts["projects"] == len(rows_of(folder, "Project.csv"))
    assert counts["enrollments"] == 0


def test_a_second_import_of_the_same_export_changes_nothing(database, make, frozen_clock):
    folder = export_folder(2026)
    agency = make.agency()
    import_export(folder, agency=agency)
    database.session.commit()
    before, counts = snapshot(database.session), table_counts(database.session)
    frozen_clock.advance(timedelta(days=3))

    report = import_export(folder, agency=agency)
    database.session.commit()

    assert report.ok
    for file_report in report.files.values():
        assert (file_report.imported, file_report.updated, file_report.skipped) == (0, 0, [])
        assert file_report.unchanged > 0
    assert snapshot(database.session) == before
    assert table_counts(database.session) == {**counts, "imports_audited": 2}


def test_importing_fy2026_over_fy2024_adds_enrollments_and_changes_no_client(database, make):
    agency = make.agency()
    import_export(export_folder(2024), agency=agency)
    database.session.commit()
    before = {k: v for k, v in snapshot(database.session).items() if k.startswith("client")}

    report = import_export(export_folder(2026), agency=agency)

    assert report.ok
    assert report.files["Client.csv"].imported == report.files["Client.csv"].updated == 0
    assert report.files["Enrollment.csv"].imported == len(
        rows_of(export_folder(2026), "Enrollment.csv")
    )
    after = {k: v for k, v in snapshot(database.session).items() if k.startswith("client")}
    # Only the last contact of the clients CurrentLivingSituation.csv names moves (issue 21).
    contacted = {f"client {r['PersonalID']}" for r in rows_of(export_folder(2026), CLS)}
    assert {k for k in after if after[k] != before[k]} == contacted
    assert {k: v[1] for k, v in after.items()} == {k: v[1] for k, v in before.items()}


def test_a_zip_upload_imports_the_same_as_the_folder(database, make):
    folder = export_folder(2026)
    agency = make.agency()
    report = import_export(zipped(folder, prefix="greenriver/"), agency=agency)

    assert report.ok, report
    expected = {
        "Organization.csv": len(rows_of(folder, "Organization.csv")),
        "Project.csv": len(rows_of(folder, "Project.csv")),
        "Client.csv": len(rows_of(folder, "Client.csv")),
        "Enrollment.csv": len(rows_of(folder, "Enrollment.csv")),
        "Exit.csv": len(rows_of(folder, "Exit.csv")),
        CLS: len(rows_of(folder, CLS)),
        "User.csv": len(rows_of(folder, "User.csv")),
    }
    assert {name: f.imported for name, f in report.files.items()} == expected
    again = import_export(folder, agency=agency)
    assert {name: f.unchanged for name, f in again.files.items()} == expected


def test_a_werkzeug_upload_of_the_zip_is_imported(database, make):
    from werkzeug.datastructures import FileStorage

    upload = FileStorage(stream=zipped(export_folder(2026)), filename="export.zip")
    report = import_export(upload, agency=make.agency())
    assert report.ok and report.files["Client.csv"].imported > 0


def test_a_zip_file_on_disk_can_be_imported_by_its_path(database, make, tmp_path):
    path = tmp_path / "export.zip"
    path.write_bytes(zipped(export_folder(2026)).getvalue())
    assert import_export(path, agency=make.agency()).ok


# --- what is kept, and how ---------------------------------------------------------------


def test_ssns_are_stored_encrypted_with_the_last_four_in_clear(database, make):
    folder = export_folder(2026)
    import_export(folder, agency=make.agency())
    full = [r for r in rows_of(folder, "Client.csv") if r["SSNDataQuality"] == "1"]
    full = [r for r in full if len(r["SSN"]) == 9 and r["SSN"].isdigit()]
    assert full
    stored = dict(
        database.session.execute(
            select(Client.personal_id, Client).where(
                Client.personal_id.in_([r["PersonalID"] for r in full])
            )
        ).all()
    )
    for row in full:
        client = stored[row["PersonalID"]]
        assert row["SSN"] not in client.ssn_encrypted
        assert crypto.decrypt_text(client.ssn_encrypted) == row["SSN"]
        assert client.ssn_last4 == row["SSN"][-4:]
        assert client.ssn_quality in (1, 2)  # 2 when the number breaks a validity rule


def test_an_ssn_the_hmis_marks_as_not_known_is_not_kept(database, make):
    folder = export_folder(2026)
    report = import_export(folder, agency=make.agency())
    rows = [r for r in rows_of(folder, "Client.csv") if r["SSNDataQuality"] in ("8", "9", "99")]
    with_digits = [r for r in rows if r["SSN"]]
    assert with_digits, "the sample export has such rows; the test needs one"
    for row in with_digits:
        client = database.session.scalar(
            select(Client).where(Client.personal_id == row["PersonalID"])
        )
        assert client.ssn_encrypted is None and client.ssn_last4 is None
        assert client.ssn_quality == int(row["SSNDataQuality"])
    warned = [w for w in report.files["Client.csv"].warnings if w[2] == "ssn_dropped_for_quality"]
    assert len(warned) == len(with_digits)


def test_a_dob_whose_quality_says_not_known_is_dropped_with_a_warning(database, make):
    folder = export_folder(2026)
    report = import_export(folder, agency=make.agency())
    rows = rows_of(folder, "Client.csv")
    dropped = [
        (number, r)
        for number, r in enumerate(rows, start=1)
        if r["DOB"] and r["DOBDataQuality"] in ("8", "9", "99")
    ]
    assert dropped, "the sample export has such a row; the test needs one"
    for number, row in dropped:
        client = database.session.scalar(
            select(Client).where(Client.personal_id == row["PersonalID"])
        )
        assert client.dob is None and client.dob_quality == int(row["DOBDataQuality"])
        assert (number, "DOB", "dob_dropped_for_quality") in report.files["Client.csv"].warnings


def test_a_client_deleted_in_the_hmis_is_soft_deleted_here(database, make, frozen_clock, tmp_path):
    folder = copy_of(export_folder(2026), tmp_path)
    agency = make.agency()
    import_export(folder, agency=agency)
    row = rows_of(folder, "Client.csv")[2]
    edit_cell(folder, "Client.csv", 3, "DateDeleted", "2023-01-05 10:00:00")

    report = import_export(folder, agency=agency)

    assert report.ok and report.files["Client.csv"].updated == 1
    client = database.session.scalar(select(Client).where(Client.personal_id == row["PersonalID"]))
    assert client.deleted_at == frozen_clock.now()
    assert client.purge_after == frozen_clock.now().date().replace(year=frozen_clock.now().year + 7)


def test_a_new_client_deleted_in_the_hmis_is_skipped_with_its_enrollments(database, make, tmp_path):
    folder = copy_of(export_folder(2026), tmp_path)
    person = rows_of(folder, "Client.csv")[2]["PersonalID"]
    edit_cell(folder, "Client.csv", 3, "DateDeleted", "2023-01-05 10:00:00")

    report = import_export(folder, agency=make.agency())

    assert report.ok
    assert report.files["Client.csv"].skipped == [(3, "deleted_in_hmis")]
    theirs = [
        n for n, r in enumerate(rows_of(folder, "Enrollment.csv"), 1) if r["PersonalID"] == person
    ]
    assert theirs
    assert report.files["Enrollment.csv"].skipped == [(n, "references_deleted_row") for n in theirs]
    assert database.session.scalar(select(Client).where(Client.personal_id == person)) is None


def test_another_agency_cannot_change_clients_it_does_not_own(database, make):
    folder = export_folder(2026)
    owner, other = make.agency(), make.agency()
    import_export(folder, agency=owner)
    database.session.commit()
    before = snapshot(database.session)

    report = import_export(folder, agency=other)

    assert report.ok
    clients = report.files["Client.csv"]
    assert clients.imported == clients.updated == clients.unchanged == 0
    assert {reason for _, reason in clients.skipped} == {"owned_by_another_agency"}
    assert len(clients.skipped) == len(rows_of(folder, "Client.csv"))
    for name in ("Organization.csv", "Project.csv", "Enrollment.csv", "Exit.csv"):
        assert {reason for _, reason in report.files[name].skipped} == {
            "organization_of_another_agency"
        }
    assert snapshot(database.session) == before
    owners = set(database.session.scalars(select(Client.owning_agency_id)))
    assert owners == {owner.id}
    reasons = {reason for f in report.files.values() for _, reason in f.skipped}
    assert reasons <= SKIP_REASONS
    mapped = set(database.session.scalars(select(Organization.agency_id)))
    assert mapped == {owner.id}


def test_references_resolve_against_rows_already_stored(database, make, tmp_path):
    agency = make.agency()
    import_export(export_folder(2024), agency=agency)  # organizations, projects, clients
    folder = copy_of(export_folder(2026), tmp_path)
    (folder / "Organization.csv").unlink()
    (folder / "Project.csv").unlink()

    report = import_export(folder, agency=agency)

    assert report.ok, report
    assert report.files["Enrollment.csv"].imported == len(rows_of(folder, "Enrollment.csv"))


def test_without_the_projects_anywhere_every_enrollment_is_a_broken_reference(
    database, make, tmp_path
):
    folder = copy_of(export_folder(2026), tmp_path)
    (folder / "Project.csv").unlink()

    report = import_export(folder, agency=make.agency())

    errors = report.files["Enrollment.csv"].errors
    assert len(errors) == len(rows_of(folder, "Enrollment.csv"))
    assert {(column, reason) for _, column, reason in errors} == {
        ("ProjectID", "unknown_reference")
    }
    assert table_counts(database.session)["clients"] == 0


def test_an_exit_deleted_in_the_hmis_reopens_its_enrollment(database, make, tmp_path):
    folder = copy_of(export_folder(2026), tmp_path)
    agency = make.agency()
    import_export(folder, agency=agency)
    enrollment_id = rows_of(folder, "Exit.csv")[0]["EnrollmentID"]
    edit_cell(folder, "Exit.csv", 1, "DateDeleted", "2023-01-05 10:00:00")

    report = import_export(folder, agency=agency)

    assert report.ok and report.files["Exit.csv"].updated == 1
    enrollment = database.session.scalar(
        select(Enrollment).where(Enrollment.hud_enrollment_id == enrollment_id)
    )
    assert (enrollment.exit_date, enrollment.destination, enrollment.hud_exit_id) == (None,) * 3


# --- nothing is half-imported ------------------------------------------------------------

CORRUPTIONS = [
    pytest.param(
        "Enrollment.csv", 5, "ProjectID", "NOSUCHPROJECT77", "unknown_reference", id="project"
    ),
    pytest.param(
        "Enrollment.csv", 8, "PersonalID", "NOSUCHPERSON77", "unknown_reference", id="client"
    ),
    pytest.param("Client.csv", 7, "DOB", "2021-02-30", "invalid_date", id="dob"),
    pytest.param("Client.csv", 9, "FirstName", "Q" * 51, "too_long", id="first-name"),
    pytest.param("Client.csv", 11, "SSN", "12345678Z", "invalid_ssn", id="ssn"),
    pytest.param("Client.csv", 12, "NameDataQuality", "7", "invalid_code", id="quality"),
    pytest.param("Project.csv", 2, "OrganizationID", "NOSUCHORG77", "unknown_reference", id="org"),
    pytest.param(
        "Exit.csv", 4, "EnrollmentID", "NOSUCHENROLLMENT77", "unknown_reference", id="exit"
    ),
    pytest.param("Exit.csv", 6, "Destination", "336", "invalid_code", id="destination"),
]


@pytest.mark.parametrize(("name", "row", "column", "value", "reason"), CORRUPTIONS)
def test_one_bad_row_changes_nothing_and_the_report_names_it(
    database, make, tmp_path, name, row, column, value, reason
):
    folder = copy_of(export_folder(2026), tmp_path)
    edit_cell(folder, name, row, column, value)
    before = table_counts(database.session)

    report = import_export(folder, agency=make.agency())

    assert not report.ok and report.fatal is None
    assert report.files[name].errors == [(row, column, reason)] and reason in ERROR_CODES
    assert [n for n, f in report.files.items() if f.errors] == [name]
    assert table_counts(database.session) == before
    assert all(f.imported == f.updated == 0 for f in report.files.values())
    assert value not in repr(report)


def test_an_exit_for_someone_else_than_its_enrollments_client_is_refused(database, make, tmp_path):
    folder = copy_of(export_folder(2026), tmp_path)
    exits = rows_of(folder, "Exit.csv")
    stranger = next(r["PersonalID"] for r in exits if r["PersonalID"] != exits[0]["PersonalID"])
    edit_cell(folder, "Exit.csv", 1, "PersonalID", stranger)

    report = import_export(folder, agency=make.agency())

    assert report.files["Exit.csv"].errors == [(1, "PersonalID", "personal_id_mismatch")]
    assert table_counts(database.session)["clients"] == 0


def test_a_truncated_file_changes_nothing(database, make, tmp_path):
    folder = copy_of(export_folder(2026), tmp_path)
    path = folder / "Enrollment.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) - 40], encoding="utf-8")  # cut into the last row
    lines = len(rows_of(folder, "Enrollment.csv"))

    report = import_export(folder, agency=make.agency())

    assert report.files["Enrollment.csv"].errors == [(lines, "", "wrong_field_count")]
    assert table_counts(database.session)["clients"] == 0


def test_a_file_without_a_column_the_import_uses_changes_nothing(database, make, tmp_path):
    folder = copy_of(export_folder(2026), tmp_path)
    path = folder / "Project.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace("ProjectType,", "ProjectKind,", 1),
        encoding="utf-8",
    )

    report = import_export(folder, agency=make.agency())

    assert report.files["Project.csv"].errors == [(0, "ProjectType", "missing_column")]
    assert table_counts(database.session)["organizations"] == 0


def test_an_unsupported_csv_version_is_fatal_and_writes_nothing(database, make, tmp_path):
    folder = copy_of(export_folder(2026), tmp_path)
    edit_cell(folder, "Export.csv", 1, "CSVVersion", "2022 v1.2")
    before = table_counts(database.session)

    report = import_export(folder, agency=make.agency())

    assert report.fatal == "unsupported_version" and not report.ok
    assert report.fatal in FATAL_CODES
    assert report.files == {} and "2022 v1.2" not in repr(report)
    assert table_counts(database.session) == before


def test_an_export_without_client_csv_is_fatal(database, make, tmp_path):
    folder = copy_of(export_folder(2026), tmp_path)
    (folder / "Client.csv").unlink()

    report = import_export(folder, agency=make.agency())

    assert report.fatal == "missing_file" and not report.ok
    assert report.files["Client.csv"].errors == [(0, "", "missing_file")]
    assert table_counts(database.session)["organizations"] == 0


def test_an_upload_that_is_not_a_zip_is_fatal(database, make):
    report = import_export(io.BytesIO(b"PersonalID,FirstName\n1,Ann\n"), agency=make.agency())
    assert report.fatal == "not_a_zip"


def test_an_unexpected_failure_while_writing_leaves_nothing_behind(database, make, monkeypatch):
    from portal.domain.core import audit

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(audit, "record", explode)
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_export(export_folder(2026), agency=make.agency())
    assert table_counts(database.session) == dict.fromkeys(
        ("organizations", "projects", "clients", "enrollments", "exits", "imports_audited"), 0
    )


@pytest.mark.requirement("R58")
def test_the_audit_event_carries_counts_and_no_values(database, make):
    folder = export_folder(2026)
    agency = make.agency()
    import_export(folder, agency=agency)
    event = database.session.scalar(select(AuditEvent).where(AuditEvent.action == "hmis.imported"))
    assert event.subject_id == str(agency.public_id)
    assert event.details["csv_version"] == "2026 v1.0"
    assert event.details["Client.csv"]["imported"] == len(rows_of(folder, "Client.csv"))
    text = json.dumps(event.details)
    assert not any(r["LastName"] in text for r in rows_of(folder, "Client.csv"))


# --- the embedded HUD lists --------------------------------------------------------------


@pytest.mark.parametrize("fiscal_year", [2024, 2026])
def test_the_embedded_hud_lists_equal_the_hud_list_files(fiscal_year):
    path = shared_path("data", "hmis", "hud-lists", f"{fiscal_year}_hud_lists.json")
    published = {entry["name"]: entry for entry in json.loads(path.read_text(encoding="utf-8"))}
    embedded = hud_lists.for_fiscal_year(fiscal_year)
    assert set(embedded) >= {
        "NameDataQuality",
        "SSNDataQuality",
        "DOBDataQuality",
        "ProjectType",
        "RelationshipToHoH",
        "Destination",
        "NoYes",
    }
    for name, hud_list in embedded.items():
        assert hud_list.name == name
        assert hud_list.code == published[name]["code"]
        assert list(hud_list.values.items()) == [
            (value["key"], value["description"]) for value in published[name]["values"]
        ]
    assert hud_lists.VICTIM_SERVICE_PROVIDER is embedded["NoYes"]
