"""The staff upload and the flask command around the import service."""

import io
import zipfile

import pytest
from sqlalchemy import func, select

from portal.domain import hmis_import
from portal.domain.models import Client
from portal.domain.roles import Role
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
    assert response.status_code == 200 and "Imported." in page and "Client.csv" in page
    assert database.session.scalar(select(func.count()).select_from(Client)) == 514


def test_a_broken_upload_imports_nothing_and_says_why(agency_admin, database):
    response = agency_admin.form(
        "/staff/imports/hmis",
        {"export": (io.BytesIO(b"not a zip"), "export.zip")},
        content_type="multipart/form-data",
    )
    assert "Nothing was imported" in response.get_data(as_text=True)
    assert database.session.scalar(select(func.count()).select_from(Client)) == 0


def test_case_managers_cannot_import(app, make, agency_a):
    from tests.conftest import signed_in

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
