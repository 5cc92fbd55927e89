"""The staff bridge: the staff side of the portal (its own blueprint under /staff)."""

from flask import Blueprint, g
from flask_login import current_user

from portal.domain import messaging, notifications, review, selfservice
from portal.domain.roles import ROLE_LABELS, Capability, has_capability

bp = Blueprint("staff_bridge", __name__)


def inbox_counts(staff) -> dict[str, int]:
    """The inbox counts, counted once per request (navigation and inbox page share them)."""
    if "inbox_counts" not in g:
        g.inbox_counts = messaging.inbox_counts(staff)
    return g.inbox_counts


@bp.context_processor
def _staff_navigation():
    staff = current_user if current_user.is_authenticated and current_user.kind == "staff" else None
    return {
        "staff": staff,
        "unread_notifications": notifications.unread_count(staff) if staff else 0,
        "review_count": review.pending_count(staff) if staff else 0,
        "inbox_counts": inbox_counts(staff) if staff else {},
        "record_request_count": selfservice.open_record_request_count(staff) if staff else 0,
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
    imports,
    invitations,
    messages,
    portal_accounts,
    review_queue,
    routes,
)
