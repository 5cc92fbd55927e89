"""Consent to texts: a client (on My account) or staff with the client present pick one of the
record's phones marked "texts OK"; a code is texted to it; typing it back confirms the number.

A confirmed number keeps working while a new one waits for its code. A client can turn texts
off, and choose whether texts may name the agency (off by default: phones are shared).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from portal.domain.core import audit, clock, crypto
from portal.domain.core.errors import DomainError
from portal.domain.core.session import dbs, get_or_create
from portal.domain.models import (
    Agency,
    Client,
    ClientPhone,
    StaffUser,
    TextConsent,
    TextMessage,
    TextNumber,
)
from portal.domain.texting._outbox import account_for, enabled, number_state, queue_text

CODE_VALID_FOR = timedelta(minutes=15)
CODE_TRIES = 5
CODES_PER_HOUR = 3  # to one phone, whoever asks (a code is a text someone pays for)


def consent_of(client: Client) -> TextConsent | None:
    return dbs().scalar(select(TextConsent).where(TextConsent.client_id == client.id))


def textable_phones(client: Client) -> list[ClientPhone]:
    """The record's phones a code may be sent to: those marked "texts OK"."""
    return list(
        dbs().scalars(
            select(ClientPhone)
            .where(ClientPhone.client_id == client.id, ClientPhone.text_ok.is_(True))
            .order_by(ClientPhone.id)
        )
    )


def start(
    client: Client,
    phone_public_id: str,
    *,
    agency: Agency,
    staff: StaffUser | None = None,
) -> TextConsent:
    """Text a code to one of the client's "texts OK" phones, in the language of the client's
    account (else the record's)."""
    if not enabled():
        raise DomainError(_l("Texts are not available here yet."))
    phone = next(
        (p for p in textable_phones(client) if str(p.public_id) == (phone_public_id or "")), None
    )
    if phone is None:
        raise DomainError(_l("Choose a phone that gets texts."), field="phone")
    state = number_state(phone.number)
    if state is not None and state.stopped_at is not None:
        raise DomainError(
            _l(
                "This phone asked for no more texts. "
                "Text START from it to our number, then try again."
            ),
            field="phone",
        )
    recent = dbs().scalar(
        select(func.count(TextMessage.id)).where(
            TextMessage.to_number == phone.number,
            TextMessage.kind == "code",
            TextMessage.created_at > clock.now() - timedelta(hours=1),
        )
    )
    if (recent or 0) >= CODES_PER_HOUR:
        raise DomainError(
            _l("We sent several codes to this phone already. Wait an hour, then try again."),
            field="phone",
        )
    consent = get_or_create(lambda: consent_of(client), lambda: _new_consent(client, phone.number))
    code = f"{secrets.randbelow(10**6):06d}"
    consent.pending_number = phone.number
    consent.code_hmac = crypto.keyed_hash("text_consent", f"{client.id}:{phone.number}:{code}")
    consent.code_expires_at = clock.now() + CODE_VALID_FOR
    consent.code_attempts = 0
    dbs().flush()
    queue_text(
        "code",
        number=phone.number,
        language=_language_of(client),
        client_id=client.id,
        agency=agency,
        secret_params={"code": code},
    )
    audit.record(
        "texts.code_sent",
        client,
        actor=staff,
        details={"by": "staff" if staff is not None else "client"},
    )
    return consent


def _language_of(client: Client) -> str:
    account = account_for(client.id)
    return (account.preferred_language if account else client.preferred_language) or "en"


def _new_consent(client: Client, number: str) -> TextConsent:
    consent = TextConsent(client_id=client.id, number=number)
    dbs().add(consent)
    dbs().flush()
    return consent


def confirm(client: Client, code: str, *, staff: StaffUser | None = None) -> TextConsent:
    consent = consent_of(client)
    if consent is None or not consent.pending_number or not consent.code_hmac:
        raise DomainError(_l("There is no code waiting. Send a new one."), field="code")
    expired = consent.code_expires_at is None or consent.code_expires_at <= clock.now()
    if expired or consent.code_attempts >= CODE_TRIES:
        raise DomainError(_l("This code no longer works. Send a new one."), field="code")
    typed = "".join(ch for ch in (code or "") if ch.isascii() and ch.isdigit())
    expected = crypto.keyed_hash("text_consent", f"{client.id}:{consent.pending_number}:{typed}")
    if not secrets.compare_digest(expected, consent.code_hmac):
        left = CODE_TRIES - consent.code_attempts - 1
        consent_id = consent.id

        def count_it() -> None:  # kept although the request rolls back; atomic for parallel tries
            dbs().execute(
                update(TextConsent)
                .where(TextConsent.id == consent_id)
                .values(code_attempts=TextConsent.code_attempts + 1)
            )
            audit.record("texts.code_wrong", client, actor=staff, outcome="failure")

        message = (
            _l("This code is not right. You have %(count)s tries left.", count=left)
            if left > 0
            else _l("This code no longer works. Send a new one.")
        )
        raise DomainError(message, field="code", after_rollback=count_it)
    consent.number = consent.pending_number
    consent.confirmed_at = clock.now()
    consent.confirmed_by_staff_id = staff.id if staff is not None else None
    consent.pending_number = None
    consent.code_hmac = None
    consent.code_expires_at = None
    state = number_state(consent.number)
    if state is not None and state.bounced_at is not None:
        state.bounced_at = None  # the code arrived: the number works again
        state.bounce_reason = None
    audit.record(
        "texts.confirmed",
        client,
        actor=staff,
        details={"by": "staff" if staff is not None else "client"},
    )
    return consent


def turn_off(client: Client, *, staff: StaffUser | None = None) -> bool:
    """No more texts to this client (their notices go by email as they chose)."""
    consent = consent_of(client)
    if consent is None or (consent.confirmed_at is None and not consent.pending_number):
        return False
    consent.confirmed_at = None
    consent.pending_number = None
    consent.code_hmac = None
    consent.code_expires_at = None
    audit.record("texts.turned_off", client, actor=staff)
    return True


def set_details(client: Client, allow: bool) -> None:
    consent = consent_of(client)
    if consent is None or consent.confirmed_at is None:
        raise DomainError(_l("Confirm your phone number first."), field="allow_details")
    if consent.allow_details != allow:
        consent.allow_details = allow
        audit.record("texts.details_changed", client, details={"allow": allow})


def state_of(client: Client) -> dict:
    """What the texts settings and the staff record show: the confirmed number, a number
    waiting for its code, STOP and bounces."""
    consent = consent_of(client)
    number = consent.number if consent is not None and consent.confirmed_at else None
    numbers = [n for n in (number, consent.pending_number if consent else None) if n]
    states = (
        {
            s.number: s
            for s in dbs().scalars(select(TextNumber).where(TextNumber.number.in_(numbers)))
        }
        if numbers
        else {}
    )
    current = states.get(number) if number else None
    return {
        "enabled": enabled(),
        "consent": consent,
        "number": number,
        "pending": consent.pending_number if consent is not None else None,
        "stopped_at": current.stopped_at if current is not None else None,
        "bounced_at": current.bounced_at if current is not None else None,
        "bounce_reason": current.bounce_reason if current is not None else None,
    }
