"""What a signed-in client does for themselves (issue 5), and the staff requests around it.

- Contact details (phones in E.164 with type and "voicemail / texts OK", contact email,
  mailing address, preferred contact method) and where to find me are record data: they are
  staged in the review queue (`portal.domain.selfservice.review`) and change the record only
  when staff accept them. Submitting counts as contact with the care team.
- Check-in is one tap: a contact event. Coordinated entry reads `Client.last_contact_at`.
- Staff ask a client to update their location or contact details (`ClientTask`); the task is
  done when the client submits that kind of change.
- A client asks for their record (`RecordRequest`); staff fulfil it.
- Corrections: only to data the client contributed through the portal.
- Locations are encrypted, shown to the care team only, and pruned after
  `location_history_days`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import and_, bindparam, delete, func, literal, select, union_all, update

from portal.domain.core import audit, clock, crypto, jobs
from portal.domain.core.errors import DomainError, Forbidden
from portal.domain.core.roles import Capability, has_capability
from portal.domain.core.session import dbs, read
from portal.domain.core.validation import (
    clean_email,
    clean_phone,
    clean_state,
    clean_text,
    clean_zip,
    parse_uuid,
    show_phone,
)
from portal.domain.messaging import notifications
from portal.domain.models import (
    CareTeamMember,
    Client,
    ClientLocation,
    ClientPhone,
    ClientTask,
    ContactEvent,
    RecordRequest,
    ReviewItem,
)
from portal.domain.records.access_policy import can, client_of
from portal.domain.records.clients import people_to_tell
from portal.domain.records.coordinated_entry import record_contact
from portal.domain.selfservice.review import (
    ReviewKind,
    latest_pending,
    mark_portal_field,
    payload_of,
    submit,
)
from portal.settings import current as current_settings

PHONE_KINDS = {
    "mobile": _l("Mobile"),
    "home": lazy_pgettext("phone kind", "Home"),  # a home phone, not the home page ("Inicio")
    "work": _l("Work"),
    "message": _l("Message (someone takes a message for me)"),
}
CONTACT_METHODS = {
    "phone": _l("A phone call"),
    "text": _l("A text message"),
    "email": _l("Email"),
    "mail": _l("Mail"),
    "in_person": _l("In person"),
}
PLACE_KINDS = {
    "shelter": _l("A shelter"),
    "street": _l("Street or encampment"),
    "vehicle": _l("A vehicle"),
    "friends_family": _l("With friends or family"),
    "hotel": _l("Hotel or motel"),
    "other": _l("Somewhere else"),
}
TASK_KINDS = {
    "update_location": _l("Update where we can find you"),
    "update_contact": _l("Update your contact details"),
}
RECORD_PARTS = {
    "contact_identity": _l("Contact and identity details"),
    "enrollments": _l("Enrollments and services"),
    "documents": _l("Documents"),
    "consents": _l("Consents (Releases of Information)"),
}
# Never by email: emails carry at most a first name and a link (R63).
RECORD_DELIVERY = {
    "pick_up": _l("I will pick it up at the agency"),
    "mail": _l("Mail it to my address"),
}
FIELD_LABELS = {
    "email": _l("Contact email"),
    "phones": _l("Phone numbers"),
    "address": _l("Mailing address"),
    "preferred_contact": _l("Best way to reach me"),
    "location": _l("Where to find me"),
}
MAX_PHONES = 3
ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "state", "postal_code")
NOTHING_CHANGED = _l("Nothing changed. Change a detail, or go back.")


# --- contact with the care team --------------------------------------------------------


def check_in(account) -> None:
    client = client_of(account)
    record_contact(client, "check_in")
    audit.record("client.checked_in", client, actor=account)


LAST_CHECK_IN = (
    select(ContactEvent.created_at)
    .where(ContactEvent.client_id == bindparam("client_id"), ContactEvent.kind == "check_in")
    .order_by(ContactEvent.created_at.desc())
    .limit(1)
)


def last_check_in(client: Client) -> datetime | None:
    return read(LAST_CHECK_IN, client_id=client.id).scalar()


# --- contact details -------------------------------------------------------------------


@dataclass
class PhoneEntry:
    number: str = ""
    kind: str = "mobile"
    voicemail_ok: bool = False
    text_ok: bool = False


@dataclass
class ContactDetails:
    phones: list[PhoneEntry]
    email: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    preferred_contact: str = ""


def portal_phones(client: Client) -> list[ClientPhone]:
    return list(
        dbs().scalars(
            select(ClientPhone)
            .where(ClientPhone.client_id == client.id, ClientPhone.source == "portal")
            .order_by(ClientPhone.id)
        )
    )


def _phones_of(client: Client) -> list[dict]:
    return [
        {"number": p.number, "kind": p.kind, "voicemail_ok": p.voicemail_ok, "text_ok": p.text_ok}
        for p in portal_phones(client)
    ]


def _address_of(client: Client) -> dict:
    return {name: getattr(client, name) for name in ADDRESS_FIELDS}


def current_details(client: Client) -> ContactDetails:
    """The form's starting values: the record, with a pending submission shown instead."""

    details = ContactDetails(
        phones=[PhoneEntry(**p) for p in _phones_of(client)],
        email=client.email or "",
        preferred_contact=client.preferred_contact or "",
        **{name: getattr(client, name) or "" for name in ADDRESS_FIELDS},
    )
    for kind in ("phones", "contact_email", "address", "preferred_contact"):
        item = latest_pending(client, kind)
        if item is None:
            continue
        payload = payload_of(item)
        if kind == "phones":
            details.phones = [PhoneEntry(**p) for p in payload["phones"]]
        elif kind == "contact_email":
            details.email = payload["email"] or ""
        elif kind == "address":
            for name in ADDRESS_FIELDS:
                setattr(details, name, payload.get(name) or "")
        else:
            details.preferred_contact = payload["method"] or ""
    return details


def _clean_phones(entries: list[PhoneEntry], errors: list[DomainError]) -> list[dict]:
    phones = []
    for index, entry in enumerate(entries[:MAX_PHONES], start=1):
        if not (entry.number or "").strip():
            continue
        try:
            number = clean_phone(entry.number, field=f"phone_{index}_number")
        except DomainError:
            errors.append(
                DomainError(
                    _l(
                        "Phone %(num)d: enter a number we can call, like (415) 555-0123.", num=index
                    ),
                    f"phone_{index}_number",
                )
            )
            continue
        kind = entry.kind if entry.kind in PHONE_KINDS else None
        if kind is None:
            errors.append(
                DomainError(
                    _l("Phone %(num)d: choose what kind of phone it is.", num=index),
                    f"phone_{index}_kind",
                )
            )
            continue
        phones.append(
            {
                "number": number,
                "kind": kind,
                "voicemail_ok": bool(entry.voicemail_ok),
                "text_ok": bool(entry.text_ok),
            }
        )
    return phones


def _clean_address(values: dict, errors: list[DomainError]) -> dict:
    address = {}
    for name, length in (("address_line1", 100), ("address_line2", 100), ("city", 60)):
        try:
            address[name] = (
                clean_text(values.get(name), field=name, max_length=length, required=False) or None
            )
        except DomainError as refusal:
            errors.append(refusal)
    for name, cleaner in (("state", clean_state), ("postal_code", clean_zip)):
        try:
            address[name] = cleaner(values.get(name), field=name)
        except DomainError as refusal:
            errors.append(refusal)
    return address


def submit_contact_details(account, details: ContactDetails) -> list[ReviewItem]:
    """Stage every changed part for review; refuse everything when any part is wrong."""
    client = client_of(account)
    errors: list[DomainError] = []
    phones = _clean_phones(details.phones, errors)
    email = None
    if (details.email or "").strip():
        try:
            email = clean_email(details.email).lower()
        except DomainError as refusal:
            errors.append(refusal)
    address = _clean_address(vars(details), errors)
    method = details.preferred_contact or None
    if method is not None and method not in CONTACT_METHODS:
        errors.append(DomainError(_l("Choose how you want to be reached."), "preferred_contact"))
    if errors:
        raise DomainError.all_of(errors)
    current = current_details(client)
    changes = []
    if phones != [vars(p) for p in current.phones]:
        changes.append(("phones", {"phones": phones}))
    if email != ((current.email or "").lower() or None):
        changes.append(("contact_email", {"email": email}))  # None clears it
    if address != {n: getattr(current, n) or None for n in ADDRESS_FIELDS}:
        changes.append(("address", address))  # all None clears it (an unsafe address)
    if method is not None and method != (current.preferred_contact or None):
        changes.append(("preferred_contact", {"method": method}))
    if not changes:
        if not complete_tasks(client, "update_contact"):
            raise DomainError(NOTHING_CHANGED)
        record_contact(client, "portal_update")  # "my details are still right"
        return []
    items = [submit(account, client, kind, payload) for kind, payload in changes]
    record_contact(client, "portal_update")
    complete_tasks(client, "update_contact")
    return items


# --- where to find me --------------------------------------------------------------------


def _coordinate(value, low: float, high: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not (low <= number <= high) or number != number:  # NaN
        return None
    return round(number, 3)  # about 100 m: the care team needs the area, not the doorway


def submit_location(
    account,
    *,
    place_kind: str,
    place: str = "",
    times: str = "",
    use_my_location: bool = False,
    latitude=None,
    longitude=None,
) -> ReviewItem:
    client = client_of(account)
    errors: list[DomainError] = []
    if place_kind not in PLACE_KINDS:
        errors.append(DomainError(_l("Choose the kind of place."), "place_kind"))
    try:
        place = clean_text(place, field="place", max_length=100, required=False)
    except DomainError as refusal:
        errors.append(refusal)
    try:
        times = clean_text(times, field="times", max_length=200, required=False)
    except DomainError as refusal:
        errors.append(refusal)
    lat = lon = None
    if use_my_location:
        lat, lon = _coordinate(latitude, -90, 90), _coordinate(longitude, -180, 180)
        if lat is None or lon is None:
            errors.append(
                DomainError(
                    _l("We could not read your location. Try again, or leave it out."),
                    "use_my_location",
                )
            )
    if errors:
        raise DomainError.all_of(errors)
    item = submit(
        account,
        client,
        "location",
        {"place_kind": place_kind, "place": place, "times": times, "lat": lat, "lon": lon},
    )
    record_contact(client, "portal_update")
    complete_tasks(client, "update_location")
    return item


@dataclass
class SharedLocation:
    details: dict
    shared_at: datetime
    status: str  # "accepted" or "pending"


def _last_location_statement():
    pending = select(
        literal(0).label("rank"),
        ReviewItem.payload_encrypted.label("sealed"),
        ReviewItem.created_at.label("at"),
        ReviewItem.id.label("id"),
    ).where(
        ReviewItem.client_id == bindparam("client_id"),
        ReviewItem.kind == "location",
        ReviewItem.status == "pending",
    )
    accepted = select(
        literal(1),
        ClientLocation.details_encrypted,
        ClientLocation.shared_at,
        ClientLocation.id,
    ).where(ClientLocation.client_id == bindparam("client_id"))
    both = union_all(pending, accepted).subquery()
    return (
        select(both.c.rank, both.c.sealed, both.c.at)
        .order_by(both.c.rank, both.c.at.desc(), both.c.id.desc())
        .limit(1)
    )


LAST_LOCATION = _last_location_statement()


def last_location(client: Client) -> SharedLocation | None:
    """The client's own latest location: a pending one first, else the last accepted (one
    statement; the home page reads it within `home.digest`)."""
    return shared_location(read(LAST_LOCATION, client_id=client.id).first())


def shared_location(row) -> SharedLocation | None:
    if row is None or row.rank is None:
        return None
    details = crypto.decrypt_json(row.sealed) if row.sealed else {}
    return SharedLocation(details, row.at, "pending" if row.rank == 0 else "accepted")


def location_for_staff(actor, client: Client) -> SharedLocation | None:
    """Only the client's care team sees where to find them."""
    on_team = dbs().scalar(
        select(CareTeamMember.id).where(
            CareTeamMember.client_id == client.id, CareTeamMember.staff_id == actor.id
        )
    )
    if on_team is None:
        return None
    row = dbs().scalar(
        select(ClientLocation)
        .where(ClientLocation.client_id == client.id)
        .order_by(ClientLocation.shared_at.desc(), ClientLocation.id.desc())
        .limit(1)
    )
    if row is None:
        return None
    return SharedLocation(crypto.decrypt_json(row.details_encrypted), row.shared_at, "accepted")


def prune_locations() -> int:
    """Delete location history older than `location_history_days`, and wipe the payload of
    location review items as old (their status stays for the record of decisions)."""
    cutoff = clock.now() - timedelta(days=current_settings().location_history_days)
    removed = (
        dbs().execute(delete(ClientLocation).where(ClientLocation.shared_at < cutoff)).rowcount
    )
    location_kinds = ("location", "location_correction")
    dbs().execute(
        update(ReviewItem)
        .where(ReviewItem.kind.in_(location_kinds), ReviewItem.created_at < cutoff)
        .values(payload_encrypted="", previous_encrypted=None, reject_note=None)
    )
    dbs().execute(
        update(ReviewItem)
        .where(
            ReviewItem.kind.in_(location_kinds),
            ReviewItem.created_at < cutoff,
            ReviewItem.status == "pending",
        )
        .values(status="withdrawn", decided_at=clock.now(), version=ReviewItem.version + 1)
    )
    return removed


@jobs.handler("locations.prune", every=timedelta(days=1))
def prune_job(payload: dict) -> None:
    prune_locations()


# --- staff requests to the client ------------------------------------------------------


def create_task(actor, client: Client, *, kind: str, due_on: date | None) -> ClientTask:
    if not can(actor, "edit", client):
        raise Forbidden(Capability.EDIT_CLIENTS)
    if kind not in TASK_KINDS:
        raise DomainError(_l("Choose what to ask for."), field="kind")
    if due_on is not None and due_on < actor.agency.today():
        raise DomainError(_l("Choose a date from today on."), field="due_on")
    task = ClientTask(
        client_id=client.id,
        agency_id=actor.agency_id,
        kind=kind,
        due_on=due_on,
        created_by_id=actor.id,
    )
    dbs().add(task)
    dbs().flush()
    audit.record("client_task.created", client, details={"kind": kind, "task": str(task.public_id)})
    return task


TASK_ORDER = (ClientTask.due_on.is_(None), ClientTask.due_on, ClientTask.id)


def open_tasks(client: Client) -> list[ClientTask]:
    return list(
        dbs().scalars(
            select(ClientTask)
            .where(ClientTask.client_id == client.id, ClientTask.status == "open")
            .order_by(*TASK_ORDER)
        )
    )


def complete_tasks(client: Client, kind: str) -> int:
    done = (
        dbs()
        .execute(
            update(ClientTask)
            .where(
                ClientTask.client_id == client.id,
                ClientTask.kind == kind,
                ClientTask.status == "open",
            )
            .values(status="done", done_at=clock.now())
        )
        .rowcount
    )
    if done:
        audit.record("client_task.done", client, details={"kind": kind, "count": done})
    return done


def cancel_task(actor, client: Client, public_id) -> None:
    if not can(actor, "edit", client):
        raise Forbidden(Capability.EDIT_CLIENTS)
    task = dbs().scalar(
        select(ClientTask).where(
            ClientTask.public_id == parse_uuid(public_id), ClientTask.client_id == client.id
        )
    )
    if task is None:  # the id comes from a form: the same answer whether it exists elsewhere
        raise DomainError(_l("This request is not open any more."))
    if task.status == "open":
        task.status = "cancelled"
        task.done_at = clock.now()
        audit.record("client_task.cancelled", client, details={"task": str(task.public_id)})


# --- asking for the record -------------------------------------------------------------


def request_record(account, *, parts: list[str], delivery: str) -> RecordRequest:
    client = client_of(account)
    chosen = sorted({p for p in parts if p in RECORD_PARTS})
    errors = []
    if not chosen:
        errors.append(DomainError(_l("Choose at least one part of your record."), "parts"))
    if delivery not in RECORD_DELIVERY:
        errors.append(DomainError(_l("Choose how you want to get it."), "delivery"))
    if errors:
        raise DomainError.all_of(errors)
    request = RecordRequest(
        client_id=client.id,
        agency_id=client.owning_agency_id,
        parts={"parts": chosen},
        delivery=delivery,
    )
    dbs().add(request)
    dbs().flush()
    for staff in people_to_tell(client):
        if staff.agency_id == client.owning_agency_id and has_capability(
            staff.role, Capability.MANAGE_REQUESTS
        ):
            notifications.notify(staff, "record_requested", link="/staff/record-requests")
    audit.record(
        "record_request.created",
        client,
        actor=account,
        details={"request": str(request.public_id), "parts": chosen, "delivery": delivery},
    )
    return request


def record_requests_of(client: Client) -> list[RecordRequest]:
    return list(
        dbs().scalars(
            select(RecordRequest)
            .where(RecordRequest.client_id == client.id)
            .order_by(RecordRequest.created_at.desc(), RecordRequest.id.desc())
        )
    )


def _record_request_scope(actor):
    if not getattr(actor, "agency_id", None):
        raise Forbidden(Capability.MANAGE_REQUESTS)
    return (
        select(RecordRequest)
        .join(Client, Client.id == RecordRequest.client_id)
        .where(record_request_criteria(actor.agency_id))
    )


def record_request_criteria(agency_id):
    """The rule of the record requests staff see (joined to clients), values or parameters."""
    return and_(RecordRequest.agency_id == agency_id, Client.deleted_at.is_(None))


def open_record_requests(actor) -> list[RecordRequest]:
    return list(
        dbs().scalars(
            _record_request_scope(actor)
            .where(RecordRequest.status == "open")
            .order_by(RecordRequest.created_at, RecordRequest.id)
        )
    )


def open_record_request_count(actor) -> int:
    if not getattr(actor, "agency_id", None):
        return 0
    query = _record_request_scope(actor).where(RecordRequest.status == "open")
    return dbs().scalar(select(func.count()).select_from(query.subquery())) or 0


def fulfil_record_request(actor, public_id) -> RecordRequest:
    request = dbs().scalar(
        _record_request_scope(actor).where(RecordRequest.public_id == parse_uuid(public_id))
    )
    if request is None:  # the id comes from a form: the same answer whether it exists elsewhere
        raise DomainError(_l("This request is not open any more."))
    won = (
        dbs()
        .execute(
            update(RecordRequest)
            .where(RecordRequest.id == request.id, RecordRequest.status == "open")
            .values(status="fulfilled", fulfilled_at=clock.now(), fulfilled_by_id=actor.id)
            .execution_options(synchronize_session=False)
        )
        .rowcount
    )
    if won != 1:
        raise DomainError(_l("This request is already fulfilled."))
    dbs().refresh(request)
    audit.record(
        "record_request.fulfilled", request.client, details={"request": str(request.public_id)}
    )
    return request


# --- corrections -------------------------------------------------------------------------


def correctable(client: Client) -> dict[str, object]:
    """What the client gave through the portal and may ask to correct."""
    fields = {
        name: FIELD_LABELS[name] for name in (client.portal_fields or {}) if name in FIELD_LABELS
    }
    if portal_phones(client):
        fields["phones"] = FIELD_LABELS["phones"]
    has_location = dbs().scalar(
        select(ClientLocation.id).where(ClientLocation.client_id == client.id).limit(1)
    )
    if has_location:
        fields["location"] = FIELD_LABELS["location"]
    return fields


def request_correction(account, *, field: str, text: str) -> ReviewItem:
    client = client_of(account)
    if field not in correctable(client):
        raise DomainError(
            _l(
                "Your agency entered this information, so it cannot be changed from the portal. "
                "Your case manager can correct it with you."
            ),
            field="field",
        )
    text = clean_text(text, field="text", max_length=500, message=_l("Say what should change."))
    kind = "location_correction" if field == "location" else "correction"
    item = submit(account, client, kind, {"field": field, "text": text})
    record_contact(client, "portal_update")
    return item


# --- review kinds ------------------------------------------------------------------------


def _apply_phones(client: Client, payload: dict, item: ReviewItem) -> None:
    dbs().execute(
        delete(ClientPhone).where(
            ClientPhone.client_id == client.id, ClientPhone.source == "portal"
        )
    )
    for phone in payload["phones"]:
        dbs().add(
            ClientPhone(client_id=client.id, source="portal", review_item_id=item.id, **phone)
        )
    mark_portal_field(client, "phones", item)


def _apply_email(client: Client, payload: dict, item: ReviewItem) -> None:
    client.email = payload["email"]
    mark_portal_field(client, "email", item)


def _apply_address(client: Client, payload: dict, item: ReviewItem) -> None:
    for name in ADDRESS_FIELDS:
        setattr(client, name, payload.get(name))
    mark_portal_field(client, "address", item)


def _apply_method(client: Client, payload: dict, item: ReviewItem) -> None:
    client.preferred_contact = payload["method"]
    mark_portal_field(client, "preferred_contact", item)


def _apply_location(client: Client, payload: dict, item: ReviewItem) -> None:
    dbs().add(
        ClientLocation(
            client_id=client.id,
            details_encrypted=crypto.encrypt_json(payload),
            shared_at=item.created_at,
            review_item_id=item.id,
        )
    )


def _apply_nothing(client: Client, payload: dict, item: ReviewItem) -> None:
    """A correction is done by staff on the record; accepting it tells the client so."""


def _clean_email_edit(values: dict) -> dict:
    return {"email": clean_email(values.get("email")).lower()}


def _clean_address_edit(values: dict) -> dict:
    errors: list[DomainError] = []
    address = _clean_address(values, errors)
    if errors:
        raise DomainError.all_of(errors)
    return address


def _clean_method_edit(values: dict) -> dict:
    if values.get("method") not in CONTACT_METHODS:
        raise DomainError(_l("Choose how the client wants to be reached."), field="method")
    return {"method": values["method"]}


def describe_phone(phone: dict) -> str:
    flags = []
    if phone.get("voicemail_ok"):
        flags.append(str(_l("voicemail OK")))
    else:
        flags.append(str(_l("no voicemail")))
    flags.append(str(_l("texts OK")) if phone.get("text_ok") else str(_l("no texts")))
    kind = PHONE_KINDS.get(phone.get("kind"), phone.get("kind"))
    return f"{kind}: {show_phone(phone['number'])} ({', '.join(flags)})"


def _last_accepted_location(client: Client) -> dict:
    row = dbs().scalar(
        select(ClientLocation)
        .where(ClientLocation.client_id == client.id)
        .order_by(ClientLocation.shared_at.desc(), ClientLocation.id.desc())
        .limit(1)
    )
    return crypto.decrypt_json(row.details_encrypted) if row is not None else {}


def describe_address(values: dict) -> str:
    parts = [values.get(n) for n in ("address_line1", "address_line2", "city")]
    tail = " ".join(p for p in (values.get("state"), values.get("postal_code")) if p)
    return ", ".join(p for p in [*parts, tail] if p) or "–"


def describe_location(values: dict) -> list[tuple[object, str]]:
    if not values:
        return [(_l("Where"), "–")]
    lines = [(_l("Kind of place"), str(PLACE_KINDS.get(values.get("place_kind"), "–")))]
    if values.get("place"):
        lines.append((_l("Shelter name or landmark"), values["place"]))
    if values.get("times"):
        lines.append((_l("Usual times"), values["times"]))
    if values.get("lat") is not None:
        lines.append(
            (_l("Shared location (about 100 m)"), f"{values['lat']:.3f}, {values['lon']:.3f}")
        )
    return lines


# What a client can send for review through self-service (installed by the feature list).
REVIEW_KINDS: dict[str, ReviewKind] = {}
REVIEW_KINDS["phones"] = ReviewKind(
    label=FIELD_LABELS["phones"],
    apply=_apply_phones,
    snapshot=lambda client: {"phones": _phones_of(client)},
    describe=lambda v: (
        [(_l("Phone"), describe_phone(p)) for p in v.get("phones", [])] or [(_l("Phone"), "–")]
    ),
)
REVIEW_KINDS["contact_email"] = ReviewKind(
    label=FIELD_LABELS["email"],
    apply=_apply_email,
    snapshot=lambda client: {"email": client.email},
    describe=lambda v: [(_l("Email"), v.get("email") or "–")],
    clean=_clean_email_edit,
)
REVIEW_KINDS["address"] = ReviewKind(
    label=FIELD_LABELS["address"],
    apply=_apply_address,
    snapshot=_address_of,
    describe=lambda v: [(_l("Address"), describe_address(v))],
    clean=_clean_address_edit,
)
REVIEW_KINDS["preferred_contact"] = ReviewKind(
    label=FIELD_LABELS["preferred_contact"],
    apply=_apply_method,
    snapshot=lambda client: {"method": client.preferred_contact},
    describe=lambda v: [(_l("Best way"), str(CONTACT_METHODS.get(v.get("method"), "–")))],
    clean=_clean_method_edit,
)
REVIEW_KINDS["location"] = ReviewKind(
    label=FIELD_LABELS["location"],
    apply=_apply_location,
    snapshot=_last_accepted_location,
    describe=describe_location,
    care_team_only=True,
)


def _describe_correction(values: dict) -> list[tuple[object, str]]:
    return [
        (_l("About"), str(FIELD_LABELS.get(values.get("field"), values.get("field") or "–"))),
        (_l("What should change"), values.get("text") or "–"),
    ]


REVIEW_KINDS["correction"] = ReviewKind(
    label=_l("Correction request"),
    apply=_apply_nothing,
    snapshot=lambda client: {},
    describe=_describe_correction,
    changes_record=False,
)
# A correction about where to find someone may itself say where they are: care team only,
# pruned like locations.
REVIEW_KINDS["location_correction"] = ReviewKind(
    label=_l("Correction to where to find me"),
    apply=_apply_nothing,
    snapshot=lambda client: {},
    describe=_describe_correction,
    care_team_only=True,
    changes_record=False,
)
