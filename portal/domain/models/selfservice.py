"""What clients enter through the portal, and the one review queue it waits in (issue 5).

Record data a client submits never changes the record directly: it becomes a `ReviewItem`
(encrypted payload) until staff accept or reject it. What staff accepted is kept with its
provenance (`ClientPhone.source`, `Client.portal_fields`, `ClientLocation`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.core.statuses import RecordRequestStatus, ReviewStatus, TaskStatus
from portal.domain.models.accounts import StaffUser
from portal.domain.models.base import Base, CreatedAtMixin, PublicIdMixin
from portal.domain.models.clients import Client


class ReviewItem(PublicIdMixin, CreatedAtMixin, Base):
    """One portal-entered change waiting for staff: later issues add kinds, not queues."""

    __tablename__ = "review_items"
    __table_args__ = (
        Index("ix_review_items_queue", "status", "agency_id", "created_at"),
        Index("ix_review_items_client", "client_id", "kind", "status"),
    )

    audit_kind = "review_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))  # who reviews it
    kind: Mapped[str] = mapped_column(String(24))
    # Fernet-encrypted JSON: what the client asked for, and the record's values at that time.
    payload_encrypted: Mapped[str] = mapped_column(Text)
    previous_encrypted: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ReviewStatus] = mapped_column(String(12), default=ReviewStatus.PENDING)
    version: Mapped[int] = mapped_column(default=1)  # compare-and-set: one decision wins
    submitted_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("client_accounts.id"))
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    edited: Mapped[bool] = mapped_column(default=False)  # staff changed it before accepting
    reject_reason: Mapped[str | None] = mapped_column(String(24))
    reject_note: Mapped[str | None] = mapped_column(String(500))
    # An HMIS import changed the same part of the record while this waited (issue 21).
    hmis_changed_at: Mapped[datetime | None]

    client: Mapped[Client] = relationship(lazy="joined")
    decided_by: Mapped[StaffUser | None] = relationship(lazy="joined")


class ClientPhone(PublicIdMixin, CreatedAtMixin, Base):
    """A phone number in E.164, with what is safe to do with it (a shared phone can expose
    someone). `source` is "portal" for numbers the client gave through the portal."""

    __tablename__ = "client_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(8))  # mobile, home, work, message
    voicemail_ok: Mapped[bool] = mapped_column(default=False)
    text_ok: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(8), default="portal")
    review_item_id: Mapped[int | None] = mapped_column(ForeignKey("review_items.id"))


class ClientLocation(PublicIdMixin, CreatedAtMixin, Base):
    """Where to find the client, as they shared it and staff accepted it. Encrypted; shown
    only to the care team; pruned after `location_history_days`."""

    __tablename__ = "client_locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    details_encrypted: Mapped[str] = mapped_column(Text)  # kind, place, times, lat/lon
    shared_at: Mapped[datetime]
    review_item_id: Mapped[int | None] = mapped_column(ForeignKey("review_items.id"))


class ContactEvent(CreatedAtMixin, Base):
    """Contact between a client and their care team (coordinated entry counts the last one)."""

    __tablename__ = "contact_events"
    __table_args__ = (Index("ix_contact_events_client", "client_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    kind: Mapped[str] = mapped_column(String(16))  # check_in, portal_update, message


class ClientTask(PublicIdMixin, CreatedAtMixin, Base):
    """A staff request to a client ("update your location"); done when the client acts."""

    __tablename__ = "client_tasks"
    __table_args__ = (Index("ix_client_tasks_client", "client_id", "status"),)

    audit_kind = "client_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    kind: Mapped[str] = mapped_column(String(24))  # update_location, update_contact, document
    due_on: Mapped[date | None] = mapped_column(Date)
    # A document request (issue 7): which category, what exactly, and a note for the client.
    category: Mapped[str | None] = mapped_column(String(24))
    title: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[TaskStatus] = mapped_column(String(12), default=TaskStatus.OPEN)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    done_at: Mapped[datetime | None]

    created_by: Mapped[StaffUser] = relationship(lazy="joined", foreign_keys=[created_by_id])


class RecordRequest(PublicIdMixin, CreatedAtMixin, Base):
    """A client asking for their record: staff get a task and mark it fulfilled."""

    __tablename__ = "record_requests"
    __table_args__ = (Index("ix_record_requests_queue", "agency_id", "status"),)

    audit_kind = "record_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    parts: Mapped[dict] = mapped_column(default=dict)  # {"parts": ["contact", ...]}
    delivery: Mapped[str] = mapped_column(String(16))  # pick_up, mail, email
    status: Mapped[RecordRequestStatus] = mapped_column(
        String(12), default=RecordRequestStatus.OPEN
    )
    fulfilled_at: Mapped[datetime | None]
    fulfilled_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    client: Mapped[Client] = relationship(lazy="joined")
