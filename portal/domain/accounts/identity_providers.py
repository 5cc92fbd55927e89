"""Which single sign-on providers serve whom (issue 19): the deployment's configured identity
providers, each for every agency or for one, and whether an agency's staff must use one."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.domain.core.errors import DomainError
from portal.domain.core.roles import Role
from portal.domain.models import Agency, StaffUser
from portal.settings import SsoProvider
from portal.settings import current as current_settings


def providers() -> tuple[SsoProvider, ...]:
    return current_settings().sso_providers


def provider(key: str) -> SsoProvider | None:
    return next((p for p in providers() if p.key == key), None)


def serves(p: SsoProvider, agency: Agency | None) -> bool:
    """Whether staff of `agency` may sign in through `p` (a provider of every agency, or of
    this one)."""
    return agency is not None and (not p.agency or p.agency == agency.name)


def providers_for(agency: Agency | None) -> list[SsoProvider]:
    return [p for p in providers() if serves(p, agency)]


def must_use_sso(member: StaffUser) -> bool:
    """Whether `member` may not sign in with a password: their agency requires single sign-on
    and a provider serves it. Never a system administrator (a way in when a provider is
    down)."""
    agency = member.agency
    return (
        member.role != Role.SYSTEM_ADMIN
        and agency is not None
        and agency.require_sso
        and bool(providers_for(agency))
    )


def own_providers(agency: Agency) -> list[SsoProvider]:
    """The providers configured for this agency alone: only they may create accounts (a
    provider of several agencies could not say which one a new person belongs to)."""
    return [p for p in providers() if p.agency and p.agency == agency.name]


def check_agency_settings(agency: Agency, *, require_sso: bool, create_accounts: bool) -> None:
    """Refuse to require single sign-on where no provider serves the agency, or to create
    accounts where none serves it alone."""
    if require_sso and not providers_for(agency):
        raise DomainError(
            _l("No work-account sign-in is set up for your agency yet, so it cannot be required."),
            field="require_sso",
        )
    if create_accounts and not own_providers(agency):
        raise DomainError(
            _l(
                "Accounts can be made at first sign-in only through a work-account sign-in "
                "set up for your agency alone. Ask your system administrator."
            ),
            field="sso_create_accounts",
        )
