"""The files the import reads, the codes it reports (errors, skips, warnings, fatal) and the
HUD limits it checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

EXPORT = "Export.csv"
ORGANIZATION = "Organization.csv"
PROJECT = "Project.csv"
CLIENT = "Client.csv"
ENROLLMENT = "Enrollment.csv"
EXIT = "Exit.csv"
HANDLED_FILES = (EXPORT, ORGANIZATION, PROJECT, CLIENT, ENROLLMENT, EXIT)
REQUIRED_FILES = (EXPORT, CLIENT)

# The columns the import reads; any other column is ignored.
COLUMNS: Mapping[str, tuple[str, ...]] = {
    EXPORT: ("ExportID", "CSVVersion"),
    ORGANIZATION: (
        "OrganizationID",
        "OrganizationName",
        "VictimServiceProvider",
        "DateDeleted",
        "ExportID",
    ),
    PROJECT: (
        "ProjectID",
        "OrganizationID",
        "ProjectName",
        "OperatingStartDate",
        "OperatingEndDate",
        "ProjectType",
        "DateDeleted",
        "ExportID",
    ),
    CLIENT: (
        "PersonalID",
        "FirstName",
        "MiddleName",
        "LastName",
        "NameSuffix",
        "NameDataQuality",
        "SSN",
        "SSNDataQuality",
        "DOB",
        "DOBDataQuality",
        "DateUpdated",
        "DateDeleted",
        "ExportID",
    ),
    ENROLLMENT: (
        "EnrollmentID",
        "PersonalID",
        "ProjectID",
        "EntryDate",
        "HouseholdID",
        "RelationshipToHoH",
        "DateDeleted",
        "ExportID",
    ),
    EXIT: (
        "ExitID",
        "EnrollmentID",
        "PersonalID",
        "ExitDate",
        "Destination",
        "DateDeleted",
        "ExportID",
    ),
}

# The HUD id of each handled file's rows.
_ID_COLUMNS = {
    ORGANIZATION: "OrganizationID",
    PROJECT: "ProjectID",
    CLIENT: "PersonalID",
    ENROLLMENT: "EnrollmentID",
    EXIT: "ExitID",
}

# Every code a report can carry, for the pages and commands that turn them into words.
ERROR_CODES = frozenset(
    {
        "missing",
        "too_long",
        "invalid_code",
        "invalid_date",
        "invalid_datetime",
        "out_of_range",
        "invalid_ssn",
        "duplicate_id",
        "wrong_field_count",
        "unknown_export",
        "unknown_reference",
        "personal_id_mismatch",
        "before_entry_date",
        "before_start_date",
        "missing_column",
        "duplicate_column",
        "empty_file",
        "not_utf8",
        "unreadable_csv",
    }
)
SKIP_REASONS = frozenset(
    {
        "deleted_in_hmis",
        "deleted_in_portal",
        "older_than_stored",
        "owned_by_another_agency",
        "organization_of_another_agency",
        "references_deleted_row",
    }
)
WARNING_CODES = frozenset(
    {
        "dob_dropped_for_quality",
        "dob_quality_without_dob",
        "ssn_dropped_for_quality",
        "ssn_quality_without_ssn",
        "ssn_invalid_pattern",
        "ssn_quality_changed",
    }
)
FATAL_CODES = frozenset(
    {
        "source_not_found",
        "not_a_zip",
        "unreadable_zip",
        "file_too_large",
        "duplicate_file",
        "missing_file",
        "invalid_export_csv",
        "unsupported_version",
    }
)

MAX_FILE_BYTES = 512 * 1024 * 1024  # per handled file in a zip: refuses zip bombs
ID_LENGTH = 32  # HUD S32
NAME_LENGTH = 50  # HUD S50 for each part of a client's name
TITLE_LENGTH = 200  # HUD S200 for organization and project names
EARLIEST_DOB = date(1900, 1, 1)
_LOAD_CHUNK = 5000  # ids per IN (...) when loading existing rows

_VERSION = re.compile(r"(2024|2026) v[0-9]+(?:\.[0-9]+)*")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_INTEGER = re.compile(r"[0-9]{1,9}")
