"""Electronic signatures (issue 8): signable templates and their published versions, the
client's consent to electronic records, signature requests, and signatures with their evidence.

A published version never changes: publishing makes a new version, so a signature always
points at the exact text that was signed (and its SHA-256 proves it).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.core.statuses import SignatureStatus
from portal.domain.models.accounts import ClientAccount, StaffUser
from portal.domain.models.base import Base, CreatedAtMixin, PublicIdMixin
from portal.domain.models.clients import Client


class SignableTemplate(PublicIdMixin, CreatedAtMixin, Base):
    """A document clients sign (the ROI, or another agency form), owned by an agency."""

    __tablename__ = "signable_templates"
    # One ROI per agency: it is made on first use, and two first uses at once must make one.
    __table_args__ = (
        Index(
            "uq_signable_templates_one_roi",
            "agency_id",
            unique=True,
            sqlite_where=text("kind = 'roi'"),
            postgresql_where=text("kind = 'roi'"),
        ),
    )

    audit_kind = "signable_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # roi or other
    name: Mapped[str] = mapped_column(String(120))  # what staff call it
    roi_term_days: Mapped[int | None]  # an ROI's default term
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())

    versions: Mapped[list[TemplateVersion]] = relationship(
        back_populates="template", order_by="TemplateVersion.version"
    )


class TemplateVersion(CreatedAtMixin, Base):
    """One published text of a template in one language. Never edited after publishing."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "version", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("signable_templates.id"))
    version: Mapped[int]
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)  # plain language, shown first
    body: Mapped[str] = mapped_column(Text)  # Markdown, sanitised when rendered
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    template: Mapped[SignableTemplate] = relationship(back_populates="versions")


class EsignConsent(CreatedAtMixin, Base):
    """The client's consent to sign electronically (ESIGN 7001(c)): which disclosure, when, and
    that they showed they can open the format. Withdrawing ends it; signatures stay."""

    __tablename__ = "esign_consents"
    __table_args__ = (Index("ix_esign_consents_account", "account_id", "withdrawn_at"),)

    audit_kind = "esign_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("client_accounts.id"))
    disclosure_version: Mapped[int]
    language: Mapped[str] = mapped_column(String(8))
    disclosure_sha256: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime]
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    withdrawn_at: Mapped[datetime | None]


class SignatureRequest(PublicIdMixin, CreatedAtMixin, Base):
    """Staff ask a client to sign a template; it shows on the client's dashboard."""

    __tablename__ = "signature_requests"
    __table_args__ = (Index("ix_signature_requests_client", "client_id", "status"),)

    audit_kind = "signature_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    template_id: Mapped[int] = mapped_column(ForeignKey("signable_templates.id"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[SignatureStatus] = mapped_column(String(10), default=SignatureStatus.REQUESTED)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]

    client: Mapped[Client] = relationship(lazy="joined")
    template: Mapped[SignableTemplate] = relationship(lazy="joined")
    requested_by: Mapped[StaffUser | None] = relationship()


class Signature(PublicIdMixin, CreatedAtMixin, Base):
    """One signature and its evidence: who, what exactly, when, how authenticated, their
    consent to sign electronically, and the sealed PDF that holds it all."""

    __tablename__ = "signatures"

    audit_kind = "signature"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("signature_requests.id"), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("client_accounts.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("template_versions.id"))
    esign_consent_id: Mapped[int] = mapped_column(ForeignKey("esign_consents.id"))
    typed_name: Mapped[str] = mapped_column(String(100))
    drawn: Mapped[str | None] = mapped_column(Text)  # the drawn signature as SVG path data
    document_sha256: Mapped[str] = mapped_column(String(64))  # the exact rendered document
    document_text: Mapped[str] = mapped_column(Text)  # that document, kept to re-hash (R53)
    disclosure_sha256: Mapped[str] = mapped_column(String(64))
    authentication: Mapped[dict] = mapped_column(JSON)  # the steps, e.g. password at 12:01
    signed_at: Mapped[datetime]
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    session_hash: Mapped[str] = mapped_column(String(64))
    verification_code: Mapped[str] = mapped_column(String(16), unique=True)
    pdf_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))

    account: Mapped[ClientAccount] = relationship()
    version: Mapped[TemplateVersion] = relationship(lazy="joined")


class ConsentRevocation(PublicIdMixin, CreatedAtMixin, Base):
    """The client took back their Release of Information: a signed event of its own, with the
    same kind of evidence as a signature. The consent and its signature stay as they were."""

    __tablename__ = "consent_revocations"

    audit_kind = "consent_revocation"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("client_accounts.id"))
    consent_ids: Mapped[list] = mapped_column(JSON)  # the consents it ended
    typed_name: Mapped[str] = mapped_column(String(100))
    document_sha256: Mapped[str] = mapped_column(String(64))
    authentication: Mapped[dict] = mapped_column(JSON)
    signed_at: Mapped[datetime]
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    session_hash: Mapped[str] = mapped_column(String(64))
    verification_code: Mapped[str] = mapped_column(String(16), unique=True)
    pdf_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
