"""Finding clients: the staff client list, its filters, pages and portal states."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, bindparam, exists, func, or_, select

from portal.domain.accounts.invitations import (
    portal_state_filter,
    status_of_row,
    with_portal_status,
)
from portal.domain.core import clock
from portal.domain.core.errors import Forbidden
from portal.domain.core.roles import Capability, has_capability
from portal.domain.core.session import read
from portal.domain.core.validation import (
    small_int,
)
from portal.domain.models import (
    CareTeamMember,
    Client,
    Enrollment,
)
from portal.domain.models.clients import CLIENT_LISTED
from portal.domain.records.access_policy import staff_sees, today_for

PAGE_SIZE = 25

NAME_QUALITY = {
    1: _l("Full name reported"),
    2: _l("Partial, street name, or code name"),
    8: _l("Client doesn't know"),
    9: _l("Client prefers not to answer"),
    99: _l("Not collected"),
}
DOB_QUALITY = {
    1: _l("Full date of birth reported"),
    2: _l("Approximate or partial"),
    8: _l("Client doesn't know"),
    9: _l("Client prefers not to answer"),
    99: _l("Not collected"),
}
SSN_QUALITY = {
    1: _l("Full SSN reported"),
    2: _l("Approximate or partial"),
    8: _l("Client doesn't know"),
    9: _l("Client prefers not to answer"),
    99: _l("Not collected"),
}
SSN_WARNINGS = {
    "area_000": _l("SSNs never start with 000."),
    "area_666": _l("SSNs never start with 666."),
    "area_9xx": _l("SSNs never start with 9."),
    "group_00": _l("The middle two digits are never 00."),
    "serial_0000": _l("The last four digits are never 0000."),
    "repeated_digits": _l("All the digits are the same."),
    "sequential": _l("The digits run in sequence."),
    "published_number": _l("This number was published in advertising and belongs to nobody."),
}


@dataclass
class ClientPage:
    rows: list  # what the list shows of each client (CLIENT_LISTED, dob, owning agency)
    total: int
    page: int
    pages: int
    statuses: dict = field(default_factory=dict)  # client id -> invitations.PortalStatus


@dataclass(frozen=True)
class ListedClient:
    id: int
    public_id: object
    first_name: str | None
    middle_name: str | None
    last_name: str | None
    name_suffix: str | None
    personal_id: str
    dob: date | None
    owning_agency_id: int

    full_name = Client.full_name


def _portal_status_filter(query, status: str):
    clause = portal_state_filter(Client.id, status)
    return query if clause is None else query.where(clause)


def search(
    actor,
    *,
    text: str = "",
    project: str = "",
    care_team: str = "",
    portal_status: str = "",
    page: int = 1,
) -> ClientPage:
    if not has_capability(actor.role, Capability.VIEW_CLIENTS):
        raise Forbidden(Capability.VIEW_CLIENTS)
    if not actor.agency_id:
        return ClientPage([], 0, 1, 1)
    query = _CLIENT_LIST  # visible_clients(actor) for staff, built once; filters add to it
    text = " ".join((text or "").split())[:100]
    if text:
        if text.isdigit() and len(text) == 4:
            query = query.where(or_(Client.ssn_last4 == text, Client.personal_id == text))
        else:
            for word in text.split()[:4]:
                like = f"%{_escape_like(word.lower())}%"
                query = query.where(
                    or_(
                        func.lower(Client.first_name).like(like, escape="\\"),
                        func.lower(Client.last_name).like(like, escape="\\"),
                        func.lower(Client.middle_name).like(like, escape="\\"),
                        Client.personal_id == word,
                    )
                )
    if project:
        query = query.where(
            exists().where(
                Enrollment.client_id == Client.id, Enrollment.project_id == _row_id(project)
            )
        )
    if care_team:
        query = query.where(
            exists().where(
                CareTeamMember.client_id == Client.id, CareTeamMember.staff_id == _row_id(care_team)
            )
        )
    query = _portal_status_filter(query, portal_status)
    statement = _CLIENT_PAGE if query is _CLIENT_LIST else _with_statuses(query)
    params = {"agency_id": actor.agency_id, "today": today_for(actor)}
    page = max(1, page)
    found = read(statement, **params, offset=(page - 1) * PAGE_SIZE).all()
    if not found and page > 1:  # past the end: the last page
        first = read(statement, **params, offset=0).first()
        page = max(1, -(-(first.total if first else 0) // PAGE_SIZE))
        found = read(statement, **params, offset=(page - 1) * PAGE_SIZE).all()
    total = found[0].total if found else 0
    pages = max(1, -(-total // PAGE_SIZE))
    now = clock.now()
    return ClientPage(
        rows=[ListedClient(**{name: getattr(row, name) for name in _SHOWN}) for row in found],
        total=total,
        page=page,
        pages=pages,
        statuses={row.id: status_of_row(row, now) for row in found},
    )


_LISTED = (*CLIENT_LISTED, Client.dob, Client.owning_agency_id)
_SHOWN = tuple(each.name for each in fields(ListedClient))


def _client_list_statement():
    """A page of the clients a staff member sees (`visible_clients`, with the agency and its
    day as parameters), only the columns the list shows, and the total (a window count)."""
    return (
        select(*_LISTED, func.count().over().label("total"))
        .where(
            Client.deleted_at.is_(None),
            staff_sees(bindparam("agency_id"), bindparam("today", type_=Date)),
        )
        .order_by(func.lower(Client.last_name), func.lower(Client.first_name), Client.id)
        .limit(PAGE_SIZE)
        .offset(bindparam("offset"))
    )


def _with_statuses(query):
    """The page of `query` with each client's portal status (`invitations.with_portal_status`),
    joined to the page's rows only, in the page's order."""
    page = query.subquery()
    return with_portal_status(
        select(page).order_by(
            func.lower(page.c.last_name), func.lower(page.c.first_name), page.c.id
        ),
        page.c.id,
    )


_CLIENT_LIST = _client_list_statement()
_CLIENT_PAGE = _with_statuses(_CLIENT_LIST)


def _row_id(value) -> int:
    """A filter id from a query string; anything that is not a plausible row id matches nothing."""
    number = small_int(value)
    return -1 if number is None else number


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
