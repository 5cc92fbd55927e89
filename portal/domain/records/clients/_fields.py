"""A client's identity and contact fields: cleaned, checked (HUD data quality), saved."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l

from portal.domain.core import audit, crypto
from portal.domain.core.errors import DomainError, Forbidden
from portal.domain.core.roles import Capability, has_capability
from portal.domain.core.session import dbs
from portal.domain.core.validation import (
    clean_email,
    clean_state,
    clean_text,
    clean_zip,
)
from portal.domain.models import (
    Client,
)
from portal.domain.records import ssn
from portal.domain.records.access_policy import can
from portal.domain.records.clients._lists import DOB_QUALITY, NAME_QUALITY

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
    values: dict[str, Any] = {
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
    current_ssn = crypto.decrypt_text(client.ssn_encrypted) if client.ssn_encrypted else None
    typed = fields.ssn or ""
    if current_ssn and typed.strip() == ssn.masked(current_ssn):
        typed = current_ssn  # the form showed the last four (R63) and it came back as shown
    # "Client prefers not to answer" is a refusal: every digit becomes X (product rules).
    parsed = ssn.parse_ssn(typed, quality=quality, consent_refused=quality == 9)
    if parsed.warnings and not fields.ssn_confirmed:
        raise SsnNeedsConfirmation(parsed.warnings)
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
        # A form shows the last four only (R63); sent back as shown, the number is kept.
        ssn=ssn.masked(crypto.decrypt_text(client.ssn_encrypted)) if client.ssn_encrypted else "",
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
