"""HUD CSV delta exports of what clients told the portal (issue 21).

Per agency (the agency that owns the client), a zip in the FY2026 HMIS CSV layout with
`ExportDirective` 1 (delta refresh), holding only files whose rows the portal writes
completely, so an import never blanks a column the portal does not hold:

- `Export.csv` (one row; SourceType 2, ExportPeriodType 1, HashStatus 1).
- `CurrentLivingSituation.csv`: one row per accepted "where to find me" and per check-in, on
  the client's open coordinated-entry or street-outreach enrollment on that day (an entry with
  none waits, counted as "no_open_enrollment"). Place kinds map to list 4.12 as `_layout`
  writes down (the lossy ones keep the client's kind of place in LocationDetails); a check-in is
  99 (data not collected) with "Checked in through the client portal.". LocationDetails holds
  the client's words in at most 250 characters; UserID is the accepting staff member's HMIS
  user (matched by email in the imported User.csv), else the agency's default user.
- `User.csv`: the rows of the users named, as the HMIS gave them.
- `PortalContactChanges.csv`, not a HUD file: phones, email, mailing address and best way to
  reach, which HUD CSV has no column for, keyed by PersonalID (columns in the README).
  Cells that a spreadsheet would run as a formula are quoted with "'".

Client.csv and Enrollment.csv are not written: their rows would blank every column the portal
does not hold. The rows name PersonalID and EnrollmentID the HMIS gave.

Each entry goes into exactly one export, in the order accepted (the agency's row is locked
while an export is made; entries are claimed by compare-and-set). An export's zip is kept
Fernet-encrypted in the database (the same bytes every download) for HMIS_EXPORT_KEEP_DAYS,
downloaded only after re-authentication; making and downloading it are audited with counts.
"""

from portal.domain.hmis.export._jobs import drop_job, expire_job
from portal.domain.hmis.export._layout import (
    CHECK_IN_CLS,
    CLS_CSV,
    COLUMNS,
    CONTACT_CSV,
    EXPORT_CSV,
    EXPORTED_KINDS,
    LOSSY_PLACES,
    PLACE_TO_CLS,
    USER_CSV,
    cls_list,
)
from portal.domain.hmis.export._make import (
    GONE,
    NOTHING_TO_EXPORT,
    confirm_imported,
    content_of,
    expire_exports,
    exports,
    get_export,
    make_export,
    not_exportable,
)
from portal.domain.hmis.export._rows import (
    NO_ENROLLMENT,
    NO_HMIS_USER,
    NOT_EXPORTABLE,
    VALUES_PRUNED,
    cls_row,
    location_details,
)

__all__ = [
    "CHECK_IN_CLS",
    "CLS_CSV",
    "COLUMNS",
    "CONTACT_CSV",
    "EXPORTED_KINDS",
    "EXPORT_CSV",
    "GONE",
    "LOSSY_PLACES",
    "NOTHING_TO_EXPORT",
    "NOT_EXPORTABLE",
    "NO_ENROLLMENT",
    "NO_HMIS_USER",
    "PLACE_TO_CLS",
    "USER_CSV",
    "VALUES_PRUNED",
    "cls_list",
    "cls_row",
    "confirm_imported",
    "content_of",
    "drop_job",
    "expire_exports",
    "expire_job",
    "exports",
    "get_export",
    "location_details",
    "make_export",
    "not_exportable",
]
