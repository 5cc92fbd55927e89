"""Who may see and do what with a client: one policy, used by every client-owned query.

- Staff of the owning agency: everything their role's capabilities allow.
- Staff of another agency that serves the client (an enrollment in one of its projects, or a
  care-team seat): view and message only while a Release of Information with permission is
  in force; otherwise the client does not exist for them (404).
- Clients: only themselves.
- System administrators: no client data.

`visible_clients(actor)` is the one scoped query; `can(actor, action, client)` the one check.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import Select, and_, exists, false, or_, select

from portal.domain.core import clock
from portal.domain.core.errors import Forbidden, NotFound
from portal.domain.core.roles import Capability, has_capability
from portal.domain.core.session import dbs
from portal.domain.models import (
    CareTeamMember,
    Client,
    Consent,
    Enrollment,
    Organization,
    Project,
    StaffUser,
)

# action -> the capability a staff role needs for it
ACTIONS: dict[str, Capability] = {
    "view": Capability.VIEW_CLIENTS,
    "documents": Capability.VIEW_CLIENTS,  # the owning agency only: IDs stay where they were given
    "message": Capability.MESSAGE_CLIENTS,
    "edit": Capability.EDIT_CLIENTS,
    "invite": Capability.INVITE_CLIENTS,
    "deactivate": Capability.DEACTIVATE_CLIENT_ACCOUNTS,
    "reinstate": Capability.REINSTATE_CLIENT_ACCOUNTS,
    "manage_care_team": Capability.MANAGE_CARE_TEAM,
    "record_consent": Capability.RECORD_CONSENT,
}
SERVING_AGENCY_ACTIONS = frozenset({"view", "message"})
CLIENT_ACTIONS = frozenset({"view", "message"})


def today_for(actor) -> date:
    """The actor's agency's date (an ROI's days are the agency's days)."""
    return _today(actor)


def _today(actor) -> date:
    agency = getattr(actor, "agency", None)
    return agency.today() if agency is not None else clock.now().date()


def _consent_in_force(day: date):
    return exists().where(
        Consent.client_id == Client.id,
        Consent.permission.is_(True),
        Consent.refused.is_(False),
        Consent.revoked_at.is_(None),
        Consent.starts_on <= day,
        Consent.ends_on >= day,
    )


def _served_by(agency_id: int):
    through_enrollment = (
        exists()
        .where(Enrollment.client_id == Client.id)
        .where(Enrollment.project_id == Project.id)
        .where(Project.organization_id == Organization.id)
        .where(Organization.agency_id == agency_id)
    )
    through_care_team = (
        exists()
        .where(CareTeamMember.client_id == Client.id)
        .where(CareTeamMember.staff_id == StaffUser.id)
        .where(StaffUser.agency_id == agency_id)
    )
    return or_(through_enrollment, through_care_team)


def agency_sees(agency, client: Client) -> bool:
    """Whether an agency (not one of its staff) may see the client now: it owns the record, or
    serves the client with a Release of Information in force (the rule of visible_clients)."""
    if client.owning_agency_id == agency.id:
        return True
    serving = and_(_served_by(agency.id), _consent_in_force(agency.today()))
    return dbs().scalar(select(Client.id).where(Client.id == client.id, serving)) is not None


def staff_sees(agency_id, today):
    """The rule for staff who may view clients: their agency owns the client, or serves them
    (an enrollment or a care-team seat) with a Release of Information in force today.
    `agency_id` and `today` are values, or bound parameters for a statement built once."""
    return or_(
        Client.owning_agency_id == agency_id,
        and_(_served_by(agency_id), _consent_in_force(today)),
    )


def visible_clients(actor) -> Select:
    """Every client the actor may see at all (not deleted), as one query to refine."""
    query = select(Client).where(Client.deleted_at.is_(None))
    kind = getattr(actor, "kind", None)
    if kind == "staff" and has_capability(actor.role, Capability.VIEW_CLIENTS) and actor.agency_id:
        return query.where(staff_sees(actor.agency_id, _today(actor)))
    if kind == "client" and getattr(actor, "client_id", None):
        return query.where(Client.id == actor.client_id)
    return query.where(false())


def own_record(account) -> Client | None:
    """A client account's own record: the rule of `visible_clients` for a client (its record,
    not deleted), read from the session when this transaction has the row already (the
    sign-in session's query loads it with the account)."""
    if getattr(account, "kind", None) != "client" or not getattr(account, "client_id", None):
        return None
    client = dbs().get(Client, account.client_id)
    return client if client is not None and client.deleted_at is None else None


def client_of(account) -> Client:
    """The record the signed-in client owns (R30), by the scope rule above; 404 if none."""
    client = own_record(account)
    if client is None:
        raise NotFound(("client", "own"))
    return client


def relationship_of(actor, client: Client) -> str | None:
    """'owner', 'serving' (with an ROI in force), 'self' for the client, or None."""
    kind = getattr(actor, "kind", None)
    if kind == "client":
        return "self" if actor.client_id == client.id else None
    if kind != "staff" or not actor.agency_id or client.deleted_at is not None:
        return None
    if client.owning_agency_id == actor.agency_id:
        return "owner"
    visible = dbs().scalar(
        select(Client.id).where(
            Client.id == client.id, _served_by(actor.agency_id), _consent_in_force(_today(actor))
        )
    )
    return "serving" if visible else None


def can(actor, action: str, client: Client) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    relation = relationship_of(actor, client)
    if relation == "self":
        return action in CLIENT_ACTIONS
    if relation is None or not has_capability(actor.role, ACTIONS[action]):
        return False
    return relation == "owner" or action in SERVING_AGENCY_ACTIONS


def get_client(actor, public_id, action: str = "view") -> Client:
    """Load a client for `action`: 404 when not visible at all, 403 when visible but not allowed."""
    try:
        key = UUID(str(public_id))
    except ValueError:
        raise NotFound(("client", str(public_id)[:64])) from None
    client = dbs().scalar(visible_clients(actor).where(Client.public_id == key))
    if client is None:
        raise NotFound(("client", str(key)))
    if not can(actor, action, client):
        raise Forbidden(ACTIONS[action])
    return client
