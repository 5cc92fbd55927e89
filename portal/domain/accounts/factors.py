"""Staff second factors (issue 19, R20): an authenticator app (TOTP) and ten single-use
recovery codes.

- A factor counts once confirmed: enrolment ends with a code from the app, so a key that was
  shown but never saved in an app cannot lock anyone out.
- A TOTP code is good for one step either side of now (30 s each), and once: the newest step
  used is kept per factor and a code at or before it is refused (a compare-and-set, so the same
  code sent twice at once is accepted once).
- Recovery codes (10 characters of an unambiguous alphabet, grouped 5-5) are stored as keyed
  hashes, shown once, and each works once (compare-and-set).
- Who needs one: system and agency administrators always; case managers unless their agency
  turned the requirement off (it is on by default).
- The demo's staff are enrolled with `DEMO_TOTP_KEY`, which the README prints so a newcomer can
  sign in without an app; in production a factor with that key is never accepted.

Wrong codes at sign-in count like wrong passwords (the account's throttle, R16): see
`signin.finish_second_factor`. This module checks and writes factors; it counts nothing.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from dataclasses import dataclass

import pyotp
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update

from portal.domain.core import audit, clock, crypto
from portal.domain.core.errors import DomainError, NotFound
from portal.domain.core.roles import Role
from portal.domain.core.session import changed, dbs, lock_row, will_write
from portal.domain.core.statuses import FactorKind
from portal.domain.core.validation import parse_uuid
from portal.domain.models import RecoveryCode, StaffFactor, StaffUser
from portal.settings import current as current_settings

log = logging.getLogger("portal.auth")

ISSUER = "HMIS client portal"
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
RECOVERY_LENGTH = 10
# Base32 (A-Z, 2-7), 160 bits like any other key; printed in the README for the demo only.
DEMO_TOTP_KEY = "HARBORLANTERNDEMOKEYQUIETLYSEVEN"
ALWAYS_REQUIRED = (Role.SYSTEM_ADMIN, Role.AGENCY_ADMIN)
TOTP_NAME = "Authenticator app"  # stored; pages show it translated by kind

WRONG_CODE = _l("That code is not right. Type the 6 digits your app shows now.")


def required(member: StaffUser) -> bool:
    """Whether `member` may not sign in without a second factor. An account with no
    password (made by single sign-on) always needs one: re-authentication before sensitive
    actions asks for it."""
    if member.role in ALWAYS_REQUIRED or member.agency is None or member.password_hash is None:
        return True
    return member.agency.require_second_factor


def confirmed(member: StaffUser, kind: FactorKind | None = None) -> list[StaffFactor]:
    """The person's set-up factors (of one `kind`, or all), oldest first."""
    query = (
        select(StaffFactor)
        .where(StaffFactor.staff_id == member.id, StaffFactor.confirmed_at.is_not(None))
        .order_by(StaffFactor.id)
    )
    if kind is not None:
        query = query.where(StaffFactor.kind == kind)
    return list(dbs().scalars(query))


def has_factor(member: StaffUser) -> bool:
    found = dbs().scalar(
        select(StaffFactor.id)
        .where(StaffFactor.staff_id == member.id, StaffFactor.confirmed_at.is_not(None))
        .limit(1)
    )
    return found is not None


def next_step(member: StaffUser) -> str | None:
    """What a sign-in with the right password still needs: "code" (a factor is enrolled),
    "enrol" (one is required and there is none yet), or None."""
    if has_factor(member):
        return "code"
    return "enrol" if required(member) else None


# --- enrolling an authenticator app ----------------------------------------------------------


@dataclass(frozen=True)
class TotpSetup:
    factor_id: str  # the unconfirmed factor's public id, sent back with the first code
    key: str
    uri: str  # otpauth:// for the QR code

    @property
    def key_groups(self) -> str:
        """The key in groups of four, for typing it into an app by hand."""
        return " ".join(self.key[i : i + 4] for i in range(0, len(self.key), 4))


def start_totp(member: StaffUser, *, key: str | None = None) -> TotpSetup:
    """A new key for an authenticator app, kept unconfirmed until a code from it comes back
    (`confirm_totp`). Starting again replaces an unconfirmed key; a confirmed one stays until
    the new one is confirmed."""
    will_write()
    dbs().execute(
        delete(StaffFactor).where(
            StaffFactor.staff_id == member.id,
            StaffFactor.kind == FactorKind.TOTP,
            StaffFactor.confirmed_at.is_(None),
        )
    )
    key = key or pyotp.random_base32(32)
    factor = StaffFactor(
        staff_id=member.id,
        kind=FactorKind.TOTP,
        name=TOTP_NAME,
        secret_encrypted=crypto.encrypt_text(key),
    )
    dbs().add(factor)
    dbs().flush()
    uri = pyotp.TOTP(key).provisioning_uri(name=member.email, issuer_name=ISSUER)
    return TotpSetup(str(factor.public_id), key, uri)


def current_setup(member: StaffUser, kept: str | None) -> TotpSetup:
    """The set-up this browser started and has not finished (`kept`: its id, which the browser's
    session keeps), so a reloaded page shows the key the app may have scanned already; else a
    new one. A set-up another browser started is never shown here: its key is theirs."""
    again = setup_again(member, kept) if kept else None
    return again or start_totp(member)


def setup_again(member: StaffUser, factor_id: str) -> TotpSetup | None:
    """The unconfirmed setup `factor_id` of `member` (to show its QR code again after a wrong
    code), or None when it is gone."""
    factor = _unconfirmed(member, factor_id)
    if factor is None or factor.secret_encrypted is None:
        return None
    key = crypto.decrypt_text(factor.secret_encrypted)
    uri = pyotp.TOTP(key).provisioning_uri(name=member.email, issuer_name=ISSUER)
    return TotpSetup(str(factor.public_id), key, uri)


def confirm_totp(member: StaffUser, factor_id: str, code: str) -> list[str]:
    """Finish enrolling the app with a code it shows. Returns new recovery codes when the
    person had none left (shown once), else []. The app replaces an earlier one."""
    factor = _unconfirmed(member, factor_id)
    if factor is None or factor.secret_encrypted is None:
        raise DomainError(_l("This set-up has ended. Start again."))
    step = _matching_step(crypto.decrypt_text(factor.secret_encrypted), code)
    if step is None:
        raise DomainError(WRONG_CODE, field="code")
    now = clock.now()
    won = changed(
        update(StaffFactor)
        .where(StaffFactor.id == factor.id, StaffFactor.confirmed_at.is_(None))
        .values(confirmed_at=now, last_step=step, last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if won != 1:
        raise DomainError(_l("This set-up has ended. Start again."))
    dbs().execute(
        delete(StaffFactor).where(
            StaffFactor.staff_id == member.id,
            StaffFactor.kind == FactorKind.TOTP,
            StaffFactor.id != factor.id,
        )
    )
    dbs().refresh(factor)
    audit.record("second_factor.enrolled", member, details={"kind": FactorKind.TOTP})
    return new_recovery_codes(member) if recovery_codes_left(member) == 0 else []


def _unconfirmed(member: StaffUser, factor_id: str) -> StaffFactor | None:
    wanted = parse_uuid(factor_id)
    if wanted is None:
        return None
    return dbs().scalar(
        select(StaffFactor).where(
            StaffFactor.staff_id == member.id,
            StaffFactor.public_id == wanted,
            StaffFactor.confirmed_at.is_(None),
        )
    )


def _matching_step(key: str, code: str) -> int | None:
    """The time step (now, one before or one after) whose code is `code`, or None."""
    digits = (code or "").replace(" ", "")
    if not re.fullmatch(r"[0-9]{6}", digits):  # ASCII digits only (compare_digest needs ASCII)
        return None
    totp = pyotp.TOTP(key)
    now_step = totp.timecode(clock.now())
    for step in (now_step, now_step - 1, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def enrol_demo_app(member: StaffUser) -> None:
    """The demo's staff get an app with `DEMO_TOTP_KEY`, ready to use (never in production:
    the demo command refuses to run there, and sign-in refuses that key there)."""
    if current_settings().is_production:
        raise RuntimeError("the demo's authenticator key is never enrolled in production")
    if has_factor(member):
        return
    dbs().add(
        StaffFactor(
            staff_id=member.id,
            kind=FactorKind.TOTP,
            name=TOTP_NAME,
            secret_encrypted=crypto.encrypt_text(DEMO_TOTP_KEY),
            confirmed_at=clock.now(),
        )
    )


def demo_code() -> str:
    """What an app with the demo's key shows now."""
    return pyotp.TOTP(DEMO_TOTP_KEY).at(clock.now())


# --- using a factor ------------------------------------------------------------------------------


def use_code(member: StaffUser, code: str) -> FactorKind | None:
    """Check a code typed at sign-in or before a sensitive action: a TOTP code of the
    person's app, or one of their unused recovery codes. Each is good once. Returns what was
    used, or None (the caller counts the failure)."""
    will_write()
    text = (code or "").strip()
    if re.fullmatch(r"[0-9 ]{6,9}", text):
        return FactorKind.TOTP if _use_totp(member, text) else None
    return FactorKind.RECOVERY_CODE if _use_recovery_code(member, text) else None


def _use_totp(member: StaffUser, code: str) -> bool:
    for factor in confirmed(member, FactorKind.TOTP):
        if factor.secret_encrypted is None:
            continue
        key = crypto.decrypt_text(factor.secret_encrypted)
        if key == DEMO_TOTP_KEY and current_settings().is_production:
            log.warning(
                "refused the demo's authenticator key in production (staff %s)", member.public_id
            )
            continue
        step = _matching_step(key, code)
        if step is None:
            continue
        won = changed(
            update(StaffFactor)
            .where(
                StaffFactor.id == factor.id,
                or_(StaffFactor.last_step.is_(None), StaffFactor.last_step < step),
            )
            .values(last_step=step, last_used_at=clock.now())
            .execution_options(synchronize_session=False)
        )
        return won == 1
    return False


# --- recovery codes ------------------------------------------------------------------------------


def normalize_recovery_code(text: str) -> str:
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())[: RECOVERY_LENGTH * 2]


def _hash(member: StaffUser, normalized: str) -> str:
    return crypto.keyed_hash("recovery_code", f"{member.id}:{normalized}")


def new_recovery_codes(member: StaffUser) -> list[str]:
    """Ten new codes (the old ones stop working), returned once for the person to keep."""
    will_write()
    dbs().execute(delete(RecoveryCode).where(RecoveryCode.staff_id == member.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        dbs().add(RecoveryCode(staff_id=member.id, code_hash=_hash(member, raw)))
    dbs().flush()
    audit.record("second_factor.recovery_codes_created", member)
    return codes


def recovery_codes_left(member: StaffUser) -> int:
    count = dbs().scalar(
        select(func.count(RecoveryCode.id)).where(
            RecoveryCode.staff_id == member.id, RecoveryCode.used_at.is_(None)
        )
    )
    return count or 0


def _use_recovery_code(member: StaffUser, text: str) -> bool:
    normalized = normalize_recovery_code(text)
    if len(normalized) != RECOVERY_LENGTH:
        return False
    won = changed(
        update(RecoveryCode)
        .where(
            RecoveryCode.staff_id == member.id,
            RecoveryCode.code_hash == _hash(member, normalized),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if won == 1:
        audit.record(
            "second_factor.recovery_code_used",
            member,
            details={"left": recovery_codes_left(member)},
        )
    return won == 1


# --- removing ------------------------------------------------------------------------------------


def own_factor(member: StaffUser, factor_id: str) -> StaffFactor:
    """One of `member`'s own factors; anyone else's (or none) is not found."""
    wanted = parse_uuid(factor_id)
    factor = None
    if wanted is not None:
        factor = dbs().scalar(
            select(StaffFactor).where(
                StaffFactor.staff_id == member.id, StaffFactor.public_id == wanted
            )
        )
    if factor is None:
        raise NotFound(("staff_factor", str(factor_id)[:64]))
    return factor


LAST_ONE = _l("You need a second way to sign in. Set up another one before you remove this one.")


def removal_problem(member: StaffUser, factor: StaffFactor):
    """Why `factor` may not be removed (the last one while one is required), or None."""
    if factor.confirmed_at is not None and required(member) and len(confirmed(member)) == 1:
        return LAST_ONE
    return None


def remove(member: StaffUser, factor_id: str) -> None:
    """Remove one of the person's own factors; not the last one while one is required (the
    person's row locked meanwhile, so two removals at once cannot leave none)."""
    lock_row(member)
    factor = own_factor(member, factor_id)
    if removal_problem(member, factor) is not None:
        raise DomainError(LAST_ONE)
    dbs().delete(factor)
    audit.record("second_factor.removed", member, details={"kind": factor.kind})


def remove_all(member: StaffUser) -> int:
    """Every factor and recovery code of `member` (a reset after a lost phone); how many
    factors there were."""
    will_write()
    count = changed(delete(StaffFactor).where(StaffFactor.staff_id == member.id))
    dbs().execute(delete(RecoveryCode).where(RecoveryCode.staff_id == member.id))
    return count
