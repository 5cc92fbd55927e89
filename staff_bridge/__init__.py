"""The staff bridge: the staff side of the portal (its own blueprint under /staff)."""

from flask import Blueprint, g
from flask_login import current_user

from portal.domain import navigation
from portal.domain.core.roles import ROLE_LABELS, Capability, has_capability

bp = Blueprint("staff_bridge", __name__)


def staff_counts(staff) -> navigation.StaffCounts:
    """The navigation's counts, once per request (the inbox page uses its own too)."""
    if "staff_counts" not in g:
        g.staff_counts = navigation.staff_counts(staff)
    return g.staff_counts


def inbox_counts(staff) -> dict[str, int]:
    return staff_counts(staff).inbox


@bp.context_processor
def _staff_navigation():
    staff = current_user if current_user.is_authenticated and current_user.kind == "staff" else None
    counts = staff_counts(staff) if staff else navigation.StaffCounts()
    return {
        "staff": staff,
        "unread_notifications": counts.notifications,
        "review_count": counts.reviews,
        "inbox_counts": counts.inbox,
        "record_request_count": counts.record_requests,
        "to_enter_count": counts.to_enter,
        "can": (lambda cap: has_capability(staff.role, Capability(cap)))
        if staff
        else (lambda cap: False),
        "role_label": lambda role: ROLE_LABELS.get(role, role),
    }


from staff_bridge import (  # noqa: E402,F401 - routes register
    clients,
    directory,
    documents,
    esign,
    hmis_bridge,
    imports,
    invitations,
    messages,
    passkeys,
    portal_accounts,
    review_queue,
    routes,
    second_factor,
    sso,
    texts,
)
