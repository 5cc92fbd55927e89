"""Staff second factors (issue 19): an authenticator app (TOTP) per person, passkeys (WebAuthn,
several per person, named), and ten single-use recovery codes. A factor counts once confirmed
(enrolment proves the person has it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.models.accounts import StaffUser
from portal.domain.models.base import Base, CreatedAtMixin, PublicIdMixin


class StaffFactor(PublicIdMixin, CreatedAtMixin, Base):
    __tablename__ = "staff_factors"
    audit_kind = "staff_factor"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # FactorKind
    name: Mapped[str] = mapped_column(String(60))
    # The TOTP key, encrypted at rest like every other secret (crypto.encrypt_text).
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    # The newest TOTP time step accepted: a code is good once (a step at or before it is refused).
    last_step: Mapped[int | None]
    # A passkey: the credential's id and public key (COSE), and the authenticator's counter.
    credential_id: Mapped[bytes | None] = mapped_column(LargeBinary(1023), unique=True)
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary(2048))
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    confirmed_at: Mapped[datetime | None]  # None while enrolment is not finished
    last_used_at: Mapped[datetime | None]

    staff: Mapped[StaffUser] = relationship()


class RecoveryCode(CreatedAtMixin, Base):
    """One of ten single-use codes for a lost factor; only its keyed hash is stored."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None]
