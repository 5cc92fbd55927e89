"""In-app notifications for staff, with an optional email through the outbox.

Later modules publish by calling `notify()` with a kind registered in `KINDS`.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from portal.domain.core import audit, clock, mail
from portal.domain.core.session import dbs
from portal.domain.models import StaffNotification, StaffUser

KINDS = {
    "invitation_locked": _l(
        "A client's portal invitation was locked after too many wrong answers. "
        "Check their identity again before a new invitation."
    ),
    "work_handed_over": _l("Open work of %(from)s was handed to you."),
    "client_account_deactivated": _l(
        "A client's portal account was deactivated by staff. Every session it had is signed out."
    ),
    "client_account_reinstated": _l(
        "A client's portal account was reinstated. They choose a new password before they sign in."
    ),
    "record_requested": _l("A client asked for a copy of their record."),
    "client_message": _l("A client sent a message. It is waiting for an answer."),
    "document_quarantined": _l(
        "A file on a client's record failed the malware check. It is quarantined: nobody can "
        "open it. Ask for the document another way."
    ),
    "signature_declined": _l("A client declined to sign a document you sent."),
    "roi_revoked": _l(
        "A client took back their permission to share (Release of Information). Partner "
        "agencies no longer see them."
    ),
    "document_missing": _l(
        "A file on a client's record is missing from document storage. Ask for it again and tell "
        "whoever runs the storage."
    ),
    "client_deactivated_self": _l(
        "A client closed their portal account. If they want it back, check their identity "
        "and ask an agency administrator to reinstate it."
    ),
}


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
    count = dbs().execute(query.values(read_at=clock.now())).rowcount
    if count:
        audit.record("notifications.read", staff, actor=staff, details={"count": count})
    return count
