"""The files of an export, their columns (HUD FY2026 headers, exactly as the HMIS writes
them), and how a place a client described becomes a HUD living situation (list 4.12)."""

from __future__ import annotations

from portal.domain.hmis import hud_lists
from portal.domain.hmis.importer import COLUMNS as IMPORTED

EXPORT_CSV = "Export.csv"
CLS_CSV = "CurrentLivingSituation.csv"
USER_CSV = "User.csv"
# Not a HUD file: what HUD CSV has no column for, keyed by PersonalID (documented in the README).
CONTACT_CSV = "PortalContactChanges.csv"

CSV_VERSION = "2026 v1.0"
SOFTWARE_NAME = "HMIS client portal"
SOURCE_TYPE = 2  # list 1.9: standalone/agency-specific application
EXPORT_PERIOD_TYPE = 1  # list 1.1: updated
EXPORT_DIRECTIVE = 1  # list 1.2: delta refresh
HASH_STATUS = 1  # list 1.5: unhashed

COLUMNS = {
    EXPORT_CSV: (
        "ExportID",
        "SourceType",
        "SourceID",
        "SourceName",
        "SourceContactFirst",
        "SourceContactLast",
        "SourceContactPhone",
        "SourceContactExtension",
        "SourceContactEmail",
        "ExportDate",
        "ExportStartDate",
        "ExportEndDate",
        "SoftwareName",
        "SoftwareVersion",
        "CSVVersion",
        "ExportPeriodType",
        "ExportDirective",
        "HashStatus",
        "ImplementationID",
    ),
    # The importer reads every column of these two: one list of HUD's headers for both ways.
    CLS_CSV: IMPORTED[CLS_CSV],
    USER_CSV: IMPORTED[USER_CSV],
    CONTACT_CSV: (
        "PersonalID",
        "PortalChangeID",
        "ChangeKind",
        "InformationDate",
        "AcceptedAt",
        "UserID",
        *(
            f"Phone{n}{part}"
            for n in (1, 2, 3)
            for part in ("Number", "Kind", "VoicemailOK", "TextOK")
        ),
        "Email",
        "AddressLine1",
        "AddressLine2",
        "City",
        "State",
        "PostalCode",
        "PreferredContact",
        "ExportID",
    ),
}

# Which worklist kinds go where. Corrections are the client's words about their record: a
# person reads them (the worklist), no file can carry them.
CLS_KINDS = frozenset({"location", "check_in"})
CONTACT_KINDS = {
    "phones": "phones",
    "contact_email": "email",
    "address": "address",
    "preferred_contact": "preferred_contact",
}
EXPORTED_KINDS = CLS_KINDS | CONTACT_KINDS.keys()

# A place the client described (the portal's words) -> HUD's CurrentLivingSituation (4.12).
# Lossy ones keep the client's kind of place at the start of LocationDetails:
# - vehicle: 116 names vehicles among places not meant for habitation; "vehicle" is kept.
# - friends_family: HUD asks family (335) or friend (336); the portal does not, so 17 Other.
# - hotel: 314 (paid without an emergency-shelter voucher); with a voucher it would be 101,
#   and the portal does not ask who pays.
PLACE_TO_CLS = {
    "shelter": 101,
    "street": 116,
    "vehicle": 116,
    "friends_family": 17,
    "hotel": 314,
    "other": 17,
}
LOSSY_PLACES = {
    "vehicle": "In a vehicle.",
    "friends_family": "With friends or family.",
    "hotel": "Hotel or motel (who pays was not asked).",
}
CHECK_IN_CLS = 99  # a check-in says "still in touch", not where: data not collected
CHECK_IN_DETAILS = "Checked in through the client portal."
# Projects whose enrollment a contact belongs to (list 2.02.6): coordinated entry, outreach.
CONTACT_PROJECT_TYPES = (14, 4)
LOCATION_DETAILS_LENGTH = 250
# HUD 4.12 dependent fields: asked when the situation is one of these (temporary or
# institutional stays); the portal never asked, so "data not collected".
ASKS_LEAVE_SITUATION = frozenset(
    {204, 205, 206, 207, 215, 225, 302, 314, 329, 332, 335, 336, 410, 411, 421, 435}
)
DATA_NOT_COLLECTED = 99


def cls_list() -> hud_lists.HudList:
    """HUD's CurrentLivingSituation list (4.12) of the layout the export writes."""
    return hud_lists.for_fiscal_year(2026)["CurrentLivingSituation"]
