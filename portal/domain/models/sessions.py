from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.domain.models.base import Base, PublicIdMixin


class UserSession(PublicIdMixin, Base):
    """A browser session kept on the server; the cookie holds a random id, we keep its hash."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_account", "account_kind", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_kind: Mapped[str | None] = mapped_column(String(16))
    account_id: Mapped[int | None]
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict] = mapped_column(default=dict)
    # Set when the account's privileges change: the next request gets a new id.
    rotate_pending: Mapped[bool] = mapped_column(default=False)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    # A staff session begun through a single sign-on provider (issue 19): the provider, its
    # refresh token and when it was last checked, encrypted. A column of its own, written by a
    # compare-and-set, so a request that saves the session's other data never writes it back
    # stale.
    sso_state: Mapped[str | None] = mapped_column(Text)
