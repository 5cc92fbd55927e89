"""The client record the portal mirrors from the HMIS, and what hangs off it.

Keyed by the HMIS `PersonalID`. Identity fields carry HUD data-quality codes. The SSN is
encrypted at rest (`portal.domain.core.crypto`); only its last four are kept in clear, for search.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.core import clock
from portal.domain.models.accounts import StaffUser
from portal.domain.models.agency import Agency
from portal.domain.models.base import Base, CreatedAtMixin, PublicIdMixin


class Organization(PublicIdMixin, CreatedAtMixin, Base):
    """A HUD HMIS organization; `agency_id` says which portal agency it belongs to."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    hud_organization_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    victim_service_provider: Mapped[bool] = mapped_column(default=False)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    imported_at: Mapped[datetime | None]

    agency: Mapped[Agency | None] = relationship()


class Project(PublicIdMixin, CreatedAtMixin, Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    hud_project_id: Mapped[str] = mapped_column(String(32), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    project_type: Mapped[int | None]
    operating_start: Mapped[date | None] = mapped_column(Date)
    operating_end: Mapped[date | None] = mapped_column(Date)
    imported_at: Mapped[datetime | None]

    organization: Mapped[Organization] = relationship(lazy="joined")


class Client(PublicIdMixin, CreatedAtMixin, Base):
    __tablename__ = "clients"
    __table_args__ = (
        Index("ix_clients_names", "last_name", "first_name"),
        Index("ix_clients_owner", "owning_agency_id", "deleted_at"),
    )

    audit_kind = "client"

    id: Mapped[int] = mapped_column(primary_key=True)
    personal_id: Mapped[str] = mapped_column(String(32), unique=True)
    # The agency that created or imported the record: the only one that may invite,
    # deactivate, reinstate or edit identity fields.
    owning_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    first_name: Mapped[str | None] = mapped_column(String(50))
    middle_name: Mapped[str | None] = mapped_column(String(50))
    last_name: Mapped[str | None] = mapped_column(String(50))
    name_suffix: Mapped[str | None] = mapped_column(String(50))
    name_quality: Mapped[int] = mapped_column(default=99)
    dob: Mapped[date | None] = mapped_column(Date)
    dob_quality: Mapped[int] = mapped_column(default=99)
    ssn_encrypted: Mapped[str | None] = mapped_column(Text)
    ssn_last4: Mapped[str | None] = mapped_column(String(4), index=True)
    ssn_quality: Mapped[int] = mapped_column(default=99)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    address_line1: Mapped[str | None] = mapped_column(String(100))
    address_line2: Mapped[str | None] = mapped_column(String(100))
    city: Mapped[str | None] = mapped_column(String(60))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    preferred_language: Mapped[str] = mapped_column(String(8), default="en")
    preferred_contact: Mapped[str | None] = mapped_column(String(16))  # phone, text, in_person...
    # Fields whose value came from the portal: {"email": {"at": iso, "item": uuid}, ...}
    portal_fields: Mapped[dict] = mapped_column(default=dict, server_default="{}")
    last_contact_at: Mapped[datetime | None] = mapped_column(index=True)
    # What that last contact was: a portal contact (check_in, portal_update, message) or one
    # the HMIS recorded (hmis_cls, hmis_service, hmis_event: issue 21).
    last_contact_kind: Mapped[str | None] = mapped_column(String(16))
    # Where the record came from: "hmis_import" or "staff".
    source: Mapped[str] = mapped_column(String(16), default="staff")
    imported_at: Mapped[datetime | None]
    hud_date_updated: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    deleted_at: Mapped[datetime | None]
    purge_after: Mapped[date | None] = mapped_column(Date)

    owning_agency: Mapped[Agency] = relationship(lazy="joined")
    enrollments: Mapped[list[Enrollment]] = relationship(
        back_populates="client", order_by="Enrollment.entry_date.desc()"
    )
    care_team: Mapped[list[CareTeamMember]] = relationship(back_populates="client")
    consents: Mapped[list[Consent]] = relationship(
        back_populates="client", order_by="Consent.id.desc()"
    )

    RETENTION_YEARS = 7  # HMIS-2004: dispose of PPI 7 years after it was last in use

    def mark_deleted(self, at: datetime) -> None:
        """Soft delete: hidden at once, purged by the retention job after RETENTION_YEARS."""
        self.deleted_at = at
        day = at.date()
        try:
            self.purge_after = day.replace(year=day.year + self.RETENTION_YEARS)
        except ValueError:  # 29 February
            self.purge_after = day.replace(year=day.year + self.RETENTION_YEARS, day=28)

    @property
    def full_name(self) -> str:
        parts = [self.first_name, self.middle_name, self.last_name, self.name_suffix]
        return " ".join(p for p in parts if p)


# What a list of clients shows of each (name, identifiers): lists load only these columns.
CLIENT_LISTED = (
    Client.id,
    Client.public_id,
    Client.first_name,
    Client.middle_name,
    Client.last_name,
    Client.name_suffix,
    Client.personal_id,
)


class Enrollment(PublicIdMixin, CreatedAtMixin, Base):
    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    hud_enrollment_id: Mapped[str] = mapped_column(String(32), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    household_id: Mapped[str | None] = mapped_column(String(32))
    relationship_to_hoh: Mapped[int | None]
    entry_date: Mapped[date] = mapped_column(Date)
    exit_date: Mapped[date | None] = mapped_column(Date)
    hud_exit_id: Mapped[str | None] = mapped_column(String(32))
    destination: Mapped[int | None]
    imported_at: Mapped[datetime | None]

    client: Mapped[Client] = relationship(back_populates="enrollments")
    project: Mapped[Project] = relationship(lazy="joined")


class CareTeamMember(CreatedAtMixin, Base):
    """A seat on a client's care team; staff may come from several agencies."""

    __tablename__ = "care_team_members"
    __table_args__ = (UniqueConstraint("client_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    is_case_manager: Mapped[bool] = mapped_column(default=False)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    client: Mapped[Client] = relationship(back_populates="care_team")
    staff: Mapped[StaffUser] = relationship(foreign_keys=[staff_id], lazy="joined")


class Consent(PublicIdMixin, CreatedAtMixin, Base):
    """The client's Release of Information: permission to share among partner agencies."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_client", "client_id", "revoked_at"),)

    audit_kind = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    recorded_by_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    permission: Mapped[bool]
    refused: Mapped[bool] = mapped_column(default=False)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    # "paper" (recorded by staff) now; the e-signature issue adds "electronic".
    source: Mapped[str] = mapped_column(String(16), default="paper")
    document_reference: Mapped[str | None] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None]

    client: Mapped[Client] = relationship(back_populates="consents")

    def in_force_on(self, day: date) -> bool:
        return (
            self.permission
            and not self.refused
            and self.revoked_at is None
            and self.starts_on <= day <= self.ends_on
        )
