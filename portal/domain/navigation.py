"""What the staff navigation counts on every staff page, in one statement built once.

Unread notifications, changes waiting for review, record requests to fulfil, changes to enter
in the HMIS and the inbox's four
views: each count by its own module's rule (`review.queue_criteria`, `messaging.inbox_criteria`,
...), with the staff member's agency, id and day as bound parameters. Four statements that
were rebuilt on every page cost more than the rest of a page (measured on PostgreSQL: 7.5 of
12 ms); this is one prebuilt statement. A count the staff member's role may not see is 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Date, Integer, bindparam, func, select

from portal.domain import messaging, selfservice
from portal.domain.core.roles import Capability, has_capability
from portal.domain.core.session import read
from portal.domain.core.statuses import RecordRequestStatus, ReviewStatus
from portal.domain.hmis import worklist
from portal.domain.models import (
    Client,
    Conversation,
    HmisEntry,
    RecordRequest,
    ReviewItem,
    StaffNotification,
)
from portal.domain.records.access_policy import today_for
from portal.domain.selfservice import review

_AGENCY = bindparam("agency_id", type_=Integer)
_STAFF = bindparam("staff_id", type_=Integer)
_TODAY = bindparam("today", type_=Date)


def _statement():
    notifications = (
        select(func.count(StaffNotification.id))
        .where(StaffNotification.staff_id == _STAFF, StaffNotification.read_at.is_(None))
        .scalar_subquery()
    )
    reviews = (
        select(func.count(ReviewItem.id))
        .join(Client, Client.id == ReviewItem.client_id)
        .where(
            review.queue_criteria(_AGENCY, _STAFF, bindparam("team_only", expanding=True)),
            ReviewItem.status == ReviewStatus.PENDING,
        )
        .scalar_subquery()
    )
    record_requests = (
        select(func.count(RecordRequest.id))
        .join(Client, Client.id == RecordRequest.client_id)
        .where(
            selfservice.record_request_criteria(_AGENCY),
            RecordRequest.status == RecordRequestStatus.OPEN,
        )
        .scalar_subquery()
    )
    to_enter = (
        select(func.count(HmisEntry.id))
        .join(Client, Client.id == HmisEntry.client_id)
        .where(worklist.worklist_criteria(_AGENCY, _STAFF, _TODAY), HmisEntry.entered_at.is_(None))
        .scalar_subquery()
    )
    inbox = (
        select(*messaging.inbox_count_columns(_STAFF))
        .select_from(Conversation)
        .where(messaging.inbox_criteria(_AGENCY, _TODAY))
        .subquery()
    )
    return select(
        notifications.label("notifications"),
        reviews.label("reviews"),
        record_requests.label("record_requests"),
        to_enter.label("to_enter"),
        inbox.c.unread,
        inbox.c.awaiting,
        inbox.c.mine,
        inbox.c.all,
    ).select_from(inbox)


_COUNTS = _statement()
INBOX_VIEWS = ("unread", "awaiting", "mine", "all")


@dataclass(frozen=True)
class StaffCounts:
    notifications: int = 0
    reviews: int = 0
    record_requests: int = 0
    to_enter: int = 0  # changes to enter in the HMIS (the worklist)
    inbox: dict[str, int] = field(default_factory=lambda: dict.fromkeys(INBOX_VIEWS, 0))


def staff_counts(staff) -> StaffCounts:
    """The navigation's counts for a signed-in staff member (zeros where the role sees none)."""
    if getattr(staff, "kind", None) != "staff":
        return StaffCounts()
    if not staff.agency_id:
        return StaffCounts(notifications=_notifications_only(staff))
    row = read(
        _COUNTS,
        agency_id=staff.agency_id,
        staff_id=staff.id,
        today=today_for(staff),
        team_only=review.care_team_only_kinds(),
    ).one()
    can = lambda capability: has_capability(staff.role, capability)  # noqa: E731
    inbox_visible = can(Capability.MESSAGE_CLIENTS) and can(Capability.VIEW_CLIENTS)
    return StaffCounts(
        notifications=row.notifications or 0,
        reviews=(row.reviews or 0) if can(Capability.REVIEW_CHANGES) else 0,
        record_requests=row.record_requests or 0,
        to_enter=(row.to_enter or 0) if worklist.may_see(staff) else 0,
        inbox={view: (getattr(row, view) or 0) if inbox_visible else 0 for view in INBOX_VIEWS},
    )


_NOTIFICATIONS = select(func.count(StaffNotification.id)).where(
    StaffNotification.staff_id == _STAFF, StaffNotification.read_at.is_(None)
)


def _notifications_only(staff) -> int:
    """A system administrator (no agency) has notifications and nothing else to count."""
    return read(_NOTIFICATIONS, staff_id=staff.id).scalar() or 0
