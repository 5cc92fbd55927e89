"""Identity checks and client invitations (onboarding, issue 4)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.core.statuses import InvitationStatus
from portal.domain.models.accounts import StaffUser
from portal.domain.models.base import Base, CreatedAtMixin, PublicIdMixin
from portal.domain.models.clients import Client


class IdentityCheck(PublicIdMixin, CreatedAtMixin, Base):
    """Staff confirmed the client's full name and at least two identifying facts."""

    __tablename__ = "identity_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    facts: Mapped[dict] = mapped_column(default=dict)  # {"facts": ["dob", "photo", ...]}
    note: Mapped[str | None] = mapped_column(String(200))

    staff: Mapped[StaffUser] = relationship(lazy="joined")


class ClientInvitation(PublicIdMixin, CreatedAtMixin, Base):
    """An invitation to connect a portal account to a client record.

    The link token and the printed short code are stored only as a SHA-256 hash and an HMAC.
    Progress through redemption lives here, not in the browser session.
    """

    __tablename__ = "client_invitations"
    __table_args__ = (Index("ix_client_invitations_client", "client_id", "status"),)

    audit_kind = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    identity_check_id: Mapped[int] = mapped_column(ForeignKey("identity_checks.id"))
    delivery: Mapped[str] = mapped_column(String(8))  # "email" or "print"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hmac: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    code_expires_at: Mapped[datetime | None]
    status: Mapped[InvitationStatus] = mapped_column(String(12), default=InvitationStatus.PENDING)
    dob_failures: Mapped[int] = mapped_column(default=0)
    email_failures: Mapped[int] = mapped_column(default=0)
    step: Mapped[str] = mapped_column(String(16), default="new")
    ended_at: Mapped[datetime | None]
    # Redemption: the browser that pressed "Continue" holds a secret whose hash is kept here.
    binding_hash: Mapped[str | None] = mapped_column(String(64))
    email_code_hmac: Mapped[str | None] = mapped_column(String(64))
    email_code_expires_at: Mapped[datetime | None]
    email_code_attempts: Mapped[int] = mapped_column(default=0)
    email_link_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    privacy_version: Mapped[str | None] = mapped_column(String(16))

    client: Mapped[Client] = relationship(lazy="joined")

    def is_live(self, now: datetime) -> bool:
        """Pending, and its link or its printed code still within its time."""
        return invitation_live(self.status, self.expires_at, self.code_expires_at, now)


def invitation_live(
    status: str, expires_at: datetime, code_expires_at: datetime | None, now: datetime
) -> bool:
    """`ClientInvitation.is_live` over plain values (a row of a Core statement)."""
    if status != InvitationStatus.PENDING:
        return False
    return expires_at > now or bool(code_expires_at and code_expires_at > now)
