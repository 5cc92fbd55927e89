"""What the client keeps up to date: check-in, and contact details (phones, email, mailing
address, the best way to reach them), sent to the review queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select

from portal.domain.core import audit
from portal.domain.core.errors import DomainError
from portal.domain.core.session import dbs, read
from portal.domain.core.validation import (
    clean_email,
    clean_phone,
    clean_state,
    clean_text,
    clean_zip,
)
from portal.domain.models import (
    Client,
    ClientPhone,
    ContactEvent,
    ReviewItem,
)
from portal.domain.records.access_policy import client_of
from portal.domain.records.coordinated_entry import record_contact
from portal.domain.selfservice._tasks import complete_tasks
from portal.domain.selfservice._to_hmis import record_for_hmis
from portal.domain.selfservice._vocabulary import (
    ADDRESS_FIELDS,
    CONTACT_METHODS,
    MAX_PHONES,
    NOTHING_CHANGED,
    PHONE_KINDS,
)
from portal.domain.selfservice.review import (
    latest_pending,
    payload_of,
    submit,
)

# --- contact with the care team --------------------------------------------------------


def check_in(account) -> None:
    client = client_of(account)
    event = record_contact(client, "check_in")
    dbs().flush()  # the event's id, for the HMIS worklist
    record_for_hmis(client, "check_in", {}, occurred_at=event.created_at, contact_event=event)
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
    changes: list[tuple[str, dict[str, Any]]] = []
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
