"""Documents clients and staff upload (issue 7): the row describes a file in the object store.

The file itself lives under a random `storage_key` (never the client's file name); the row is
written only after the store has the file (checksum verified), so every row has its object.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.core.statuses import DocumentReview, ScanStatus
from portal.domain.models.accounts import StaffUser
from portal.domain.models.base import Base, CreatedAtMixin, PublicIdMixin
from portal.domain.models.clients import Client


class Document(PublicIdMixin, CreatedAtMixin, Base):
    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_client", "client_id", "created_at"),
        Index("ix_documents_scan", "scan_status", "created_at"),
        UniqueConstraint("client_id", "idempotency_key"),  # a replayed upload stores one file
        UniqueConstraint("storage_key"),
    )

    audit_kind = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))  # who reviews it
    category: Mapped[str] = mapped_column(String(24))
    title: Mapped[str | None] = mapped_column(String(120))
    file_name: Mapped[str] = mapped_column(String(160))  # cleaned; shown and used on download
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    pages: Mapped[int | None]  # PDFs: the page count (staff preview them page by page)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    scan_status: Mapped[ScanStatus] = mapped_column(String(12), default=ScanStatus.PENDING)
    scanned_at: Mapped[datetime | None]
    scan_signature: Mapped[str | None] = mapped_column(String(120))
    review_status: Mapped[DocumentReview] = mapped_column(
        String(12), default=DocumentReview.WAITING
    )
    reject_reason: Mapped[str | None] = mapped_column(String(24))
    reject_note: Mapped[str | None] = mapped_column(Text)
    uploaded_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("client_accounts.id"))
    uploaded_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    shown_to_client: Mapped[bool] = mapped_column(
        default=True, server_default=true()
    )  # staff choose
    task_id: Mapped[int | None] = mapped_column(ForeignKey("client_tasks.id"))  # request answered
    idempotency_key: Mapped[str] = mapped_column(String(64))

    client: Mapped[Client] = relationship(lazy="joined")
    uploaded_by_staff: Mapped[StaffUser | None] = relationship(lazy="joined")
