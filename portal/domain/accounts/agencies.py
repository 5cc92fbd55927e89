"""Agencies: created by a system administrator together with their first administrator."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.domain.accounts import identity_providers, sessions
from portal.domain.accounts.signin import account_by_email
from portal.domain.accounts.staff import create_staff_account, require
from portal.domain.core import audit
from portal.domain.core.errors import DomainError, Forbidden
from portal.domain.core.roles import Capability, Role
from portal.domain.core.session import dbs
from portal.domain.core.validation import clean_email, clean_name, clean_text, clean_timezone
from portal.domain.models import Agency, HmisUser, StaffUser

US_TIMEZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "Pacific/Guam",
)


def list_agencies(actor: StaffUser) -> list[Agency]:
    require(actor, Capability.MANAGE_AGENCIES)
    return list(dbs().scalars(select(Agency).order_by(func.lower(Agency.name))))


def administrators(actor: StaffUser) -> list[StaffUser]:
    """Every active agency and system administrator, for a system administrator (who resets
    their second factor when they lose it)."""
    require(actor, Capability.MANAGE_AGENCIES)
    return list(
        dbs().scalars(
            select(StaffUser)
            .outerjoin(Agency, Agency.id == StaffUser.agency_id)
            .where(
                StaffUser.is_active.is_(True),
                StaffUser.role.in_([Role.AGENCY_ADMIN, Role.SYSTEM_ADMIN]),
            )
            .order_by(
                func.lower(func.coalesce(Agency.name, "")), func.lower(StaffUser.display_name)
            )
        )
    )


def create_agency(
    actor: StaffUser, *, name: str, timezone: str, admin_name: str, admin_email: str
) -> Agency:
    require(actor, Capability.MANAGE_AGENCIES)
    name = clean_text(name, field="name", max_length=120, message=_l("Enter the agency's name."))
    timezone = clean_timezone(timezone)
    # Validate the administrator before writing anything, so a refusal leaves no agency behind.
    admin_email = clean_email(admin_email, field="admin_email")
    admin_name = clean_name(admin_name, field="admin_name", max_length=100)
    if account_by_email("staff", admin_email) is not None:
        raise DomainError(_l("Someone already uses this email address."), field="admin_email")
    if dbs().scalar(select(Agency.id).where(func.lower(Agency.name) == name.lower())):
        raise DomainError(_l("An agency with this name already exists."), field="name")
    agency = Agency(name=name, timezone=timezone)
    dbs().add(agency)
    dbs().flush()
    audit.record("agency.created", agency, details={"timezone": timezone})
    create_staff_account(
        agency=agency,
        email=admin_email,
        display_name=admin_name,
        role=Role.AGENCY_ADMIN,
        invited_by=actor,
    )
    return agency


def agency_by_name(name: str) -> Agency | None:
    return dbs().scalar(
        select(Agency).where(func.lower(Agency.name) == (name or "").strip().lower())
    )


def _hmis_user(agency: Agency, value: str) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    known = dbs().scalar(
        select(HmisUser.hud_user_id).where(
            HmisUser.agency_id == agency.id, HmisUser.hud_user_id == text
        )
    )
    if known is None:
        raise DomainError(
            _l(
                "No HMIS user has this ID in the HMIS users the portal imported. Import the "
                "HMIS export with its User.csv first, or leave this empty."
            ),
            field="hmis_user_id",
        )
    return known


def update_settings(
    actor: StaffUser,
    *,
    default_roi_days: str,
    require_second_factor: bool | None = None,
    require_sso: bool | None = None,
    sso_create_accounts: bool | None = None,
    hmis_user_id: str | None = None,
    keep_session=None,
) -> None:
    """Agency administrators set their agency's defaults. `hmis_user_id` (None: unchanged;
    blank: none) must be a user of the HMIS's User.csv the portal imported."""
    require(actor, Capability.MANAGE_AGENCY_SETTINGS)
    agency = actor.agency
    if agency is None:  # a system administrator: they hold no agency's settings
        raise Forbidden(Capability.MANAGE_AGENCY_SETTINGS)
    text = (default_roi_days or "").strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 3650:
        raise DomainError(_l("Enter a number of days from 1 to 3650."), field="default_roi_days")
    changes: dict[str, list | int] = {}
    if agency.default_roi_days != int(text):
        changes["default_roi_days"] = [agency.default_roi_days, int(text)]
        agency.default_roi_days = int(text)
    identity_providers.check_agency_settings(
        agency, require_sso=bool(require_sso), create_accounts=bool(sso_create_accounts)
    )
    for name, wanted in (
        ("require_second_factor", require_second_factor),
        ("require_sso", require_sso),
        ("sso_create_accounts", sso_create_accounts),
    ):
        if wanted is not None and getattr(agency, name) != wanted:
            changes[name] = [getattr(agency, name), wanted]
            setattr(agency, name, wanted)
    if hmis_user_id is not None:
        wanted_user = _hmis_user(agency, hmis_user_id)
        if agency.hmis_user_id != wanted_user:
            changes["hmis_user_id"] = [agency.hmis_user_id, wanted_user]
            agency.hmis_user_id = wanted_user
    if changes.get("require_sso") == [False, True]:
        # Sessions begun with a password end now (the administrator's own stays).
        changes["password_sessions_ended"] = sessions.end_password_sessions(
            agency, "sso_required", except_row=keep_session
        )
    if changes:
        audit.record("agency.settings_changed", agency, details=changes)
