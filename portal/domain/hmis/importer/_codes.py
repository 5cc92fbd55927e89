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
LIVING_SITUATION = "CurrentLivingSituation.csv"
SERVICES = "Services.csv"
EVENT = "Event.csv"
USER = "User.csv"
HANDLED_FILES = (
    EXPORT,
    ORGANIZATION,
    PROJECT,
    CLIENT,
    ENROLLMENT,
    EXIT,
    LIVING_SITUATION,
    SERVICES,
    EVENT,
    USER,
)
# What a full refresh needs; a delta refresh (ExportDirective 1) needs only Export.csv.
REQUIRED_FILES = (EXPORT, CLIENT)
# Export.csv's ExportDirective (HUD list 1.2: 1 delta refresh, 2 full refresh, 3 other).
DELTA_REFRESH = 1
FULL_REFRESH = 2

# The columns the import reads; any other column is ignored.
COLUMNS: Mapping[str, tuple[str, ...]] = {
    EXPORT: ("ExportID", "CSVVersion"),  # and ExportDirective when the header has it
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
    LIVING_SITUATION: (
        "CurrentLivingSitID",
        "EnrollmentID",
        "PersonalID",
        "InformationDate",
        "CurrentLivingSituation",
        "CLSSubsidyType",
        "VerifiedBy",
        "LeaveSituation14Days",
        "SubsequentResidence",
        "ResourcesToObtain",
        "LeaseOwn60Day",
        "MovedTwoOrMore",
        "LocationDetails",
        "DateCreated",
        "DateUpdated",
        "UserID",
        "DateDeleted",
        "ExportID",
    ),
    SERVICES: (
        "ServicesID",
        "EnrollmentID",
        "PersonalID",
        "DateProvided",
        "RecordType",
        "DateDeleted",
        "ExportID",
    ),
    EVENT: (
        "EventID",
        "EnrollmentID",
        "PersonalID",
        "EventDate",
        "Event",
        "DateDeleted",
        "ExportID",
    ),
    USER: (
        "UserID",
        "UserFirstName",
        "UserLastName",
        "UserPhone",
        "UserExtension",
        "UserEmail",
        "DateCreated",
        "DateUpdated",
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
    LIVING_SITUATION: "CurrentLivingSitID",
    SERVICES: "ServicesID",
    EVENT: "EventID",
    USER: "UserID",
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
        "invalid_export_directive",
        "unsupported_version",
    }
)

MAX_FILE_BYTES = 512 * 1024 * 1024  # per handled file in a zip: refuses zip bombs
ID_LENGTH = 32  # HUD S32
NAME_LENGTH = 50  # HUD S50 for each part of a client's name
TITLE_LENGTH = 200  # HUD S200 for organization and project names
LOCATION_DETAILS_LENGTH = 250  # HUD S250 (4.12.4)
VERIFIED_BY_LENGTH = 100  # HUD S100 (4.12.3)
# HUD says S10, digits only; HMIS software exports punctuation too: the column's 20 is the limit.
PHONE_LENGTH = 20
EXTENSION_LENGTH = 5  # HUD S5
EMAIL_LENGTH = 320  # HUD S320
EARLIEST_DOB = date(1900, 1, 1)
_LOAD_CHUNK = 5000  # ids per IN (...) when loading existing rows

_VERSION = re.compile(r"(2024|2026) v[0-9]+(?:\.[0-9]+)*")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_INTEGER = re.compile(r"[0-9]{1,9}")
