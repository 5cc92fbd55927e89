"""The staff lifecycle: invite, set a password, change role, deactivate, reactivate.

Every query for staff is scoped to the acting administrator's agency (`staff_scope`):
someone else's agency's staff are simply not found.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import Select, func, select

from portal.domain.accounts import factors, passwords, sessions
from portal.domain.accounts.signin import account_by_email, normalize_email
from portal.domain.core import audit, clock, mail, tokens
from portal.domain.core.errors import DomainError, Forbidden, NotFound
from portal.domain.core.roles import Capability, Role, has_capability
from portal.domain.core.session import dbs
from portal.domain.core.validation import clean_email, clean_name, parse_uuid
from portal.domain.messaging import notifications
from portal.domain.models import Agency, CareTeamMember, StaffUser
from portal.settings import current as current_settings

# What the staff notices this module sends say (declared in portal.domain.features).
NOTICES = {
    "work_handed_over": _l("Open work of %(from)s was handed to you."),
}

INVITE_PURPOSE = "staff_set_password"

DEACTIVATION_REASONS = {
    "left_agency": _l("Left the agency"),
    "security": _l("Security concern"),
    "other": _l("Other"),
}

# Features free care-team seats and hand over open work here (their Feature's
# `staff_deactivated`): each hook is called as hook(deactivated_staff, successor) inside the
# same transaction.
DeactivationHook = Callable[[StaffUser, StaffUser], None]
DEACTIVATION_HOOKS: list[DeactivationHook] = []


def require(actor: StaffUser, capability: Capability) -> None:
    if not has_capability(actor.role, capability):
        raise Forbidden(capability)


def staff_scope(actor: StaffUser) -> Select:
    """Staff the actor may manage: their own agency's, nobody else's."""
    require(actor, Capability.MANAGE_STAFF)
    return select(StaffUser).where(StaffUser.agency_id == actor.agency_id)


def list_staff(actor: StaffUser) -> list[StaffUser]:
    return list(dbs().scalars(staff_scope(actor).order_by(func.lower(StaffUser.display_name))))


def get_staff(actor: StaffUser, public_id: UUID | str) -> StaffUser:
    try:
        public_id = UUID(str(public_id))
    except ValueError:
        raise NotFound(("staff", str(public_id)[:64])) from None
    member = dbs().scalar(staff_scope(actor).where(StaffUser.public_id == public_id))
    if member is None:
        raise NotFound(("staff", str(public_id)))
    return member


def agency_roles() -> list[Role]:
    """The roles an agency administrator gives, most access first; the last sees no client."""
    return [Role.AGENCY_ADMIN, Role.CASE_MANAGER, Role.NO_ACCESS_YET]


def _send_set_password(member: StaffUser, *, template: str = "staff_invite") -> None:
    raw = tokens.issue(INVITE_PURPOSE, member, current_settings().staff_invite_valid_for)
    settings = current_settings()
    mail.queue(
        template,
        to=member.email,
        language=member.preferred_language,
        params={
            "name": member.display_name,
            "agency": member.agency.name if member.agency else "",
            "hours": int(settings.staff_invite_valid_for.total_seconds() // 3600),
        },
        secret_params={"token": raw},  # the link is built when it is sent
    )


def create_staff_account(
    *, agency: Agency | None, email: str, display_name: str, role: Role, invited_by=None
) -> StaffUser:
    """Create an account with no password and email a set-password link."""
    email = clean_email(email)
    display_name = clean_name(display_name, field="display_name", max_length=100)
    if account_by_email("staff", email) is not None:
        raise DomainError(_l("Someone already uses this email address."), field="email")
    member = StaffUser(
        agency=agency,
        email=normalize_email(email),
        display_name=display_name,
        role=Role(role),
        invited_by_id=invited_by.id if invited_by else None,
    )
    dbs().add(member)
    dbs().flush()
    _send_set_password(member)
    audit.record("staff.invited", member, details={"role": str(role)})
    return member


def invite_staff(actor: StaffUser, *, email: str, display_name: str, role: str) -> StaffUser:
    require(actor, Capability.MANAGE_STAFF)
    if role not in {r.value for r in agency_roles()}:
        raise DomainError(_l("Choose a role."), field="role")
    return create_staff_account(
        agency=actor.agency,
        email=email,
        display_name=display_name,
        role=Role(role),
        invited_by=actor,
    )


def resend_invitation(actor: StaffUser, member: StaffUser) -> None:
    require(actor, Capability.MANAGE_STAFF)
    if not member.is_active or member.password_hash is not None:
        raise DomainError(_l("Only people who have not set a password yet can be sent a new link."))
    _send_set_password(member)
    audit.record("staff.invitation_resent", member)


def set_password_token_is_live(raw: str) -> bool:
    return tokens.find_live(raw, INVITE_PURPOSE) is not None


def set_password_from_link(raw: str, password: str) -> StaffUser:
    """Set the first password from an emailed link. The link works once; no automatic sign-in."""
    token = tokens.find_live(raw, INVITE_PURPOSE)
    member = dbs().get(StaffUser, token.account_id) if token else None
    if token is None or member is None or not member.is_active:
        raise DomainError(
            _l("This link has expired or was already used. Ask your administrator for a new one.")
        )
    context = [member.display_name, member.email, member.agency.name if member.agency else ""]
    reasons = passwords.problems(password, context)
    if reasons:
        raise DomainError(reasons[0], field="password")
    if not tokens.consume(token):
        raise DomainError(
            _l("This link has expired or was already used. Ask your administrator for a new one.")
        )
    member.password_hash = passwords.hash_password(password)
    member.password_changed_at = clock.now()
    member.failed_sign_ins = 0
    member.throttled_until = None
    member.suspended_at = None
    sessions.end_all_for(member, "password_set")
    audit.record("staff.password_set", member, actor=member)
    return member


def change_role(actor: StaffUser, member: StaffUser, role: str) -> None:
    require(actor, Capability.MANAGE_STAFF)
    if role not in {r.value for r in agency_roles()}:
        raise DomainError(_l("Choose a role."), field="role")
    if member.id == actor.id:
        raise DomainError(
            _l("You cannot change your own role. Ask another administrator."), field="role"
        )
    if member.role == role:
        return
    if role == Role.NO_ACCESS_YET:
        seats = dbs().scalar(
            select(func.count(CareTeamMember.id)).where(CareTeamMember.staff_id == member.id)
        )
        if seats:
            # Clients would still see them on their care team, and their work would wait.
            raise DomainError(
                ngettext(
                    "They are on the care team of %(num)d client. Take them off that team "
                    "first, or deactivate the account, which hands their work to a colleague.",
                    "They are on the care team of %(num)d clients. Take them off those teams "
                    "first, or deactivate the account, which hands their work to a colleague.",
                    seats,
                ),
                field="role",
            )
    old = member.role
    member.role = Role(role)
    sessions.require_rotation(member)
    audit.record("staff.role_changed", member, details={"from": str(old), "to": role})


def deactivate_staff(
    actor: StaffUser, member: StaffUser, *, reason: str, successor: StaffUser | None
) -> None:
    """End every session at once, revoke links, hand open work to the successor."""
    require(actor, Capability.MANAGE_STAFF)
    if reason not in DEACTIVATION_REASONS:
        raise DomainError(_l("Choose a reason."), field="reason")
    if member.id == actor.id:
        raise DomainError(_l("You cannot deactivate your own account."))
    if not member.is_active:
        raise DomainError(_l("This account is already deactivated."))
    successor = successor or actor
    if (
        successor.id == member.id
        or not successor.is_active
        or successor.agency_id != member.agency_id
        or not has_capability(successor.role, Capability.VIEW_CLIENTS)  # not "no clients yet"
    ):
        raise DomainError(
            _l("Choose an active colleague to take over open work."), field="successor"
        )
    member.is_active = False
    member.deactivated_at = clock.now()
    member.deactivation_reason = reason
    ended = sessions.end_all_for(member, "deactivated")
    tokens.revoke_all(member)
    for hook in DEACTIVATION_HOOKS:
        hook(member, successor)
    audit.record(
        "staff.deactivated",
        member,
        details={"reason": reason, "sessions_ended": ended, "successor": str(successor.public_id)},
    )
    if successor.id != actor.id:
        notifications.notify(successor, "work_handed_over", params={"from": member.display_name})


def reactivate_staff(actor: StaffUser, member: StaffUser) -> None:
    """Bring a deactivated colleague back: they choose a new password from a fresh link."""
    require(actor, Capability.MANAGE_STAFF)
    if member.is_active:
        raise DomainError(_l("This account is already active."))
    member.is_active = True
    member.deactivated_at = None
    member.deactivation_reason = None
    member.password_hash = None
    _send_set_password(member)
    audit.record("staff.reactivated", member)


def unlink_work_account(actor: StaffUser, member: StaffUser) -> None:
    """Undo a colleague's binding to an identity at a single sign-on provider (their work
    account was replaced, or linked by mistake): every session of theirs ends, and their next
    sign-in through a provider links again by verified email."""
    require(actor, Capability.MANAGE_STAFF)
    if member.id == actor.id:
        raise DomainError(_l("Ask another administrator to do this for your own account."))
    if member.sso_subject is None:
        raise DomainError(_l("This account is not linked to a work account."))
    provider = member.sso_provider
    member.sso_provider = member.sso_issuer = member.sso_subject = None
    member.sso_linked_at = None
    ended = sessions.end_all_for(member, "sso_unlinked")
    audit.record(
        "staff.sso_unlinked", member, details={"provider": provider, "sessions_ended": ended}
    )


def update_preferences(
    member: StaffUser, *, shown_to_clients: bool, allow_client_contact: bool | None = None
) -> None:
    """The staff member's own settings: appear on clients' dashboards (issue 5); clients may
    start a conversation with them (issue 6)."""
    changed = {}
    if member.shown_to_clients != shown_to_clients:
        member.shown_to_clients = changed["shown_to_clients"] = shown_to_clients
    if allow_client_contact is not None and member.allow_client_contact != allow_client_contact:
        member.allow_client_contact = changed["allow_client_contact"] = allow_client_contact
    if changed:
        audit.record("staff.preferences_changed", member, details=changed)


# --- a lost second factor ------------------------------------------------------------------------


IDENTITY_CHECK_FIRST = _l(
    "Check who they are first: in person, or by calling a number you already had."
)


def _may_reset_factor(actor: StaffUser, member: StaffUser) -> bool:
    if member.id == actor.id:
        return False
    if actor.role == Role.SYSTEM_ADMIN:
        return member.role in factors.ALWAYS_REQUIRED
    return (
        has_capability(actor.role, Capability.MANAGE_STAFF)
        and member.agency_id == actor.agency_id
        and member.role not in factors.ALWAYS_REQUIRED
    )


def factor_reset_target(actor: StaffUser, member_id) -> StaffUser:
    """The staff member whose second factor `actor` may reset: an agency administrator resets
    their own agency's case managers, a system administrator resets administrators (never
    their own: another administrator does). Anyone else is not found."""
    wanted = parse_uuid(member_id)
    member = (
        dbs().scalar(select(StaffUser).where(StaffUser.public_id == wanted)) if wanted else None
    )
    if member is None or not _may_reset_factor(actor, member):
        raise NotFound(("staff", str(member_id)[:64]))
    return member


def reset_second_factor(actor: StaffUser, member: StaffUser, identity_checked: bool) -> None:
    """After an identity check: the person's factors and recovery codes go, every session of
    theirs ends, and they set up a new factor at their next sign-in."""
    if not _may_reset_factor(actor, member):
        raise NotFound(("staff", str(member.public_id)))
    if not identity_checked:
        raise DomainError(IDENTITY_CHECK_FIRST, field="identity_checked")
    removed = factors.remove_all(member)
    ended = sessions.end_all_for(member, "second_factor_reset")
    audit.record(
        "second_factor.reset",
        member,
        actor=actor,
        details={"factors": removed, "sessions": ended, "identity_checked": True},
    )
