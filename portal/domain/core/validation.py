"""Input cleaning shared by services: plain, translated messages that say what to do."""

from __future__ import annotations

import re
import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from portal.domain.core.errors import DomainError
from portal.settings import current as current_settings

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean_text(
    value: str | None, *, field: str, max_length: int, required: bool = True, message=None
) -> str:
    value = unicodedata.normalize("NFC", value or "")
    value = " ".join(_CONTROL.sub(" ", value).split())
    if required and not value:
        raise DomainError(message or _l("Enter a value."), field=field)
    if len(value) > max_length:
        raise DomainError(_l("Use %(count)s characters or fewer.", count=max_length), field=field)
    return value


def clean_name(value: str | None, *, field: str = "name", max_length: int = 50) -> str:
    return clean_text(value, field=field, max_length=max_length, message=_l("Enter a name."))


def clean_email(value: str | None, *, field: str = "email") -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(_l("Enter an email address."), field=field)
    if len(value) > 254 or _CONTROL.search(value):
        raise DomainError(_l("Enter an email address like name@example.org."), field=field)
    try:
        # Outside production, reserved test domains (.test, .example) are allowed for demo data.
        result = validate_email(
            value, check_deliverability=False, test_environment=not current_settings().is_production
        )
    except EmailNotValidError:
        raise DomainError(
            _l("Enter an email address like name@example.org."), field=field
        ) from None
    return result.normalized.lower()


def clean_timezone(value: str | None, *, field: str = "timezone") -> str:
    value = (value or "").strip()
    try:
        if value not in available_timezones():
            raise ZoneInfoNotFoundError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(_l("Choose a time zone from the list."), field=field) from None
    return value


def date_from_parts(day: str | None, month: str | None, year: str | None, *, field: str):
    """A date from the three memorable-date inputs; None when all three are empty."""
    from datetime import date

    parts = [(p or "").strip() for p in (day, month, year)]
    if not any(parts):
        return None
    if not all(p.isdecimal() and p.isascii() for p in parts) or len(parts[2]) != 4:
        raise DomainError(_l("Enter a real date, with the year as 4 digits."), field=field)
    try:
        return date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        raise DomainError(
            _l("Enter a real date, with the year as 4 digits."), field=field
        ) from None


def is_zip(value: str) -> bool:
    head, _, tail = value.partition("-")
    return (
        value.isascii()
        and len(head) == 5
        and head.isdigit()
        and (not tail or (len(tail) == 4 and tail.isdigit()))
    )


def clean_state(value: str | None, *, field: str = "state") -> str | None:
    state = clean_text(value, field=field, max_length=40, required=False).upper()
    if state and not (state.isascii() and state.isalpha() and len(state) == 2):
        raise DomainError(_l("Enter the state as 2 letters, like CA."), field=field)
    return state or None


def clean_zip(value: str | None, *, field: str = "postal_code") -> str | None:
    postal = clean_text(value, field=field, max_length=10, required=False)
    if postal and not is_zip(postal):
        raise DomainError(_l("Enter a ZIP code, like 94110 or 94110-1234."), field=field)
    return postal or None


def clean_phone(value: str | None, *, field: str = "phone", region: str = "US") -> str:
    """A phone number as E.164 (+14155550123), parsed with Google's libphonenumber data."""
    import phonenumbers

    text = clean_text(value, field=field, max_length=40, message=_l("Enter a phone number."))
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise DomainError(_l("Enter a phone number we can call, like (415) 555-0123."), field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def show_phone(e164: str) -> str:
    """How a stored number reads: national format at home, international otherwise."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


# Code points that can never appear in an HTML page (controls, surrogates, noncharacters).
_UNSHOWABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"\\U{plane:04x}fffe\\U{plane:04x}ffff" for plane in range(17))
    + "]"
)


def strip_unshowable(value):
    """Drop what cannot be stored as text or shown again in a page; keep everything else."""
    return _UNSHOWABLE.sub("", value) if isinstance(value, str) else value


def parse_uuid(value):
    """A public id from a URL or a form, or None: the one parser every lookup uses."""
    from uuid import UUID

    try:
        return UUID(str(value))
    except ValueError:
        return None


def small_int(value) -> int | None:
    """A row id or a count from a query string or a form: plain ASCII digits, at most 9 of
    them (no overflow, no "²"), else None."""
    text = str(value if value is not None else "")
    if not (text.isascii() and text.isdecimal()) or len(text) > 9:
        return None
    return int(text)
