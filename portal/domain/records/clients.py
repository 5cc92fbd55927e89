"""Staff work on client records: search, create, edit, care team, paper consent.

Every load goes through `access_policy` (the scoped query and the one check); every change
is audited with identifiers only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, fields
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, bindparam, exists, func, or_, select

from portal.domain.accounts.invitations import (
    portal_state_filter,
    status_of_row,
    with_portal_status,
)
from portal.domain.accounts.signin import account_by_email
from portal.domain.core import audit, clock, crypto
from portal.domain.core.errors import DomainError, Forbidden
from portal.domain.core.roles import Capability, Role, has_capability
from portal.domain.core.session import Together, dbs, read, read_together
from portal.domain.core.validation import (
    clean_email,
    clean_state,
    clean_text,
    clean_zip,
    parse_uuid,
    small_int,
)
from portal.domain.models import (
    CareTeamMember,
    Client,
    Consent,
    Enrollment,
    Organization,
    Project,
    StaffUser,
)
from portal.domain.models.clients import CLIENT_LISTED
from portal.domain.records import ssn
from portal.domain.records.access_policy import can, staff_sees, today_for, visible_clients

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


# --- identity and contact -----------------------------------------------------------------


@dataclass
class ClientFields:
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    name_suffix: str = ""
    name_quality: str = "1"
    dob: date | None = None
    dob_quality: str = "99"
    ssn: str = ""
    ssn_quality: str = ""
    ssn_confirmed: bool = False
    email: str = ""
    phone: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    preferred_language: str = "en"


class SsnNeedsConfirmation(DomainError):
    """The SSN breaks a validity rule: staff may still save it after confirming."""

    def __init__(self, warnings: tuple[str, ...]):
        super().__init__(
            _l("Check the SSN. If it is right, tick the box to save it anyway."), field="ssn"
        )
        self.warnings = warnings


def _quality(value: str, allowed: dict, field: str) -> int:
    try:
        code = int(value)
    except (TypeError, ValueError):
        code = -1
    if code not in allowed:
        raise DomainError(_l("Choose an option."), field=field)
    return code


def _apply(client: Client, fields: ClientFields, today: date) -> list[str]:
    """Validate everything first, then assign; returns the changed field names."""
    values = {
        "first_name": _optional(fields, "first_name", 50),
        "middle_name": _optional(fields, "middle_name", 50),
        "last_name": _optional(fields, "last_name", 50),
        "name_suffix": _optional(fields, "name_suffix", 50),
        "name_quality": _quality(fields.name_quality, NAME_QUALITY, "name_quality"),
        "dob_quality": _quality(fields.dob_quality, DOB_QUALITY, "dob_quality"),
        "preferred_language": fields.preferred_language
        if fields.preferred_language in ("en", "es")
        else "en",
    }
    if values["name_quality"] in (1, 2) and not (values["first_name"] or values["last_name"]):
        raise DomainError(_l("Enter the client's first or last name."), field="first_name")
    if values["dob_quality"] in (1, 2):
        if fields.dob is None:
            raise DomainError(_l("Enter the date of birth."), field="dob")
        if fields.dob > today:
            raise DomainError(_l("Enter a date of birth in the past."), field="dob")
        if fields.dob.year < today.year - 105:
            raise DomainError(_l("Enter a date of birth less than 105 years ago."), field="dob")
        values["dob"] = fields.dob
    else:
        values["dob"] = None  # HUD: 8, 9 and 99 go with no date
    values["email"] = clean_email(fields.email) if (fields.email or "").strip() else None
    phone = clean_text(fields.phone, field="phone", max_length=20, required=False)
    if phone and not _looks_like_phone(phone):
        raise DomainError(_l("Enter a phone number, like 555 123 4567."), field="phone")
    values["phone"] = phone or None
    values.update(_address(fields))
    quality = int(fields.ssn_quality) if (fields.ssn_quality or "").isdigit() else None
    # "Client prefers not to answer" is a refusal: every digit becomes X (product rules).
    parsed = ssn.parse_ssn(fields.ssn, quality=quality, consent_refused=quality == 9)
    if parsed.warnings and not fields.ssn_confirmed:
        raise SsnNeedsConfirmation(parsed.warnings)
    current_ssn = crypto.decrypt_text(client.ssn_encrypted) if client.ssn_encrypted else None
    changed = [name for name, value in values.items() if getattr(client, name) != value]
    for name in changed:
        setattr(client, name, values[name])
    if parsed.value != current_ssn or parsed.quality != client.ssn_quality:
        client.ssn_encrypted = crypto.encrypt_text(parsed.value) if parsed.value else None
        last = ssn.last_four(parsed.value)
        client.ssn_last4 = last if last and last.isdigit() else None
        client.ssn_quality = parsed.quality
        changed.append("ssn")
    return changed


def _optional(fields: ClientFields, name: str, max_length: int) -> str | None:
    return (
        clean_text(getattr(fields, name), field=name, max_length=max_length, required=False) or None
    )


def _address(fields: ClientFields) -> dict:
    state = clean_state(fields.state)
    postal = clean_zip(fields.postal_code)
    return {
        "address_line1": _optional(fields, "address_line1", 100),
        "address_line2": _optional(fields, "address_line2", 100),
        "city": _optional(fields, "city", 60),
        "state": state or None,
        "postal_code": postal or None,
    }


def _looks_like_phone(value: str) -> bool:
    digits = [c for c in value if c.isdigit()]
    return 7 <= len(digits) <= 15 and all(c.isdigit() or c in " +-().x" for c in value)


def create_client(actor, fields: ClientFields) -> Client:
    if not has_capability(actor.role, Capability.EDIT_CLIENTS) or not actor.agency_id:
        raise Forbidden(Capability.EDIT_CLIENTS)
    client = Client(
        personal_id=f"P{secrets.token_hex(15)}", owning_agency_id=actor.agency_id, source="staff"
    )
    changed = _apply(client, fields, actor.agency.today())
    dbs().add(client)
    dbs().flush()
    audit.record("client.created", client, details={"fields": sorted(changed)})
    return client


def update_client(actor, client: Client, fields: ClientFields) -> list[str]:
    if not can(actor, "edit", client):
        raise Forbidden(Capability.EDIT_CLIENTS)
    changed = _apply(client, fields, actor.agency.today())
    # A value staff changed is the agency's now: it loses its "from the portal" marker.
    portal_names = {
        "email": "email",
        "address_line1": "address",
        "address_line2": "address",
        "city": "address",
        "state": "address",
        "postal_code": "address",
    }
    cleared = {portal_names[name] for name in changed if name in portal_names}
    if cleared & set(client.portal_fields or {}):
        client.portal_fields = {
            k: v for k, v in (client.portal_fields or {}).items() if k not in cleared
        }
    if changed:
        audit.record("client.updated", client, details={"fields": sorted(changed)})
    return changed


def fields_of(client: Client) -> ClientFields:
    return ClientFields(
        first_name=client.first_name or "",
        middle_name=client.middle_name or "",
        last_name=client.last_name or "",
        name_suffix=client.name_suffix or "",
        name_quality=str(client.name_quality),
        dob=client.dob,
        dob_quality=str(client.dob_quality),
        ssn=crypto.decrypt_text(client.ssn_encrypted) if client.ssn_encrypted else "",
        ssn_quality=str(client.ssn_quality),
        email=client.email or "",
        phone=client.phone or "",
        address_line1=client.address_line1 or "",
        address_line2=client.address_line2 or "",
        city=client.city or "",
        state=client.state or "",
        postal_code=client.postal_code or "",
        preferred_language=client.preferred_language,
    )


def record_viewed(actor, client: Client) -> None:
    """Staff views of client PII are audited (R57)."""
    audit.record("client.viewed", client)


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


# --- consent (Release of Information) --------------------------------------------------------


def consent_in_force(client: Client, day: date) -> Consent | None:
    return next((c for c in client.consents if c.in_force_on(day)), None)


def record_paper_consent(
    actor,
    client: Client,
    *,
    permission: bool,
    starts_on: date | None,
    ends_on: date | None,
    document_reference: str = "",
) -> Consent:
    if not can(actor, "record_consent", client):
        raise Forbidden(Capability.RECORD_CONSENT)
    today = actor.agency.today()
    starts_on = starts_on or today
    ends_on = ends_on or starts_on + timedelta(days=actor.agency.default_roi_days)
    if ends_on < starts_on:
        raise DomainError(_l("The end date must be after the start date."), field="ends_on")
    if starts_on > today + timedelta(days=366):
        raise DomainError(_l("Enter a start date within the next year."), field="starts_on")
    reference = clean_text(
        document_reference, field="document_reference", max_length=100, required=False
    )
    consent = Consent(
        client=client,
        recorded_by_agency_id=actor.agency_id,
        recorded_by_id=actor.id,
        permission=permission,
        refused=not permission,
        starts_on=starts_on,
        ends_on=ends_on,
        source="paper",
        document_reference=reference or None,
    )
    dbs().add(consent)
    dbs().flush()
    audit.record(
        "consent.recorded",
        client,
        details={
            "consent": str(consent.public_id),
            "permission": permission,
            "source": "paper",
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(),
        },
    )
    return consent


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
