"""The staff upload and the flask command around the import service."""

import csv
import io
import zipfile

import pytest
from sqlalchemy import func, select

from portal.domain.core.roles import Role
from portal.domain.hmis import importer as hmis_import
from portal.domain.models import Client
from staff_bridge.imports import REASONS
from tests.support import shared_path


@pytest.fixture
def export_zip():
    folder = shared_path("data", "hmis", "greenriver-fy2026-export")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for file in folder.glob("*.csv"):
            bundle.write(file, file.name)
    return buffer.getvalue()


def test_every_code_the_import_reports_has_a_translated_reason():
    codes = (
        hmis_import.ERROR_CODES
        | hmis_import.SKIP_REASONS
        | hmis_import.WARNING_CODES
        | hmis_import.FATAL_CODES
    )
    assert codes <= set(REASONS), sorted(codes - set(REASONS))


def test_an_agency_administrator_uploads_the_export_and_sees_the_report(
    agency_admin, export_zip, database
):
    response = agency_admin.form(
        "/staff/imports/hmis",
        {"export": (io.BytesIO(export_zip), "export.zip")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Imported. New: " in page and "Client.csv" in page
    assert "Nothing was changed" not in page  # issue 17: a first import said so
    assert database.session.scalar(select(func.count()).select_from(Client)) == 514
    again = agency_admin.form(
        "/staff/imports/hmis",
        {"export": (io.BytesIO(export_zip), "export.zip")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "The portal already had everything in this export: nothing changed." in again


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("files", "said"),
    [
        (
            {"clients.xlsx": b"x", "notes.txt": b"y"},
            ["Export.csv is not in the .zip.", "The .zip holds: clients.xlsx, notes.txt."],
        ),
        ({}, ["Export.csv is not in the .zip.", "The .zip holds no CSV file the portal can use."]),
        (
            {"Export.csv": b"ExportID\r\n", "Client.csv": b"", "client.csv": b""},
            ["Client.csv is in the .zip twice."],
        ),
        (
            {"Export.csv": b"ExportID,CSVVersion\r\n1,1999 v1\r\n", "Client.csv": b""},
            ["Export.csv names an HMIS CSV version the portal cannot read."],
        ),
        (
            {"Export.csv": b"nothing here\r\n", "Client.csv": b""},
            ["Export.csv cannot be read", "Export again from the HMIS."],
        ),
    ],
)
def test_a_wrong_zip_names_the_file_and_what_to_do(agency_admin, database, files, said):
    """Issue 17: a wrong zip said "HMIS CSV ?" and "Row 0, : A required file is missing"."""
    response = agency_admin.form(
        "/staff/imports/hmis",
        {"export": (io.BytesIO(_zip(files)), "export.zip")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Nothing was imported." in page
    for words in said:
        assert words in page, words
    assert "Row 0" not in page and "HMIS CSV ?" not in page and "Fix the rows below" not in page
    assert database.session.scalar(select(func.count()).select_from(Client)) == 0


def test_a_broken_upload_imports_nothing_and_says_why(agency_admin, database):
    response = agency_admin.form(
        "/staff/imports/hmis",
        {"export": (io.BytesIO(b"not a zip"), "export.zip")},
        content_type="multipart/form-data",
    )
    assert "Nothing was imported" in response.get_data(as_text=True)
    assert database.session.scalar(select(func.count()).select_from(Client)) == 0


@pytest.mark.requirement("R31")
def test_case_managers_cannot_import(app, make, agency_a):
    from tests.support import signed_in

    manager = signed_in(app, make.staff(Role.CASE_MANAGER, agency_a))
    assert manager.get("/staff/imports/hmis").status_code == 403


def test_the_flask_command_imports_all_or_nothing(app, agency_a, database):
    folder = shared_path("data", "hmis", "greenriver-fy2026-export")
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["import-hmis", str(folder), "--agency", "No Such Agency"])
    assert unknown.exit_code != 0 and "No agency" in unknown.output
    result = runner.invoke(args=["import-hmis", str(folder), "--agency", agency_a.name])
    assert result.exit_code == 0, result.output
    assert "Imported." in result.output
    assert database.session.scalar(select(func.count()).select_from(Client)) == 514


def test_a_problem_with_a_whole_file_is_a_sentence_naming_the_file(agency_admin, database):
    """Issue 17: an empty Client.csv said "Row 0, : The file is empty", a header without
    FirstName "Row 0, FirstName: A column is missing"."""
    folder = shared_path("data", "hmis", "greenriver-fy2026-export")
    sample = {file.name: file.read_bytes() for file in folder.glob("*.csv")}
    lines = list(csv.reader(io.StringIO(sample["Client.csv"].decode("utf-8-sig"))))
    dropped = lines[0].index("FirstName")
    without = io.StringIO()
    csv.writer(without, lineterminator="\r\n").writerows(
        [cell for n, cell in enumerate(line) if n != dropped] for line in lines
    )

    for client_csv, said in (
        (b"", "Client.csv is empty. Export again from the HMIS."),
        (
            without.getvalue().encode("utf-8"),
            "Client.csv: the column FirstName is missing. Export again from the HMIS in the "
            "HUD CSV layout.",
        ),
    ):
        response = agency_admin.form(
            "/staff/imports/hmis",
            {"export": (io.BytesIO(_zip({**sample, "Client.csv": client_csv})), "export.zip")},
            content_type="multipart/form-data",
        )
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and "Nothing was imported." in page
        assert said in page, page[page.find("<h2>") : page.find("<form")]
        assert "Row 0" not in page
        assert "A column is missing" not in page and "The file is empty" not in page
    assert database.session.scalar(select(func.count()).select_from(Client)) == 0
