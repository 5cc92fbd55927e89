from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.domain.models.base import Base, CreatedAtMixin, PublicIdMixin


class StaffNotification(PublicIdMixin, CreatedAtMixin, Base):
    """An in-app notice for one staff member; `kind` picks its translated text."""

    __tablename__ = "staff_notifications"
    __table_args__ = (Index("ix_staff_notifications_unread", "staff_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    kind: Mapped[str] = mapped_column(String(48))
    # The public ids it is about ({"client": ...}, {"conversation": ...}) and any words its text
    # names; the staff pages build its link from its kind (portal.links).
    params: Mapped[dict] = mapped_column(default=dict)
    # Written only by releases before migration 0014 (a rolling deploy's older nodes); shown as
    # it is when set. A later release drops it.
    link: Mapped[str | None] = mapped_column(String(255))
    read_at: Mapped[datetime | None]
