"""Import a HUD HMIS CSV export (FY2024 and FY2026 layouts) into the portal's client record.

What is imported: Organization.csv, Project.csv, Client.csv, Enrollment.csv and Exit.csv,
upserted by their HUD ids (OrganizationID, ProjectID, PersonalID, EnrollmentID; an Exit puts
its ExitID, ExitDate and Destination on its enrollment); and the HMIS's own contacts and users
(issue 21): CurrentLivingSituation.csv whole (`HmisLivingSituation`, by CurrentLivingSitID),
Services.csv and Event.csv as dated contacts (`HmisContact`, by ServicesID / EventID: the
date and RecordType / Event), User.csv whole (`HmisUser`, by UserID). Export.csv says which
layout it is (`CSVVersion` "2024 v..." or "2026 v..."; anything else is fatal), which export
every row belongs to (`ExportID`, checked on every row), and whether it is a delta or a full
refresh (`ExportDirective`, HUD list 1.2: 1 delta refresh, 2 full refresh, 3 other; on the
report as `directive`; a value outside the list is fatal, a missing column or blank value
means "not said"). Export.csv is required; Client.csv too unless the export is a delta
refresh (a delta carries only what changed, say a few CurrentLivingSituation rows for clients
imported before); the others are optional, and every other file is listed in
`ImportReport.ignored_files` unread. Only the columns used must exist, so each layout's
demographic columns are ignored. File names match without regard to case; in a zip, folders
are ignored.

Two phases. First every row of every file is read, parsed and checked (value lists, dates,
lengths, duplicate ids, and every reference: a project's organization, an enrollment's client
and project, an exit's enrollment and client), against the files and against what the
database already holds. Problems are collected as (row, column, reason code); row 1 is the
first data row, row 0 the header. Only when no file has a single problem is anything written,
inside a savepoint (`begin_nested`), so an unexpected exception leaves nothing behind either;
the caller commits. One bad row anywhere changes nothing at all, and the report then carries
only the errors. Reports name files, row numbers, column names and codes: never a cell value,
as cells hold PII. One audit event ("hmis.imported") carries the counts per file.

The contact files (CurrentLivingSituation, Services, Event) follow the Exit rules: the
EnrollmentID must exist (in the files or the database) and its client must be the row's
PersonalID ("personal_id_mismatch"); rows on another agency's projects are skipped, as a
stored row on another agency's enrollment is never changed. Every column kept is checked: HUD
list codes against the fiscal year's list (CurrentLivingSituation 4.12, CLSSubsidyType 3.12.A,
the five follow-up questions 1.8, RecordType 1.4, Event 4.20.2), dates (a contact's date may
not be after the agency's today: "out_of_range"), timestamps, lengths (LocationDetails 250,
VerifiedBy 100, ids 32; User names 50, phone 20, extension 5, email 320). Of Services.csv and
Event.csv only the columns a contact keeps are read. HUD's "null unless" rules between
columns are not checked: the values are kept as the HMIS gave them. An InformationDate before
the entry date is kept (the FY2026 sample has two, a day early). A deleted row deletes the
stored one (counted updated) and a new deleted one is skipped; a row older than the stored one
(DateUpdated) is skipped; a contact of a client deleted in the portal, or deleted by this
import, is skipped ("deleted_in_portal", "references_deleted_row"). LocationDetails is stored
encrypted (it says where someone sleeps); text is cleaned as staff input is. User.csv rows
belong to no agency (users are the HMIS's, named by the id every row carries); emails are kept
in lower case.

After the rows are written, in the same savepoint:
- Last contact: each contact row written (new, updated or unchanged; not deleted) is a
  contact at the start of its day (InformationDate, DateProvided, EventDate) in the importing
  agency's time zone, kind hmis_cls, hmis_service or hmis_event
  (`coordinated_entry.record_hmis_contact`): it moves `Client.last_contact_at` forward only, so
  a later portal contact stays the last one, and a contact deleted later does not take it
  back. It is a fact about the person, so it is recorded for a client another agency owns too
  (the enrollment is the importing agency's).
- Review items the HMIS made stale get `hmis_changed_at` (the staff review page says to check
  the HMIS before accepting). CurrentLivingSituation.csv flags pending "location" and
  "location_correction" items of the row's client when a row it created or changed has an
  InformationDate on or after the day the client sent the item (in the item's agency's time
  zone): the HMIS recorded where the person lives since the client said where to find them; an
  older situation is no news. Client.csv flags pending "correction" items (any field) of a
  client whose row it changed: a correction asks to change the HMIS record (names, birth
  date, SSN ...), and the HMIS has just changed it. The other kinds (email, phones, address,
  best way) are about values no imported file carries, and Organization, Project, Enrollment,
  Exit, Services, Event and User rows match no review kind: they flag nothing.

Stored rows are loaded up front, one query per table (by the HUD ids the files name or point
at), never one per row. A row whose values all equal what is stored is counted unchanged and
not touched (values are compared before anything is assigned), so a second import of the same
files changes no row and moves no `updated_at` or `imported_at`. `imported_at` is when an
import last changed the row.

Agencies: a new organization is mapped to the importing agency (as is an unmapped one). An
organization mapped to another agency keeps its mapping, and its rows, its projects' rows,
their enrollments and exits are skipped ("organization_of_another_agency"). A new client is
owned by the importing agency (`source` "hmis_import"); a client owned by another agency is
never changed ("owned_by_another_agency"). An enrollment in one of the importing agency's
projects may point at another agency's client: that is what makes it a serving agency.

Decisions:
- Times: DateUpdated and DateDeleted carry no zone in the export; they are read as UTC and
  stored timezone-aware (`hud_date_updated`).
- DOB with DOBDataQuality 8, 9 or 99: HUD says these go with no date, so the date is dropped
  with a warning ("dob_dropped_for_quality") and the quality kept. An error would refuse real
  exports (the sample has such a row) over a date the record must not keep anyway.
  DOBDataQuality 1 or 2 without a date becomes 99, warned ("dob_quality_without_dob"). A DOB
  that is not a real YYYY-MM-DD date is an error ("invalid_date"); one before 1900 or after
  the agency's today is an error too ("out_of_range").
- SSN goes through `ssn.parse_ssn` with its SSNDataQuality. An unusable format is an error
  ("invalid_ssn"). Digits with quality 8, 9 or 99 contradict the quality: the quality wins
  and the digits are not stored ("ssn_dropped_for_quality"): a client who prefers not to
  answer keeps no SSN here, as with a refused consent, and HUD leaves SSN blank with those
  codes. Quality 1 or 2 without an SSN becomes 99 ("ssn_quality_without_ssn"). An SSN that
  breaks a validity rule is kept with the quality parse_ssn gives (2), warned
  ("ssn_invalid_pattern"; the rule is not named, it would hint at the digits); a quality that
  parse_ssn changes otherwise is warned too ("ssn_quality_changed"). The SSN is stored
  encrypted; `ssn_last4` only when its last four are all digits.
- Deleted in the HMIS (DateDeleted): an existing client is soft-deleted (`deleted_at`); a new
  one is not created ("deleted_in_hmis"). Organizations, projects and enrollments have no
  soft delete in the portal: a deleted one is skipped ("deleted_in_hmis"), a stored one kept.
  A deleted exit reopens its enrollment when it is the exit the enrollment carries and the
  file brings no other. A row pointing at a row that will not exist (deleted, or skipped as
  new) is skipped ("references_deleted_row").
- A client soft-deleted in the portal is not brought back by an import ("deleted_in_portal"):
  the deletion may be a retention decision. A client row whose DateUpdated is older than the
  one stored is skipped ("older_than_stored"), so an old export cannot undo a newer one.
- Names are cleaned as staff input is (`validation.clean_text`: NFC, no control characters,
  single spaces), then limited to 50 characters each.
- ProjectType may be blank (HUD 2.02.6: not a Continuum project). Export.csv's HashStatus is
  not checked: the sample exports say 3 ("Hashed - other") yet hold clear values; a truly
  hashed SSN fails as "invalid_ssn".
- Warnings on rows that end up skipped are dropped from the report.

Codes (all listed in ERROR_CODES, SKIP_REASONS, WARNING_CODES and FATAL_CODES): a row error
says which column; "unknown_reference" is a broken reference (the column says to what); file
errors sit on row 0 (missing_column, duplicate_column, empty_file, not_utf8) except
unreadable_csv, on the row where reading broke. References into a file that could not be
read are not reported again. A fatal code about one file (missing_file, duplicate_file,
file_too_large) also puts that file in `files`, with the code as its error on row 0.
"""

from portal.domain.hmis.importer._codes import (
    CLIENT,
    COLUMNS,
    DELTA_REFRESH,
    EARLIEST_DOB,
    ENROLLMENT,
    ERROR_CODES,
    EVENT,
    EXIT,
    EXPORT,
    FATAL_CODES,
    FULL_REFRESH,
    HANDLED_FILES,
    ID_LENGTH,
    LIVING_SITUATION,
    LOCATION_DETAILS_LENGTH,
    MAX_FILE_BYTES,
    NAME_LENGTH,
    ORGANIZATION,
    PROJECT,
    REQUIRED_FILES,
    SERVICES,
    SKIP_REASONS,
    TITLE_LENGTH,
    USER,
    VERIFIED_BY_LENGTH,
    WARNING_CODES,
)
from portal.domain.hmis.importer._reading import (
    Opener,
)
from portal.domain.hmis.importer._report import (
    FileReport,
    ImportReport,
)
from portal.domain.hmis.importer._run import (
    import_export,
)

__all__ = [
    "CLIENT",
    "COLUMNS",
    "DELTA_REFRESH",
    "EARLIEST_DOB",
    "ENROLLMENT",
    "ERROR_CODES",
    "EVENT",
    "EXIT",
    "EXPORT",
    "FATAL_CODES",
    "FULL_REFRESH",
    "HANDLED_FILES",
    "ID_LENGTH",
    "LIVING_SITUATION",
    "LOCATION_DETAILS_LENGTH",
    "MAX_FILE_BYTES",
    "NAME_LENGTH",
    "ORGANIZATION",
    "PROJECT",
    "REQUIRED_FILES",
    "SERVICES",
    "SKIP_REASONS",
    "TITLE_LENGTH",
    "USER",
    "VERIFIED_BY_LENGTH",
    "WARNING_CODES",
    "FileReport",
    "ImportReport",
    "Opener",
    "import_export",
]
