"""In-app notifications for staff, with an optional email through the outbox.

Features publish by calling `notify()` with a kind they declare (`Feature.notices`).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update

from portal.domain.core import audit, clock, mail
from portal.domain.core.session import changed, dbs
from portal.domain.models import StaffNotification, StaffUser

# What each kind of notice says, filled from the features' declarations by
# portal.domain.features.load() (a feature's `notices`).
KINDS: dict[str, Any] = {}


def notify(
    staff: StaffUser,
    kind: str,
    *,
    params: dict[str, Any] | None = None,
    email: bool = False,
) -> StaffNotification:
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    note = StaffNotification(staff_id=staff.id, kind=kind, params=params or {})
    dbs().add(note)
    dbs().flush()
    if email and staff.is_active:
        mail.queue(
            "staff_notification",
            to=staff.email,
            language=staff.preferred_language,
            params={"name": staff.display_name},
        )
    return note


def text_of(note: StaffNotification) -> str:
    template = str(KINDS.get(note.kind, note.kind))
    try:
        return template % note.params
    except (KeyError, TypeError, ValueError):
        return template


def unread_count(staff: StaffUser) -> int:
    return (
        dbs().scalar(
            select(func.count(StaffNotification.id)).where(
                StaffNotification.staff_id == staff.id, StaffNotification.read_at.is_(None)
            )
        )
        or 0
    )


def list_for(staff: StaffUser, limit: int = 100) -> list[StaffNotification]:
    return list(
        dbs().scalars(
            select(StaffNotification)
            .where(StaffNotification.staff_id == staff.id)
            .order_by(StaffNotification.read_at.is_not(None), StaffNotification.id.desc())
            .limit(limit)
        )
    )


def mark_read(staff: StaffUser, public_id: UUID | str | None = None) -> int:
    """Mark one (by public id) or all of the staff member's notifications read."""
    query = update(StaffNotification).where(
        StaffNotification.staff_id == staff.id, StaffNotification.read_at.is_(None)
    )
    if public_id is not None:
        try:
            query = query.where(StaffNotification.public_id == UUID(str(public_id)))
        except ValueError:
            return 0
    count = changed(query.values(read_at=clock.now()))
    if count:
        audit.record("notifications.read", staff, actor=staff, details={"count": count})
    return count
