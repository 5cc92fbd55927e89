"""Text messages (issue 22): the SMS outbox, each client's confirmed texting number, what a
phone number told us (STOP, START, a bounce), and what came in.

A text is written in the transaction of the change that causes it, like an email
(`OutboxMessage`), and sent by the worker. It never holds what a message said: its `kind`
and the public ids in `params` are enough to build its words and its link when it is sent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from portal.domain.models.base import Base, CreatedAtMixin, PublicIdMixin


class TextConsent(PublicIdMixin, CreatedAtMixin, Base):
    """The one number a client gets texts on, once a code sent to it came back.

    The number must stay one of the record's phones marked "texts OK"; a pending code
    (`code_hmac`) is kept until it is typed, expires or is tried too often."""

    __tablename__ = "text_consents"
    audit_kind = "text_consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), unique=True)
    number: Mapped[str] = mapped_column(String(20))  # E.164
    confirmed_at: Mapped[datetime | None]
    # Staff who confirmed it with the client present; empty when the client did it.
    confirmed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # A number waiting for its code (the confirmed one keeps working meanwhile).
    pending_number: Mapped[str | None] = mapped_column(String(20))
    code_hmac: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None]
    code_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # The client allows texts to name who wrote and the agency (not a shared phone).
    allow_details: Mapped[bool] = mapped_column(default=False, server_default=false())


class TextNumber(CreatedAtMixin, Base):
    """What the phone network told us about one number, whoever's it is (a phone can be
    shared): STOP or START with their time, and bounces."""

    __tablename__ = "text_numbers"
    audit_kind = "text_number"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    stopped_at: Mapped[datetime | None]  # set by STOP, cleared by START
    started_at: Mapped[datetime | None]
    bounced_at: Mapped[datetime | None]  # a text could not be delivered; cleared by a new code
    bounce_reason: Mapped[str | None] = mapped_column(String(32))


class TextMessage(PublicIdMixin, CreatedAtMixin, Base):
    """One text in the outbox: queued, then sent (the gateway took it), then delivered or
    failed as its delivery report says; or dropped before sending, with the reason."""

    __tablename__ = "text_messages"
    audit_kind = "text_message"
    __table_args__ = (
        Index("ix_text_messages_number", "to_number", "sent_at"),
        Index("ix_text_messages_agency", "agency_id", "sent_at"),
        Index("ix_text_messages_client", "client_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    to_number: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(24))
    language: Mapped[str] = mapped_column(String(8))
    params: Mapped[dict] = mapped_column(default=dict)  # public ids only
    secret_params: Mapped[str | None] = mapped_column(Text)  # a code, encrypted, wiped when sent
    status: Mapped[str] = mapped_column(String(12), default="queued")
    drop_reason: Mapped[str | None] = mapped_column(String(24))
    stale_at: Mapped[datetime]
    segments: Mapped[int | None]
    unicode: Mapped[bool] = mapped_column(default=False, server_default=false())
    gateway_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    gateway_status: Mapped[str | None] = mapped_column(String(24))
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]


class TextInbound(CreatedAtMixin, Base):
    """A text someone sent the portal's number: what it meant, never what it said."""

    __tablename__ = "text_inbound"
    __table_args__ = (Index("ix_text_inbound_number", "number", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    keyword: Mapped[str] = mapped_column(String(8))  # stop, start, help, other
    language: Mapped[str] = mapped_column(String(8))
    transport: Mapped[str] = mapped_column(String(12))
