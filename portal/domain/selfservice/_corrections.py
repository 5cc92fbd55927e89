"""Corrections: the client says what in their record is wrong, in their own words."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.domain.core.errors import DomainError
from portal.domain.core.session import dbs
from portal.domain.core.validation import (
    clean_text,
)
from portal.domain.models import (
    Client,
    ClientLocation,
    ReviewItem,
)
from portal.domain.records.access_policy import client_of
from portal.domain.records.coordinated_entry import record_contact
from portal.domain.selfservice._details import portal_phones
from portal.domain.selfservice._vocabulary import FIELD_LABELS
from portal.domain.selfservice.review import (
    submit,
)

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
