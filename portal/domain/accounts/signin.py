"""Loading accounts by kind, and the sign-in pipeline shared by staff and clients.

Sign-in is a list of steps. Each step may refuse (uniformly: the person is told only that the
email or password is not right, or to wait) or ask for more: staff with the right password
still need their second factor (`needs` is "code", or "enrol" when they have none yet and one
is required), which `finish_second_factor` checks. Until then nothing is reset: the failure
count stays, so knowing the password does not buy unlimited guesses at the code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from portal.domain.accounts import factors, identity_providers, passkeys, passwords
from portal.domain.core import audit, clock
from portal.domain.core.session import dbs, lock_row, will_write
from portal.domain.core.statuses import FactorKind
from portal.domain.core.validation import parse_uuid
from portal.domain.models import Account, ClientAccount, StaffUser

DELAY_AFTER_FAILURES = 5
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
SUSPEND_AFTER_FAILURES = 100


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def account_by_id(kind: str | None, account_id: int | None) -> Account | None:
    if account_id is None:
        return None
    if kind == "staff":
        return dbs().get(StaffUser, account_id)
    if kind == "client":
        return dbs().get(ClientAccount, account_id)
    return None


def account_by_email(kind: str, email: str) -> Account | None:
    email = normalize_email(email)
    if not email or len(email) > 254:
        return None
    # Emails are stored lower-cased (normalize_email), so the unique index serves this lookup.
    if kind == "staff":
        return dbs().scalar(select(StaffUser).where(StaffUser.email == email))
    if kind == "client":
        return dbs().scalar(select(ClientAccount).where(ClientAccount.email == email))
    raise ValueError(f"no such kind of account: {kind!r}")


def staff_by_public_id(public_id) -> StaffUser | None:
    wanted = parse_uuid(public_id)
    if wanted is None:
        return None
    return dbs().scalar(select(StaffUser).where(StaffUser.public_id == wanted))


def password_stamp(account) -> str:
    """When the account's password last changed ("" if it never did): a second step begun
    before a change is not carried on after it."""
    changed = account.password_changed_at
    return changed.isoformat() if changed else ""


def staff_at_second_step(public_id, step: str, stamp: str) -> StaffUser | None:
    """The staff member whose right password began a second step (`step`, with the password's
    `stamp` then), while that step still stands: not if they can no longer sign in, their
    password changed since, or `step` is no longer what they need (someone enrolled
    meanwhile, or an administrator reset their factor)."""
    member = staff_by_public_id(public_id)
    if (
        member is None
        or not can_sign_in(member)
        or stamp != password_stamp(member)
        or factors.next_step(member) != step
    ):
        return None
    return member


def can_sign_in(account) -> bool:
    """Active, not suspended, and with a way in: a password, or (staff) an identity at a
    single sign-on provider."""
    return (
        account is not None
        and account.is_active
        and (account.password_hash is not None or getattr(account, "sso_subject", None) is not None)
        and account.suspended_at is None
    )


@dataclass
class SignInResult:
    account: Account | None = None
    ok: bool = False
    refusal: str | None = None  # "credentials", "throttled" or (second step) "code"
    needs: list[str] = field(default_factory=list)


def _delay_for(failures: int) -> timedelta:
    steps = min(failures - DELAY_AFTER_FAILURES, 8)  # 30 s x 2^7 already passes the 1 h cap
    return min(FIRST_DELAY * (2**steps), MAX_DELAY)


def _step_throttle(result: SignInResult, password: str) -> bool:
    account = result.account
    if account is not None and _throttled(account):
        result.refusal = "throttled"
        passwords.verify(None, password)  # same work as any other refusal
        audit.record("sign_in.throttled", account, outcome="failure")
        return False
    return True


def _step_password(result: SignInResult, password: str) -> bool:
    account = result.account
    stored = account.password_hash if account is not None else None
    if passwords.verify(stored, password) and can_sign_in(account):
        return True
    result.refusal = "credentials"
    if account is not None and stored is not None:  # no password: nothing to guess
        count_failure(account)
    return False


def count_failure(account, action: str = "sign_in.failed") -> None:
    """One more wrong password (or code) for the account: the delay grows after 5, suspension
    at 100. The row is read again under a lock first, so failures at the same moment are each
    counted (PostgreSQL; SQLite's writers take turns). The events name the account tried as
    their actor (nobody is signed in yet), as a success does: its role and agency (R57)."""
    lock_row(account)
    account.failed_sign_ins += 1
    details = {"failures": account.failed_sign_ins}
    if account.failed_sign_ins >= DELAY_AFTER_FAILURES:
        account.throttled_until = clock.now() + _delay_for(account.failed_sign_ins)
    if account.failed_sign_ins >= SUSPEND_AFTER_FAILURES and account.suspended_at is None:
        account.suspended_at = clock.now()
        audit.record(
            "account.suspended", account, outcome="failure", details=details, actor=account
        )
    audit.record(action, account, outcome="failure", details=details, actor=account)


def _step_rehash(result: SignInResult, password: str) -> bool:
    account = result.account
    stored = account.password_hash if account is not None else None
    if account is not None and stored is not None and passwords.needs_rehash(stored):
        will_write()
        account.password_hash = passwords.hash_password(password)
    return True


def _step_sso_only(result: SignInResult, password: str) -> bool:
    """Staff whose agency requires single sign-on are refused a password sign-in before their
    password is looked at (the same work, the same answer as any refusal, which says where
    work accounts sign in): their password is no way in, so guessing it counts nothing and
    can neither delay nor suspend their sign-in through the provider."""
    account = result.account
    if isinstance(account, StaffUser) and identity_providers.must_use_sso(account):
        passwords.verify(None, password)
        result.refusal = "credentials"
        audit.record("sign_in.sso_required", account, outcome="failure")
        return False
    return True


def _step_second_factor(result: SignInResult, password: str) -> bool:
    account = result.account
    step = factors.next_step(account) if isinstance(account, StaffUser) else None
    if step is not None:
        result.needs = [step]
        return False
    return True


def _step_success(result: SignInResult, password: str) -> bool:
    return _signed_in(result)


def _signed_in(result: SignInResult) -> bool:
    will_write()  # the password was checked as a reader (sign-in views read first)
    account = result.account
    if account is None or not can_sign_in(account):  # deactivated while it was being checked
        result.refusal = "credentials"
        return False
    account.failed_sign_ins = 0
    account.throttled_until = None
    account.last_sign_in_at = clock.now()
    return True


SIGN_IN_STEPS = {
    "staff": [
        _step_throttle,
        _step_sso_only,
        _step_password,
        _step_rehash,
        _step_second_factor,
        _step_success,
    ],
    "client": [_step_throttle, _step_password, _step_rehash, _step_success],
}


def _throttled(account) -> bool:
    return bool(account.throttled_until and account.throttled_until > clock.now())


def check_current_password(account, password: str) -> str | None:
    """Why the current password is refused, or None when it is right: "throttled" while the
    account waits after failures or is suspended (refused before the password is looked at,
    with the same work), "wrong" otherwise. Writes nothing: see `record_refusal`."""
    if _throttled(account) or account.suspended_at is not None:
        passwords.verify(None, password)
        return "throttled"
    if not passwords.verify(account.password_hash, password):
        return "wrong"
    return None


def record_refusal(account, refusal: str, action: str) -> None:
    """Write a refused current-password check: a wrong one counts like a failed sign-in (the
    delay grows, 100 suspend); a throttled one is audited."""
    if refusal == "throttled":
        audit.record(f"{action}.throttled", account, outcome="failure")
    else:
        count_failure(account, f"{action}.failed")


def confirm_password(
    account, password: str, action: str = "reauth", *, second_factor_follows: bool = False
) -> str | None:
    """Re-authentication before a sensitive action (R27, R29): the current password, with the
    same throttling as sign-in. Returns None when confirmed, else the refusal ("wrong" or
    "throttled"), which is written already; the caller shows it. When a second factor follows
    (`confirm_second_factor`), that one audits the success."""
    refusal = check_current_password(account, password)
    if refusal is None:
        if not second_factor_follows:
            audit.record(f"{action}.succeeded", account)
        return None
    record_refusal(account, refusal, action)
    return refusal


def confirm_second_factor(
    member: StaffUser,
    code: str,
    action: str = "reauth",
    *,
    passkey: str = "",
    challenge: bytes | None = None,
) -> str | None:
    """The second half of a staff re-authentication: a code of the person's app, a recovery
    code, or one of their passkeys (its signed answer to `challenge`). None when confirmed
    (audited as `{action}.succeeded` with the factor), else "wrong" or "throttled" (written
    already)."""
    _locked(member)
    if _throttled(member) or member.suspended_at is not None:
        audit.record(f"{action}.throttled", member, outcome="failure")
        return "throttled"
    if passkey:
        ok = passkeys.use_passkey(member, passkey, challenge)
        used: FactorKind | None = FactorKind.PASSKEY if ok else None
    else:
        used = factors.use_code(member, code)
    if used is None:
        count_failure(member, f"{action}.failed")
        return "wrong"
    audit.record(f"{action}.succeeded", member, details={"factor": str(used)})
    return None


def sign_in(kind: str, email: str, password: str) -> SignInResult:
    """Run the pipeline. Unknown accounts run the same steps (a dummy hash) and fail alike."""
    result = SignInResult(account=account_by_email(kind, email))
    for step in SIGN_IN_STEPS[kind]:
        if not step(result, password):
            if result.account is None:
                audit.record("sign_in.failed", (kind, "unknown"), outcome="failure")
            elif result.needs:
                audit.record("sign_in.password_accepted", result.account, actor=result.account)
            return result
    result.ok = True
    audit.record("sign_in.succeeded", result.account, actor=result.account)
    return result


def finish_second_factor(member: StaffUser, code: str) -> SignInResult:
    """The second step of a staff sign-in, after the right password: a code of the person's
    app or a recovery code. A wrong code counts like a wrong password; a throttled, suspended
    or deactivated account is refused whatever is typed."""
    return _second_step(member, lambda: factors.use_code(member, code))


def finish_with_passkey(member: StaffUser, answer: str, challenge: bytes | None) -> SignInResult:
    """The second step with one of the person's passkeys (the browser's signed answer to
    `challenge`); refused and counted like a wrong code otherwise."""

    def check() -> FactorKind | None:
        return FactorKind.PASSKEY if passkeys.use_passkey(member, answer, challenge) else None

    return _second_step(member, check)


def _locked(member: StaffUser) -> None:
    """Read the member's row again, locked until the commit (PostgreSQL; SQLite writers take
    turns already): parallel guesses then each see the count the one before left, and none is
    lost from it (R16)."""
    lock_row(member)


def _second_step(member: StaffUser, check: Callable[[], FactorKind | None]) -> SignInResult:
    _locked(member)
    result = SignInResult(account=member)
    if _throttled(member) or member.suspended_at is not None:
        result.refusal = "throttled"
        audit.record("second_factor.throttled", member, outcome="failure")
        return result
    used = check() if can_sign_in(member) else None
    if used is None:
        result.refusal = "code"
        count_failure(member, "second_factor.failed")
        return result
    return enrolled_and_signed_in(member, used)


def enrolled_and_signed_in(member: StaffUser, used: FactorKind) -> SignInResult:
    """End a staff sign-in whose second factor was just shown (a code, or enrolment's first
    code): the failure count starts again and the sign-in is audited with the factor."""
    result = SignInResult(account=member)
    if _signed_in(result):
        result.ok = True
        audit.record("sign_in.succeeded", member, actor=member, details={"factor": str(used)})
    return result
