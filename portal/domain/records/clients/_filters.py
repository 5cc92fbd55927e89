"""The choices of the client list's filters (staff, projects) and the masked SSN."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select

from portal.domain.core import crypto
from portal.domain.core.session import Together, read, read_together
from portal.domain.models import (
    Client,
    Organization,
    Project,
    StaffUser,
)
from portal.domain.records import ssn

_STAFF_ORDER = (func.lower(StaffUser.display_name),)
_STAFF_CHOSEN = select(StaffUser.id, StaffUser.display_name).where(
    StaffUser.agency_id == bindparam("agency_id"), StaffUser.is_active.is_(True)
)
_STAFF_CHOICES = _STAFF_CHOSEN.order_by(*_STAFF_ORDER)


def staff_choices_for_filter(actor) -> list:
    """The agency's active staff for a filter: id and name."""
    return list(read(_STAFF_CHOICES, agency_id=actor.agency_id))


def _projects_statement():
    """The agency's programs (id, name) and their order."""

    chosen = (
        select(Project.id, Project.name)
        .join(Organization, Organization.id == Project.organization_id)
        .where(Organization.agency_id == bindparam("agency_id"))
    )
    return chosen, (func.lower(Project.name),)


_PROJECTS_CHOSEN, _PROJECT_ORDER = _projects_statement()
_PROJECT_CHOICES = _PROJECTS_CHOSEN.order_by(*_PROJECT_ORDER)


def projects_for_filter(actor) -> list:
    """The agency's programs for a filter: id and name."""
    return list(read(_PROJECT_CHOICES, agency_id=actor.agency_id))


_BOTH_CHOICES = Together(
    staff=(_STAFF_CHOSEN, _STAFF_ORDER, None),
    projects=(_PROJECTS_CHOSEN, _PROJECT_ORDER, None),
)


def filter_choices(actor) -> tuple[list, list]:
    """`staff_choices_for_filter` and `projects_for_filter` in one statement (the client list
    shows both filters): (staff with id and display_name, programs with id and name)."""
    found = read_together(_BOTH_CHOICES, agency_id=actor.agency_id)
    return found["staff"], found["projects"]


def masked_ssn(client: Client) -> str:
    """What staff see: never more than the last four (R63)."""
    if not client.ssn_encrypted:
        return ""
    return ssn.masked(crypto.decrypt_text(client.ssn_encrypted))
