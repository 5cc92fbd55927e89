"""One worklist entry as the rows of an export: a CurrentLivingSituation.csv row (a place or
a check-in) or a PortalContactChanges.csv row (phones, email, address, best way), or the
reason it cannot be exported yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select

from portal.domain.core.session import dbs
from portal.domain.hmis.export._layout import (
    ASKS_LEAVE_SITUATION,
    CHECK_IN_CLS,
    CHECK_IN_DETAILS,
    CLS_KINDS,
    COLUMNS,
    CONTACT_CSV,
    CONTACT_KINDS,
    CONTACT_PROJECT_TYPES,
    DATA_NOT_COLLECTED,
    LOCATION_DETAILS_LENGTH,
    LOSSY_PLACES,
    PLACE_TO_CLS,
    cls_list,
)
from portal.domain.models import Client, Enrollment, HmisEntry, Project

NO_ENROLLMENT = "no_open_enrollment"  # no open coordinated-entry or street-outreach enrollment
NO_HMIS_USER = "no_hmis_user"  # nobody to name as UserID (no mapped staff, no agency default)
VALUES_PRUNED = "values_pruned"  # where someone was, kept only LOCATION_HISTORY_DAYS
NOT_EXPORTABLE = (NO_ENROLLMENT, NO_HMIS_USER, VALUES_PRUNED)


def hud_timestamp(moment: datetime) -> str:
    """HUD's "YYYY-MM-DD HH:MM:SS", in UTC (the portal's importer reads these as UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def location_details(kind: str, values: dict) -> str:
    """What the client said about the place, in at most 250 characters."""
    if kind == "check_in":
        return CHECK_IN_DETAILS
    parts = [LOSSY_PLACES.get(values.get("place_kind") or "", "")]
    if values.get("place"):
        parts.append(f"Place: {values['place']}.")
    if values.get("times"):
        parts.append(f"Usual times: {values['times']}.")
    if values.get("lat") is not None and values.get("lon") is not None:
        parts.append(f"Near {values['lat']:.3f}, {values['lon']:.3f} (about 100 m).")
    text = " ".join(part for part in parts if part)
    if len(text) > LOCATION_DETAILS_LENGTH:
        text = text[: LOCATION_DETAILS_LENGTH - 1] + "…"
    return text


def living_situation(kind: str, values: dict) -> int:
    if kind == "check_in":
        return CHECK_IN_CLS
    return PLACE_TO_CLS.get(values.get("place_kind") or "", 17)


def cls_row(
    *,
    row_id: str,
    enrollment_id: str,
    personal_id: str,
    information_date: date,
    situation: int,
    details: str,
    created: datetime,
    user_id: str,
    export_id: str,
) -> dict[str, str]:
    """A complete CurrentLivingSituation.csv row. A code outside HUD's list is refused: an
    export never carries a row the HMIS would have to guess about."""
    if situation not in cls_list():
        raise ValueError(f"{situation} is not a HUD CurrentLivingSituation code")
    if len(details) > LOCATION_DETAILS_LENGTH:
        raise ValueError("LocationDetails is longer than HUD's 250 characters")
    leave = str(DATA_NOT_COLLECTED) if situation in ASKS_LEAVE_SITUATION else ""
    return {
        "CurrentLivingSitID": row_id,
        "EnrollmentID": enrollment_id,
        "PersonalID": personal_id,
        "InformationDate": information_date.isoformat(),
        "CurrentLivingSituation": str(situation),
        "CLSSubsidyType": "",
        "VerifiedBy": "",
        "LeaveSituation14Days": leave,
        "SubsequentResidence": "",
        "ResourcesToObtain": "",
        "LeaseOwn60Day": "",
        "MovedTwoOrMore": "",
        "LocationDetails": details,
        "DateCreated": hud_timestamp(created),
        "DateUpdated": hud_timestamp(created),
        "UserID": user_id,
        "DateDeleted": "",
        "ExportID": export_id,
    }


def contact_enrollment(client: Client, on: date) -> Enrollment | None:
    """The client's open coordinated-entry or street-outreach enrollment on `on` (the latest
    entry first): the enrollment a contact belongs to."""
    return dbs().scalar(
        select(Enrollment)
        .join(Project, Project.id == Enrollment.project_id)
        .where(
            Enrollment.client_id == client.id,
            Project.project_type.in_(CONTACT_PROJECT_TYPES),
            Enrollment.entry_date <= on,
            (Enrollment.exit_date.is_(None)) | (Enrollment.exit_date >= on),
        )
        .order_by(Enrollment.entry_date.desc(), Enrollment.id.desc())
        .limit(1)
    )


def contact_row(
    entry: HmisEntry, values: dict, *, information_date: date, user_id: str, export_id: str
) -> dict[str, str]:
    """A PortalContactChanges.csv row: the part that changed, whole (phones: the whole list
    the client gave; other columns empty)."""
    row = dict.fromkeys(COLUMNS[CONTACT_CSV], "")
    row.update(
        PersonalID=entry.client.personal_id,
        PortalChangeID=entry.public_id.hex,
        ChangeKind=CONTACT_KINDS[entry.kind],
        InformationDate=information_date.isoformat(),
        AcceptedAt=hud_timestamp(entry.created_at),
        UserID=user_id,
        ExportID=export_id,
    )
    if entry.kind == "phones":
        for n, phone in enumerate(values.get("phones", [])[:3], start=1):
            row[f"Phone{n}Number"] = phone.get("number") or ""
            row[f"Phone{n}Kind"] = phone.get("kind") or ""
            row[f"Phone{n}VoicemailOK"] = "1" if phone.get("voicemail_ok") else "0"
            row[f"Phone{n}TextOK"] = "1" if phone.get("text_ok") else "0"
    elif entry.kind == "contact_email":
        row["Email"] = values.get("email") or ""
    elif entry.kind == "address":
        row.update(
            AddressLine1=values.get("address_line1") or "",
            AddressLine2=values.get("address_line2") or "",
            City=values.get("city") or "",
            State=values.get("state") or "",
            PostalCode=values.get("postal_code") or "",
        )
    else:
        row["PreferredContact"] = values.get("method") or ""
    return row


@dataclass
class Planned:
    entry: HmisEntry
    cls: dict[str, str] | None = None
    contact: dict[str, str] | None = None
    refused: str | None = None  # one of NOT_EXPORTABLE

    @property
    def is_cls(self) -> bool:
        return self.entry.kind in CLS_KINDS
