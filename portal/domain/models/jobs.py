from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.domain.core.statuses import JobStatus
from portal.domain.models.base import Base, CreatedAtMixin

ACTIVE_JOB = "status IN ('queued', 'running')"


class Job(CreatedAtMixin, Base):
    """A unit of background work claimed by `flask worker`.

    `unique_key` (unique among queued and running jobs) makes enqueueing idempotent and keeps
    exactly one pending run of each recurring job.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "status", "run_at"),
        Index(
            "uq_jobs_active_unique_key",
            "unique_key",
            unique=True,
            sqlite_where=text(ACTIVE_JOB),
            postgresql_where=text(ACTIVE_JOB),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(default=dict)
    status: Mapped[JobStatus] = mapped_column(String(16), default=JobStatus.QUEUED)
    run_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    unique_key: Mapped[str | None] = mapped_column(String(128))
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
