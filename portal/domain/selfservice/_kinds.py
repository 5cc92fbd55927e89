"""The review kinds of self-service: how each change is described, edited and applied."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from portal.domain.core import crypto
from portal.domain.core.errors import DomainError
from portal.domain.core.session import dbs
from portal.domain.core.validation import (
    clean_email,
    show_phone,
)
from portal.domain.models import (
    Client,
    ClientLocation,
    ClientPhone,
    ReviewItem,
)
from portal.domain.selfservice._details import _address_of, _clean_address, _phones_of
from portal.domain.selfservice._vocabulary import (
    ADDRESS_FIELDS,
    CONTACT_METHODS,
    FIELD_LABELS,
    PHONE_KINDS,
    PLACE_KINDS,
)
from portal.domain.selfservice.review import (
    ReviewKind,
    mark_portal_field,
)

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
    kind = phone.get("kind") or ""
    kind = PHONE_KINDS.get(kind, kind)
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
    lines = [(_l("Kind of place"), str(PLACE_KINDS.get(values.get("place_kind") or "", "–")))]
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
    to_hmis=True,
)
REVIEW_KINDS["contact_email"] = ReviewKind(
    label=FIELD_LABELS["email"],
    apply=_apply_email,
    snapshot=lambda client: {"email": client.email},
    describe=lambda v: [(_l("Email"), v.get("email") or "–")],
    clean=_clean_email_edit,
    to_hmis=True,
)
REVIEW_KINDS["address"] = ReviewKind(
    label=FIELD_LABELS["address"],
    apply=_apply_address,
    snapshot=_address_of,
    describe=lambda v: [(_l("Address"), describe_address(v))],
    clean=_clean_address_edit,
    to_hmis=True,
)
REVIEW_KINDS["preferred_contact"] = ReviewKind(
    label=FIELD_LABELS["preferred_contact"],
    apply=_apply_method,
    snapshot=lambda client: {"method": client.preferred_contact},
    describe=lambda v: [(_l("Best way"), str(CONTACT_METHODS.get(v.get("method") or "", "–")))],
    clean=_clean_method_edit,
    to_hmis=True,
)
REVIEW_KINDS["location"] = ReviewKind(
    label=FIELD_LABELS["location"],
    apply=_apply_location,
    snapshot=_last_accepted_location,
    describe=describe_location,
    care_team_only=True,
    to_hmis=True,
)


def _describe_correction(values: dict) -> list[tuple[object, str]]:
    field = values.get("field") or ""
    return [
        (_l("About"), str(FIELD_LABELS.get(field, field or "–"))),
        (_l("What should change"), values.get("text") or "–"),
    ]


REVIEW_KINDS["correction"] = ReviewKind(
    label=_l("Correction request"),
    apply=_apply_nothing,
    snapshot=lambda client: {},
    describe=_describe_correction,
    changes_record=False,
    to_hmis=True,
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
    to_hmis=True,
)
