"""The care team: who is told, adding and removing members, seats freed when staff leave."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.domain.accounts.signin import account_by_email
from portal.domain.core import audit
from portal.domain.core.errors import DomainError, Forbidden
from portal.domain.core.roles import Capability, Role, has_capability
from portal.domain.core.session import dbs
from portal.domain.models import (
    CareTeamMember,
    Client,
    StaffUser,
)
from portal.domain.records.access_policy import can

# --- care team ----------------------------------------------------------------------------


def people_to_tell(client: Client) -> list[StaffUser]:
    """Who hears about the client's portal account: the active care team, or, when it has
    nobody, the owning agency's administrators."""
    team = [seat.staff for seat in client.care_team if seat.staff.is_active]
    if team:
        return team
    return list(
        dbs().scalars(
            select(StaffUser).where(
                StaffUser.agency_id == client.owning_agency_id,
                StaffUser.role == Role.AGENCY_ADMIN,
                StaffUser.is_active.is_(True),
            )
        )
    )


def care_team_of(client: Client) -> list[CareTeamMember]:
    return sorted(
        client.care_team, key=lambda m: (not m.is_case_manager, m.staff.display_name.lower())
    )


def add_to_care_team(actor, client: Client, *, email: str, case_manager: bool) -> CareTeamMember:
    if not can(actor, "manage_care_team", client):
        raise Forbidden(Capability.MANAGE_CARE_TEAM)
    member = account_by_email("staff", email)
    if member is None or not member.is_active or member.agency_id is None:
        raise DomainError(_l("No active staff member has this email address."), field="email")
    if not has_capability(member.role, Capability.VIEW_CLIENTS):
        raise DomainError(_l("This person's role cannot work with clients."), field="email")
    if any(seat.staff_id == member.id for seat in client.care_team):
        raise DomainError(_l("This person is already on the care team."), field="email")
    if case_manager:
        for seat in client.care_team:
            seat.is_case_manager = False
    seat = CareTeamMember(
        client=client, staff=member, is_case_manager=case_manager, added_by_id=actor.id
    )
    dbs().add(seat)
    dbs().flush()
    audit.record(
        "care_team.added",
        client,
        details={"staff": str(member.public_id), "case_manager": case_manager},
    )
    return seat


def remove_from_care_team(actor, client: Client, staff_public_id: str) -> None:
    if not can(actor, "manage_care_team", client):
        raise Forbidden(Capability.MANAGE_CARE_TEAM)
    seat = next(
        (s for s in client.care_team if str(s.staff.public_id) == str(staff_public_id)), None
    )
    if seat is None:
        raise DomainError(_l("This person is not on the care team."))
    dbs().delete(seat)
    client.care_team.remove(seat)
    audit.record("care_team.removed", client, details={"staff": str(seat.staff.public_id)})


def free_care_team_seats(gone: StaffUser, successor: StaffUser) -> None:
    """A deactivated colleague's seats are freed; where they were case manager, the
    successor takes over as case manager."""
    seats = dbs().scalars(select(CareTeamMember).where(CareTeamMember.staff_id == gone.id)).all()
    for seat in seats:
        client = seat.client
        has_successor = any(s.staff_id == successor.id for s in client.care_team)
        if seat.is_case_manager and not has_successor:
            dbs().add(
                CareTeamMember(
                    client=client, staff=successor, is_case_manager=True, added_by_id=successor.id
                )
            )
        elif seat.is_case_manager:
            for other in client.care_team:
                if other.staff_id == successor.id:
                    other.is_case_manager = True
        dbs().delete(seat)
        audit.record(
            "care_team.seat_freed",
            client,
            details={"staff": str(gone.public_id), "successor": str(successor.public_id)},
        )
