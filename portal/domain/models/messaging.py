"""Secure messaging between a client and their care team (issue 6).

A conversation belongs to one client and one agency: staff of another agency never read it.
Messages are plain text; what reaches HTML is sanitised when shown.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.domain.core import clock
from portal.domain.core.statuses import ConversationStatus
from portal.domain.models.accounts import StaffUser
from portal.domain.models.base import Base, CreatedAtMixin, PublicIdMixin
from portal.domain.models.clients import Client


class Conversation(PublicIdMixin, CreatedAtMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # The inbox orderings, walked in index order so a page stops after 25 rows.
        Index("ix_conversations_inbox", "agency_id", "last_message_at", "id"),
        Index("ix_conversations_awaiting", "agency_id", "awaiting_since", "id"),
        UniqueConstraint("client_id", "agency_id"),  # one conversation per client and agency
    )

    audit_kind = "conversation"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    assigned_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    status: Mapped[ConversationStatus] = mapped_column(String(10), default=ConversationStatus.OPEN)
    last_message_at: Mapped[datetime] = mapped_column(default=clock.now)
    # The oldest client message no staff member has answered yet (None: nothing awaits).
    awaiting_since: Mapped[datetime | None]
    unread_by_staff: Mapped[int] = mapped_column(default=0)  # client messages since staff read
    unread_by_client: Mapped[int] = mapped_column(default=0)  # staff messages since client read
    client_notified_at: Mapped[datetime | None]  # the last "you have a new message" email

    client: Mapped[Client] = relationship(lazy="joined")
    assigned_staff: Mapped[StaffUser | None] = relationship(lazy="joined")


class Message(PublicIdMixin, CreatedAtMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation", "conversation_id", "created_at"),
        UniqueConstraint("conversation_id", "author_kind", "idempotency_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    author_kind: Mapped[str] = mapped_column(String(8))  # client or staff
    author_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    author_account_id: Mapped[int | None] = mapped_column(ForeignKey("client_accounts.id"))
    body: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    read_by_client_at: Mapped[datetime | None]

    author_staff: Mapped[StaffUser | None] = relationship(lazy="joined")
    conversation: Mapped[Conversation] = relationship()
