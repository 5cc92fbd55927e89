"""Staff roles and what each may do: one role-by-capability table.

Add a capability to a role only by adding a row to `GRANTS`. Views declare the capability
they need (`staff_bridge.access.requires`), and the access-matrix tests read this table.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    SYSTEM_ADMIN = "system_admin"
    AGENCY_ADMIN = "agency_admin"
    CASE_MANAGER = "case_manager"
    # The least role: an account (made by a first single sign-on) that sees no client and
    # may do nothing but wait until an administrator gives it a role. No grant below.
    NO_ACCESS_YET = "no_access_yet"


ROLE_LABELS = {
    Role.SYSTEM_ADMIN: _l("System administrator"),
    Role.AGENCY_ADMIN: _l("Agency administrator"),
    Role.CASE_MANAGER: _l("Case manager"),
    Role.NO_ACCESS_YET: _l("New, no clients yet"),
}


class Capability(StrEnum):
    # Whole system
    MANAGE_AGENCIES = "manage_agencies"
    # Within one agency
    MANAGE_STAFF = "manage_staff"
    MANAGE_AGENCY_SETTINGS = "manage_agency_settings"
    MANAGE_TEMPLATES = "manage_templates"
    MANAGE_DIRECTORY = "manage_directory"
    REINSTATE_CLIENT_ACCOUNTS = "reinstate_client_accounts"
    # Caseload work (client data)
    VIEW_CLIENTS = "view_clients"
    EDIT_CLIENTS = "edit_clients"
    MANAGE_CARE_TEAM = "manage_care_team"
    RECORD_CONSENT = "record_consent"
    IMPORT_HMIS = "import_hmis"
    INVITE_CLIENTS = "invite_clients"
    REVIEW_CHANGES = "review_changes"
    MESSAGE_CLIENTS = "message_clients"
    MANAGE_REQUESTS = "manage_requests"
    DEACTIVATE_CLIENT_ACCOUNTS = "deactivate_client_accounts"


GRANTS: frozenset[tuple[Role, Capability]] = frozenset(
    {
        # System administrators create agencies and their first administrator; no client data.
        (Role.SYSTEM_ADMIN, Capability.MANAGE_AGENCIES),
        # Agency administrators run their agency and may work a caseload too.
        (Role.AGENCY_ADMIN, Capability.MANAGE_STAFF),
        (Role.AGENCY_ADMIN, Capability.MANAGE_AGENCY_SETTINGS),
        (Role.AGENCY_ADMIN, Capability.MANAGE_TEMPLATES),
        (Role.AGENCY_ADMIN, Capability.MANAGE_DIRECTORY),
        (Role.AGENCY_ADMIN, Capability.REINSTATE_CLIENT_ACCOUNTS),
        (Role.AGENCY_ADMIN, Capability.IMPORT_HMIS),
        (Role.AGENCY_ADMIN, Capability.VIEW_CLIENTS),
        (Role.AGENCY_ADMIN, Capability.EDIT_CLIENTS),
        (Role.AGENCY_ADMIN, Capability.MANAGE_CARE_TEAM),
        (Role.AGENCY_ADMIN, Capability.RECORD_CONSENT),
        (Role.AGENCY_ADMIN, Capability.INVITE_CLIENTS),
        (Role.AGENCY_ADMIN, Capability.REVIEW_CHANGES),
        (Role.AGENCY_ADMIN, Capability.MESSAGE_CLIENTS),
        (Role.AGENCY_ADMIN, Capability.MANAGE_REQUESTS),
        (Role.AGENCY_ADMIN, Capability.DEACTIVATE_CLIENT_ACCOUNTS),
        # Case managers work their caseload.
        (Role.CASE_MANAGER, Capability.VIEW_CLIENTS),
        (Role.CASE_MANAGER, Capability.EDIT_CLIENTS),
        (Role.CASE_MANAGER, Capability.MANAGE_CARE_TEAM),
        (Role.CASE_MANAGER, Capability.RECORD_CONSENT),
        (Role.CASE_MANAGER, Capability.INVITE_CLIENTS),
        (Role.CASE_MANAGER, Capability.REVIEW_CHANGES),
        (Role.CASE_MANAGER, Capability.MESSAGE_CLIENTS),
        (Role.CASE_MANAGER, Capability.MANAGE_REQUESTS),
        (Role.CASE_MANAGER, Capability.DEACTIVATE_CLIENT_ACCOUNTS),
    }
)


def has_capability(role: str | Role | None, capability: Capability) -> bool:
    if role is None:
        return False
    try:
        return (Role(role), capability) in GRANTS
    except ValueError:
        return False


def roles_with(capability: Capability) -> set[Role]:
    return {role for role, cap in GRANTS if cap is capability}
