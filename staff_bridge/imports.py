"""Agency administrators upload a HUD HMIS CSV export (a zip); the report says what happened."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.access import staff_only
from portal.domain.core.roles import Capability
from portal.domain.hmis import importer as hmis_import
from portal.domain.hmis import runs
from portal.web import discard_changes
from staff_bridge import bp
from staff_bridge.forms import ImportForm

MAX_UPLOAD = 50 * 1024 * 1024

REASONS = {
    # row errors
    "missing": _l("Missing"),
    "too_long": _l("Too long"),
    "invalid_code": _l("Not a HUD code for this field"),
    "invalid_date": _l("Not a real date"),
    "invalid_datetime": _l("Not a real date and time"),
    "out_of_range": _l("Out of range"),
    "invalid_ssn": _l("Not a usable SSN"),
    "duplicate_id": _l("The same ID appears twice"),
    "wrong_field_count": _l("The row has the wrong number of columns"),
    "unknown_export": _l("The row belongs to another export"),
    "unknown_reference": _l("Refers to a record that is not in the export"),
    "personal_id_mismatch": _l("The client does not match the enrollment"),
    "before_entry_date": _l("Before the entry date"),
    "before_start_date": _l("Before the start date"),
    "missing_column": _l("A column is missing"),
    "duplicate_column": _l("A column appears twice"),
    "empty_file": _l("The file is empty"),
    "not_utf8": _l("The file is not UTF-8 text"),
    "unreadable_csv": _l("The file cannot be read as CSV"),
    # skipped rows
    "deleted_in_hmis": _l("Deleted in the HMIS"),
    "deleted_in_portal": _l("Deleted in the portal"),
    "older_than_stored": _l("Older than what the portal has"),
    "owned_by_another_agency": _l("The client belongs to another agency"),
    "organization_of_another_agency": _l("The organization belongs to another agency"),
    "references_deleted_row": _l("Refers to a deleted record"),
    # warnings (the row was imported)
    "dob_dropped_for_quality": _l("Date of birth left out: its data quality says there is none"),
    "dob_quality_without_dob": _l("No date of birth: data quality set to not collected"),
    "ssn_dropped_for_quality": _l("SSN left out: its data quality says there is none"),
    "ssn_quality_without_ssn": _l("No SSN: data quality set to not collected"),
    "ssn_invalid_pattern": _l("The SSN breaks a validity rule: kept as approximate"),
    "ssn_quality_changed": _l("SSN data quality corrected to match the number"),
    # the whole import
    "source_not_found": _l("The export was not found"),
    "not_a_zip": _l("Upload the export as a .zip file"),
    "unreadable_zip": _l("The .zip file cannot be opened"),
    "file_too_large": _l("A file in the export is too large"),
    "duplicate_file": _l("A file appears twice in the export"),
    "missing_file": _l(
        "A required file is missing (Export.csv is needed, and Client.csv unless the export "
        "is a delta refresh)"
    ),
    "invalid_export_csv": _l(
        "Export.csv cannot be read: it must hold one row with an ExportID and a CSVVersion. "
        "Export again from the HMIS."
    ),
    "unsupported_version": _l(
        "Export.csv names an HMIS CSV version the portal cannot read. Export again in the "
        "FY2024 or FY2026 layout."
    ),
    "invalid_export_directive": _l(
        "Export.csv's ExportDirective is not one HUD allows (1 delta refresh, 2 full refresh, "
        "3 other). Export again from the HMIS."
    ),
    # a recorded run whose import stopped on an unexpected error
    "import_error": _l("The import stopped on an unexpected error. Nothing was imported."),
}
# A code about one whole file, said with the file's name and what to do about it: the fatal
# codes about one file, and the errors the report puts on row 0 (the file itself or its
# header line), which name the column when there is one (%(column)s).
ABOUT_A_FILE = {
    "missing_file": _l(
        "%(file)s is not in the .zip. Export again from the HMIS as a HUD HMIS CSV export: "
        "it needs Export.csv, and Client.csv unless it is a delta export."
    ),
    "duplicate_file": _l(
        "%(file)s is in the .zip twice. Export again from the HMIS, or zip only one copy."
    ),
    "file_too_large": _l("%(file)s is too large for one import. Export fewer clients at a time."),
    "missing_column": _l(
        "%(file)s: the column %(column)s is missing. Export again from the HMIS in the HUD "
        "CSV layout."
    ),
    "duplicate_column": _l(
        "%(file)s: the column %(column)s appears twice. Export again from the HMIS in the HUD "
        "CSV layout."
    ),
    "empty_file": _l("%(file)s is empty. Export again from the HMIS."),
    "not_utf8": _l(
        "%(file)s is not UTF-8 text. Export again from the HMIS, with UTF-8 as the encoding."
    ),
    "unreadable_csv": _l("%(file)s cannot be read as CSV. Export again from the HMIS."),
}
# How an import came in, as the list of recent imports says it.
THROUGH = {
    "upload": _l("Uploaded"),
    "watch": _l("Landing place"),
    "command": _l("Command"),
}


@bp.before_app_request
def _allow_large_exports() -> None:
    if request.endpoint == "staff_bridge.import_hmis":
        request.max_content_length = MAX_UPLOAD


@bp.route("/imports/hmis", methods=["GET", "POST"])
@staff_only(Capability.IMPORT_HMIS)
def import_hmis():
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        upload = request.files.get("export")
        if upload is None or not upload.filename:
            form.export.errors = [str(_l("Choose the export's .zip file."))]
        else:
            sha256 = runs.sha256_of(upload.stream)
            report = hmis_import.import_export(
                upload.stream, agency=current_user.agency, actor=current_user
            )
            if not report.ok:
                discard_changes()  # all or nothing, whatever the service left pending
            # The run is recorded either way, in the request's transaction.
            runs.record_run(
                current_user.agency, "upload", upload.filename, sha256, report, current_user
            )
    return render_template(
        "staff_bridge/import_hmis.html",
        form=form,
        report=report,
        reasons=REASONS,
        about_a_file=ABOUT_A_FILE,
        runs=runs.recent_runs(current_user),
        through=THROUGH,
    )
