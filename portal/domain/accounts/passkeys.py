"""Passkeys (WebAuthn) as a staff second factor (issue 19), through py_webauthn.

- The relying party is the portal's own address (`BASE_URL`): its host name is the RP ID and its
  scheme, host and port the only origin accepted. An IP address cannot be an RP ID, so at such
  an address (the demo's default 127.0.0.1) passkeys are not offered; the app always is.
- User verification is required (the device's PIN, fingerprint or face), so a passkey is a
  second factor on its own right, after the password.
- Several per person, each named by them; a passkey answers only for the person who added it
  (another account's passkey is refused, however valid its signature).
- The challenge of each ceremony is made here and kept by the web layer in the server-side
  session, used once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from portal.domain.accounts import factors
from portal.domain.core import audit, clock
from portal.domain.core.errors import DomainError
from portal.domain.core.session import changed, dbs, will_write
from portal.domain.core.statuses import FactorKind
from portal.domain.core.validation import clean_text
from portal.domain.models import StaffFactor, StaffUser
from portal.settings import current as current_settings

RP_NAME = "HMIS client portal"
DEFAULT_NAME = "Passkey"
NOT_ADDED = _l("The passkey was not added. Try again, or use an authenticator app.")
# What can go wrong reading a browser's answer: py_webauthn's own errors, malformed JSON, and
# JSON nested past Python's recursion limit (answers over MAX_ANSWER are not read at all).
_UNREADABLE = (WebAuthnException, ValueError, KeyError, TypeError, RecursionError)
MAX_ANSWER = 16_384  # a real answer is 1 to 3 KB


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str


def relying_party() -> RelyingParty | None:
    """The portal as a WebAuthn relying party, or None where it cannot be one (an IP address)."""
    party = current_settings().passkey_party
    return RelyingParty(*party) if party else None


def passkeys_of(member: StaffUser) -> list[StaffFactor]:
    return factors.confirmed(member, FactorKind.PASSKEY)


def _descriptors(member: StaffUser) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=f.credential_id)
        for f in passkeys_of(member)
        if f.credential_id is not None
    ]


def _party() -> RelyingParty:
    rp = relying_party()
    if rp is None:
        raise DomainError(
            _l("Passkeys work only when the portal has a web address with a name, not a number.")
        )
    return rp


# --- adding one -------------------------------------------------------------------------------


def registration_options(member: StaffUser) -> tuple[str, bytes]:
    """The options the browser's `navigator.credentials.create` takes (JSON), and their
    challenge (the caller keeps it for `register`)."""
    rp = _party()
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=RP_NAME,
        user_name=member.email,
        user_id=member.public_id.bytes,
        user_display_name=member.display_name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(member),
    )
    return options_to_json(options), options.challenge


def register(member: StaffUser, answer: str, challenge: bytes | None, name: str) -> list[str]:
    """Add the passkey the browser made. Returns new recovery codes when the person had none
    left (shown once), else []."""
    rp = _party()
    label = clean_text(name, field="name", max_length=60, required=False) or DEFAULT_NAME
    if challenge is None or len(answer or "") > MAX_ANSWER:
        raise DomainError(NOT_ADDED)
    try:
        verified = verify_registration_response(
            credential=answer,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except _UNREADABLE as error:
        raise DomainError(NOT_ADDED) from error
    will_write()
    factor = StaffFactor(
        staff_id=member.id,
        kind=FactorKind.PASSKEY,
        name=label,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        confirmed_at=clock.now(),
    )
    try:
        with dbs().begin_nested():
            dbs().add(factor)
    except IntegrityError as error:  # this passkey is on an account already
        raise DomainError(_l("This passkey is added already.")) from error
    audit.record("second_factor.enrolled", member, details={"kind": FactorKind.PASSKEY})
    return factors.new_recovery_codes(member) if factors.recovery_codes_left(member) == 0 else []


# --- signing in with one -----------------------------------------------------------------------


def authentication_options(member: StaffUser) -> tuple[str, bytes] | None:
    """The options of `navigator.credentials.get` for the person's own passkeys (JSON) and
    their challenge; None when they have none or the portal cannot use passkeys."""
    rp = relying_party()
    descriptors = _descriptors(member) if rp is not None else []
    if rp is None or not descriptors:
        return None
    options = generate_authentication_options(
        rp_id=rp.id,
        allow_credentials=descriptors,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json(options), options.challenge


def use_passkey(member: StaffUser, answer: str, challenge: bytes | None) -> bool:
    """Whether `answer` is a valid assertion, for `challenge`, by one of `member`'s own
    passkeys (with user verification). The counter moves on (a compare-and-set)."""
    rp = relying_party()
    if rp is None or challenge is None or len(answer or "") > MAX_ANSWER:
        return False
    try:
        credential_id = base64url_to_bytes(json.loads(answer)["rawId"])
    except (*_UNREADABLE, AttributeError):
        return False
    factor = dbs().scalar(
        select(StaffFactor).where(
            StaffFactor.staff_id == member.id,
            StaffFactor.kind == FactorKind.PASSKEY,
            StaffFactor.credential_id == credential_id,
            StaffFactor.confirmed_at.is_not(None),
        )
    )
    if factor is None or factor.public_key is None:
        return False
    try:
        verified = verify_authentication_response(
            credential=answer,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=factor.public_key,
            credential_current_sign_count=factor.sign_count,
            require_user_verification=True,
        )
    except _UNREADABLE:
        return False
    will_write()
    won = changed(
        update(StaffFactor)
        .where(StaffFactor.id == factor.id, StaffFactor.sign_count == factor.sign_count)
        .values(sign_count=verified.new_sign_count, last_used_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return won == 1
