"""Staff single sign-on (issue 19): who an identity provider's verified ID token signs in.

The token itself (signature, issuer, audience, expiry, nonce; PKCE and `state` on the way) is
checked by `portal.integrations.oidc` before anything here runs; this module decides, from its
claims, which staff account that is:

- **Bound:** an account that signed in through a provider before is bound to its (issuer,
  subject) for good, and only that identity finds it: the email the provider sends is never
  matched again, so someone who may change their own email there cannot take over another
  account.
- **First sign-in:** the email (ASCII) must be in one of the provider's domains and, unless
  the provider is configured to trust its email as it is, marked verified (`email_verified`);
  an active account with that email and no binding yet is then bound. An email taken as it
  is (not marked verified) never links an administrator and never makes an account.
- **No account:** refused, unless the provider serves one agency whose administrators allow
  "create on first sign-in": the account is made with the least role (`Role.NO_ACCESS_YET`),
  which sees no client until an administrator gives it one.

Roles and agencies stay in the portal, and deactivation in the portal wins: a deactivated or
suspended account is refused whatever the provider says. A provider's own multi-factor counts
as the second factor only when the provider is configured as trusted for it and the token's
`amr` or `acr` says it was used; never for a system administrator, who always gives the
portal's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portal.domain.accounts.identity_providers import serves
from portal.domain.accounts.signin import account_by_email, can_sign_in, normalize_email
from portal.domain.core import audit, clock
from portal.domain.core.errors import DomainError
from portal.domain.core.roles import Role
from portal.domain.core.session import changed, dbs, will_write
from portal.domain.core.validation import clean_email, clean_name
from portal.domain.models import Agency, StaffUser
from portal.settings import SsoProvider

# Why a sign-in through a provider was refused: the page says it in these words (the reasons
# are named, not generic, because the person has proved who they are at their provider; they
# still never say whether some other account exists).
REFUSALS = {
    "no_email": _l("Your work account did not tell us your email address."),
    "domain": _l("This sign-in is not for email addresses of your organization."),
    "unverified": _l("Your work account's email address is not verified yet."),
    "no_account": _l(
        "There is no portal account for you yet. Ask an administrator of your agency to invite you."
    ),
    "bound_elsewhere": _l(
        "Your portal account is linked to another work account. Sign in with that one, or "
        "ask an administrator of your agency."
    ),
    "inactive": _l("Your portal account cannot be used. Ask an administrator of your agency."),
    "agency": _l("This sign-in is not for your agency."),
}


@dataclass
class SsoOutcome:
    member: StaffUser | None = None
    refusal: str | None = None  # a key of REFUSALS
    provider_mfa: bool = False  # the provider's own multi-factor counts as the second factor


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1] if "@" in email else ""


def sign_in(p: SsoProvider, claims: dict) -> SsoOutcome:
    """The staff account a verified ID token's `claims` signs in (bound, linked now, or
    created), or the refusal. Audited either way."""
    issuer, subject = str(claims.get("iss") or ""), str(claims.get("sub") or "")
    outcome = _bound(issuer, subject)
    if outcome is None:
        outcome = _first_sign_in(p, issuer, subject, claims)
    member = outcome.member
    if outcome.refusal is None and member is not None:
        if not can_sign_in(member):
            outcome = SsoOutcome(member=member, refusal="inactive")
        elif p.agency and not serves(p, member.agency):
            outcome = SsoOutcome(member=member, refusal="agency")
    if outcome.refusal is not None:
        subject_of_event = outcome.member or ("staff", "unknown")
        audit.record(
            "sign_in.sso_refused",
            subject_of_event,
            outcome="failure",
            details={"provider": p.key, "reason": outcome.refusal},
        )
        return SsoOutcome(refusal=outcome.refusal)
    outcome.provider_mfa = provider_mfa_counts(p, claims, member)
    return outcome


def provider_mfa_counts(p: SsoProvider, claims: dict, member: StaffUser | None) -> bool:
    if not p.trust_mfa or member is None or member.role == Role.SYSTEM_ADMIN:
        return False
    amr = claims.get("amr")
    methods = {str(m).lower() for m in amr} if isinstance(amr, list) else set()
    acr = str(claims.get("acr") or "").lower()
    return bool(methods & set(p.mfa_amr)) or (bool(acr) and acr in p.mfa_acr)


MAX_IDENTIFIER = 255  # the columns' width; longer is no identity this portal keeps


def _bound(issuer: str, subject: str) -> SsoOutcome | None:
    if not issuer or not subject or max(len(issuer), len(subject)) > MAX_IDENTIFIER:
        return SsoOutcome(refusal="no_email")
    member = dbs().scalar(
        select(StaffUser).where(StaffUser.sso_issuer == issuer, StaffUser.sso_subject == subject)
    )
    return SsoOutcome(member=member) if member is not None else None


def _first_sign_in(p: SsoProvider, issuer: str, subject: str, claims: dict) -> SsoOutcome:
    raw = str(claims.get("email") or "").strip()
    # ASCII only: lower-casing maps some other letters onto ASCII ones (the Kelvin sign
    # becomes "k"), which would match someone else's address.
    if not raw or not raw.isascii() or len(raw) > 254:
        return SsoOutcome(refusal="no_email")
    email = normalize_email(raw)
    if email_domain(email) not in p.domains:
        return SsoOutcome(refusal="domain")
    verified = claims.get("email_verified") is True
    if p.trust_email != "always" and not verified:
        return SsoOutcome(refusal="unverified")
    outcome = _link_or_create(p, issuer, subject, email, claims, verified)
    if outcome.refusal is not None and not verified:
        # An email taken as it is, unverified, may be someone else's: the refusal says no more
        # about the account with it than that there is none for this person.
        return SsoOutcome(member=outcome.member, refusal="no_account")
    return outcome


def _link_or_create(
    p: SsoProvider, issuer: str, subject: str, email: str, claims: dict, verified: bool
) -> SsoOutcome:
    member = account_by_email("staff", email)
    if not isinstance(member, StaffUser):
        if not verified:  # never an account for an address nobody vouched for
            return SsoOutcome(refusal="no_account")
        return _create(p, issuer, subject, email, claims)
    if member.sso_subject is not None:
        return SsoOutcome(member=member, refusal="bound_elsewhere")
    if not can_sign_in_or_invited(member):
        return SsoOutcome(member=member, refusal="inactive")
    if p.agency and not serves(p, member.agency):
        return SsoOutcome(member=member, refusal="agency")
    if not verified and member.role in (Role.SYSTEM_ADMIN, Role.AGENCY_ADMIN):
        # An administrator's account is linked only by a verified email.
        return SsoOutcome(member=member, refusal="unverified")
    return _link(p, member, issuer, subject)


def can_sign_in_or_invited(member: StaffUser) -> bool:
    """Active and not suspended: an invited colleague who never chose a password may link."""
    return member.is_active and member.suspended_at is None


def _link(p: SsoProvider, member: StaffUser, issuer: str, subject: str) -> SsoOutcome:
    """Bind `member` to the identity, once: a compare-and-set, so two first sign-ins at the
    same moment bind one identity (the other is refused as bound elsewhere unless it is the
    same one)."""
    will_write()
    try:
        with dbs().begin_nested():
            done = changed(
                update(StaffUser)
                .where(StaffUser.id == member.id, StaffUser.sso_subject.is_(None))
                .values(
                    sso_provider=p.key,
                    sso_issuer=issuer,
                    sso_subject=subject,
                    sso_linked_at=clock.now(),
                )
            )
    except IntegrityError:  # this identity was bound to another account a moment ago
        done = 0
    dbs().refresh(member)
    if not done:
        if member.sso_issuer == issuer and member.sso_subject == subject:
            return SsoOutcome(member=member)
        return SsoOutcome(member=member, refusal="bound_elsewhere")
    audit.record("staff.sso_linked", member, actor=member, details={"provider": p.key})
    return SsoOutcome(member=member)


def _create(p: SsoProvider, issuer: str, subject: str, email: str, claims: dict) -> SsoOutcome:
    agency = _agency_of(p)
    if agency is None or not agency.sso_create_accounts or not agency.is_active:
        return SsoOutcome(refusal="no_account")
    try:  # what the provider says is checked like what an administrator types
        email = normalize_email(clean_email(email))
    except DomainError:
        return SsoOutcome(refusal="no_email")
    try:
        name = clean_name(str(claims.get("name") or ""), field="name", max_length=100)
    except DomainError:
        name = email.split("@", 1)[0]
    will_write()
    member = StaffUser(
        agency=agency,
        email=email,
        display_name=name,
        role=Role.NO_ACCESS_YET,
        sso_provider=p.key,
        sso_issuer=issuer,
        sso_subject=subject,
        sso_linked_at=clock.now(),
    )
    try:
        with dbs().begin_nested():
            dbs().add(member)
            dbs().flush()
    except IntegrityError:  # the same first sign-in, a moment ago in another browser
        return _bound(issuer, subject) or SsoOutcome(refusal="no_account")
    details = {"provider": p.key, "role": str(member.role)}
    audit.record("staff.created_by_sso", member, actor=member, details=details)
    return SsoOutcome(member=member)


def _agency_of(p: SsoProvider) -> Agency | None:
    if not p.agency:
        return None
    return dbs().scalar(select(Agency).where(Agency.name == p.agency))


def signed_in(member: StaffUser, p: SsoProvider, factor: str) -> bool:
    """End a sign-in through `p` (its second factor, if one was asked, shown): audited with
    the factor; False when the account stopped being able to sign in meanwhile."""
    will_write()
    if not can_sign_in(member):
        return False
    member.failed_sign_ins = 0
    member.throttled_until = None
    member.last_sign_in_at = clock.now()
    audit.record(
        "sign_in.succeeded", member, actor=member, details={"factor": factor, "provider": p.key}
    )
    return True
