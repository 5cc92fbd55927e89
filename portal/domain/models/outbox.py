from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.domain.core.statuses import OutboxStatus
from portal.domain.models.base import Base, CreatedAtMixin, PublicIdMixin


class OutboxMessage(PublicIdMixin, CreatedAtMixin, Base):
    """An email written in the same transaction as the change that caused it.

    The worker renders `template` with `params` in `language` and delivers it. Parameters that
    are secrets (links carrying tokens) are kept encrypted in `secret_params` and wiped once the
    message is sent. `public_id` becomes the Message-ID, so a retry after a crash mid-send is
    recognisable as the same message.
    """

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(64))
    to_address: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8))
    params: Mapped[dict] = mapped_column(default=dict)
    secret_params: Mapped[str | None] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    sent_at: Mapped[datetime | None]
    # A notice to a client (issue 22): whose, and which kind, so staff see what reached them.
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    notice_kind: Mapped[str | None] = mapped_column(String(24))
