"""Several clients at once (bulk messages, bulk document requests)."""

from __future__ import annotations

from sqlalchemy import select

from portal.domain.accounts.invitations import (
    portal_state_filter,
)
from portal.domain.core.session import dbs
from portal.domain.core.validation import (
    parse_uuid,
)
from portal.domain.models import (
    CareTeamMember,
    Client,
    Enrollment,
)
from portal.domain.records.access_policy import can, visible_clients

# --- several clients at once (bulk messages, bulk document requests) ---------------------------

BULK_LIMIT = 500
ACCOUNT_STATES = ("", "connected", "not_connected")


def matching_clients(
    actor,
    *,
    action: str,
    project: int | None = None,
    care_team: int | None = None,
    account_status: str = "",
) -> list[Client]:
    """The clients a bulk action would reach: those the actor may `action`, filtered by
    project, care-team member and portal account state (at most BULK_LIMIT)."""

    query = visible_clients(actor)
    if project:
        query = query.where(
            select(Enrollment.id)
            .where(Enrollment.client_id == Client.id, Enrollment.project_id == project)
            .exists()
        )
    if care_team:
        query = query.where(
            select(CareTeamMember.id)
            .where(CareTeamMember.client_id == Client.id, CareTeamMember.staff_id == care_team)
            .exists()
        )
    if account_status in ("connected", "not_connected"):
        query = query.where(portal_state_filter(Client.id, account_status))
    rows = dbs().scalars(
        query.order_by(Client.last_name, Client.first_name, Client.id).limit(BULK_LIMIT)
    )
    return [c for c in rows if can(actor, action, c)]


def chosen_clients(actor, public_ids, *, action: str) -> list[Client]:
    """The clients a staff member saw and confirmed (public ids from the form), each checked
    again: an id that is not one of the actor's clients is dropped."""

    keys = {key for key in map(parse_uuid, list(public_ids)[:BULK_LIMIT]) if key is not None}
    if not keys:
        return []
    rows = dbs().scalars(
        visible_clients(actor)
        .where(Client.public_id.in_(keys))
        .order_by(Client.last_name, Client.first_name, Client.id)
    )
    return [c for c in rows if can(actor, action, c)]
