"""Staff and client accounts live in separate tables; tokens serve both."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, false, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.core.roles import Role
from portal.domain.models.agency import Agency
from portal.domain.models.base import Base, CreatedAtMixin, PublicIdMixin


class SignInStateMixin:
    """What the sign-in pipeline keeps per account (throttling, suspension, rehash)."""

    kind: str
    if TYPE_CHECKING:  # both account tables take it from PublicIdMixin
        public_id: uuid.UUID

    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    throttled_until: Mapped[datetime | None]
    suspended_at: Mapped[datetime | None]
    last_sign_in_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    deactivated_at: Mapped[datetime | None]
    deactivation_reason: Mapped[str | None] = mapped_column(String(40))
    preferred_language: Mapped[str] = mapped_column(String(8), default="en")

    # What Flask-Login asks of a user object (is_active is the column above).
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.kind}:{self.public_id}"


class StaffUser(PublicIdMixin, CreatedAtMixin, SignInStateMixin, Base):
    __tablename__ = "staff_users"
    # One account per identity at a provider: (issuer, subject) names it for good.
    __table_args__ = (UniqueConstraint("sso_issuer", "sso_subject"),)

    kind = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    # System administrators belong to no agency; everyone else to exactly one.
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(String(32))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # Per-staff setting: appear in the care-team panel of clients' dashboards. Opt-in: some
    # staff must stay unlisted for their own safety.
    shown_to_clients: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Per-staff setting: clients on whose care team they are may start a conversation with
    # them (the case manager always may be written to).
    allow_client_contact: Mapped[bool] = mapped_column(default=False, server_default=false())

    # Single sign-on (issue 19): the provider identity this account is bound to, from its
    # first sign-in there on; after that the provider's email is never matched again.
    sso_provider: Mapped[str | None] = mapped_column(String(40))
    sso_issuer: Mapped[str | None] = mapped_column(String(255))
    sso_subject: Mapped[str | None] = mapped_column(String(255))
    sso_linked_at: Mapped[datetime | None]

    agency: Mapped[Agency | None] = relationship(lazy="joined")

    @property
    def signs_in_with_sso(self) -> bool:
        return self.sso_subject is not None

    @property
    def status(self) -> str:
        if not self.is_active:
            return "deactivated"
        if self.password_hash is None and not self.signs_in_with_sso:
            return "invited"
        if self.suspended_at is not None:
            return "suspended"
        return "active"


class ClientAccount(PublicIdMixin, CreatedAtMixin, SignInStateMixin, Base):
    """A client's portal sign-in. Onboarding (issue 4) links it to the client record."""

    __tablename__ = "client_accounts"

    kind = "client"
    role = "client"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    # The client record this account reaches (linked at onboarding).
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), unique=True)
    first_name: Mapped[str] = mapped_column(String(50))
    email_verified_at: Mapped[datetime | None]
    privacy_version: Mapped[str | None] = mapped_column(String(16))
    email_notifications: Mapped[bool] = mapped_column(default=True, server_default=true())
    # How each kind of notice reaches the client (issue 22): kind -> email, text, both, none.
    # A kind not named here goes by email when `email_notifications` is on.
    notice_channels: Mapped[dict] = mapped_column(default=dict, server_default=text("'{}'"))
    # A sign-in email change waits here until the code sent to the new address comes back.
    pending_email: Mapped[str | None] = mapped_column(String(254))
    pending_email_code_hmac: Mapped[str | None] = mapped_column(String(64))
    pending_email_expires_at: Mapped[datetime | None]
    pending_email_attempts: Mapped[int] = mapped_column(default=0, server_default="0")

    agency: Mapped[Agency] = relationship(lazy="joined")


# A person who signs in: staff and clients keep their accounts in separate tables.
Account = StaffUser | ClientAccount


class AccountToken(CreatedAtMixin, Base):
    """A single-use secret sent to a person (set-password link, later resets and codes).

    Only the SHA-256 of the token is stored; the raw value exists in the outbox (encrypted)
    until the message is sent, and in the recipient's mailbox.
    """

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_account", "account_kind", "account_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(32))
    account_kind: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
