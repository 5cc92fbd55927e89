"""The HMIS bridge both ways (issue 21).

Out: every change the portal holds that the HMIS does not (an accepted change, a check-in, an
accepted "where to find me", an accepted correction) is one `HmisEntry`, written in the same
transaction as the change: the "to enter in the HMIS" worklist, and the rows an `HmisExport`
(a HUD CSV delta, stored encrypted) carries, each in exactly one export.

In: the HMIS's own contacts (`CurrentLivingSituation.csv` whole, `Services.csv` and
`Event.csv` as dated contacts), its users (`User.csv`: staff are matched to their HMIS user id
by email), and a record of every import run with its report (codes and counts only).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.models.accounts import StaffUser
from portal.domain.models.base import Base, CreatedAtMixin, PublicIdMixin
from portal.domain.models.clients import Client, Enrollment


class HmisExport(PublicIdMixin, CreatedAtMixin, Base):
    """One HUD CSV delta export of an agency: the zip, Fernet-encrypted, kept until
    `expires_at` (then only its counts stay). `sequence` counts an agency's exports."""

    __tablename__ = "hmis_exports"
    __table_args__ = (UniqueConstraint("agency_id", "sequence"),)

    audit_kind = "hmis_export"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    sequence: Mapped[int]
    hud_export_id: Mapped[str] = mapped_column(String(32))  # Export.csv's ExportID
    made_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    made_through: Mapped[str] = mapped_column(String(8))  # staff, command, job
    content_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    counts: Mapped[dict] = mapped_column(default=dict)  # rows per file, entries, not exportable
    expires_at: Mapped[datetime]
    dropped_at: Mapped[datetime | None]  # put in the HMIS's S3 prefix by the daily job
    confirmed_at: Mapped[datetime | None]  # staff say the HMIS imported it
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    made_by: Mapped[StaffUser | None] = relationship(lazy="joined", foreign_keys=[made_by_id])


class HmisEntry(PublicIdMixin, CreatedAtMixin, Base):
    """One change to enter in the HMIS: what it is (`kind`), the values to key in
    (encrypted), when the client gave it and who accepted it; done when staff mark it entered
    or confirm the export that carried it."""

    __tablename__ = "hmis_entries"
    __table_args__ = (
        Index("ix_hmis_entries_worklist", "agency_id", "entered_at", "created_at"),
        Index("ix_hmis_entries_export", "export_id"),
    )

    audit_kind = "hmis_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))  # the owning agency
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # a review kind, or check_in
    review_item_id: Mapped[int | None] = mapped_column(ForeignKey("review_items.id"), unique=True)
    contact_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_events.id"), unique=True
    )
    occurred_at: Mapped[datetime]  # when the client sent it or checked in
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    values_encrypted: Mapped[str | None] = mapped_column(Text)  # None once pruned
    care_team_only: Mapped[bool] = mapped_column(default=False)
    entered_at: Mapped[datetime | None]
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    export_id: Mapped[int | None] = mapped_column(ForeignKey("hmis_exports.id"))

    client: Mapped[Client] = relationship(lazy="joined")
    accepted_by: Mapped[StaffUser | None] = relationship(
        lazy="joined", foreign_keys=[accepted_by_id]
    )
    entered_by: Mapped[StaffUser | None] = relationship(lazy="joined", foreign_keys=[entered_by_id])
    export: Mapped[HmisExport | None] = relationship(lazy="joined")


class HmisLivingSituation(Base):
    """A row of the HMIS's CurrentLivingSituation.csv, every column kept (LocationDetails
    encrypted: it says where someone sleeps). A contact for "last contact"."""

    __tablename__ = "hmis_living_situations"

    id: Mapped[int] = mapped_column(primary_key=True)
    hud_id: Mapped[str] = mapped_column(String(32), unique=True)  # CurrentLivingSitID
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    information_date: Mapped[date] = mapped_column(Date)
    living_situation: Mapped[int]
    subsidy_type: Mapped[int | None]
    verified_by: Mapped[str | None] = mapped_column(String(100))
    leave_situation_14_days: Mapped[int | None]
    subsequent_residence: Mapped[int | None]
    resources_to_obtain: Mapped[int | None]
    lease_own_60_day: Mapped[int | None]
    moved_two_or_more: Mapped[int | None]
    location_details_encrypted: Mapped[str | None] = mapped_column(Text)
    hud_date_created: Mapped[datetime | None]
    hud_date_updated: Mapped[datetime | None]
    hud_user_id: Mapped[str | None] = mapped_column(String(32))
    imported_at: Mapped[datetime]

    enrollment: Mapped[Enrollment] = relationship(lazy="joined")


class HmisContact(Base):
    """A dated contact the HMIS recorded in Services.csv or Event.csv (for "last contact")."""

    __tablename__ = "hmis_contacts"
    __table_args__ = (UniqueConstraint("source", "hud_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(12))  # services, event
    hud_id: Mapped[str] = mapped_column(String(32))  # ServicesID, EventID
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    contact_date: Mapped[date] = mapped_column(Date)
    type_code: Mapped[int | None]  # RecordType or Event
    imported_at: Mapped[datetime]


class HmisUser(Base):
    """A row of the HMIS's User.csv, every column kept: an export names users by these ids
    and carries their rows as the HMIS gave them. Each agency keeps the users its own imports
    brought: another agency's import can neither change nor remove them."""

    __tablename__ = "hmis_users"
    __table_args__ = (UniqueConstraint("agency_id", "hud_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    hud_user_id: Mapped[str] = mapped_column(String(32))
    first_name: Mapped[str | None] = mapped_column(String(50))
    last_name: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    extension: Mapped[str | None] = mapped_column(String(5))
    email: Mapped[str | None] = mapped_column(String(320), index=True)  # lower case
    hud_date_created: Mapped[datetime | None]
    hud_date_updated: Mapped[datetime | None]
    imported_at: Mapped[datetime]


class HmisImportRun(CreatedAtMixin, Base):
    """One import of an HMIS export (uploaded, or found in the watched landing place): its
    name, its content's SHA-256 (a file found twice is imported once) and its report (file
    names, row numbers, column names and codes: never a value)."""

    __tablename__ = "hmis_import_runs"
    __table_args__ = (Index("ix_hmis_import_runs_agency", "agency_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    through: Mapped[str] = mapped_column(String(8))  # upload, watch, command
    source_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool]
    report: Mapped[dict] = mapped_column(default=dict)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
