"""Staff bridge pages. Thin: read the form, call a domain service, render or redirect."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import links, recovery_pages
from portal.access import public, staff_only
from portal.domain.accounts import agencies, factors, identity_providers, sessions, staff
from portal.domain.accounts.agencies import US_TIMEZONES
from portal.domain.core.roles import ROLE_LABELS, Capability
from portal.domain.messaging import notifications
from portal.forms import ActionForm, ChangePasswordForm, ConfirmPasswordForm
from portal.web import (
    attempt,
    change_own_password,
    current_session_row,
    end_own_sessions,
    reads_first,
    reauthenticate,
    recently_authenticated,
    sign_in_page,
    sign_in_rate_limit,
    sign_out_response,
)
from staff_bridge import bp
from staff_bridge.forms import (
    AgencyForm,
    AgencySettingsForm,
    ChangeRoleForm,
    DeactivateStaffForm,
    ForgotPasswordForm,
    InviteStaffForm,
    SetPasswordForm,
    StaffPreferencesForm,
)


def _role_choices():
    return [(r.value, str(ROLE_LABELS[r])) for r in staff.agency_roles()]


# --- signing in and out ---------------------------------------------------------------


@bp.route("/sign-in", methods=["GET", "POST"])
@reads_first  # the password is checked before the write lock is taken
@public
@sign_in_rate_limit
def sign_in():
    return sign_in_page(
        "staff",
        template="staff_bridge/sign_in.html",
        home="staff_bridge.home",
        second_step={"code": "staff_bridge.sign_in_code", "enrol": "staff_bridge.sign_in_set_up"},
    )


@bp.post("/sign-out")
@public
def sign_out():
    return sign_out_response(url_for("staff_bridge.sign_in"))


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@public
def set_password(token: str):
    """Opening the link changes nothing (mail scanners prefetch links); only the POST does."""
    form = SetPasswordForm()
    if not staff.set_password_token_is_live(token):
        return render_template("staff_bridge/link_expired.html"), 404
    if form.validate_on_submit():
        ok, _member = attempt(form, staff.set_password_from_link, token, form.password.data or "")
        if ok:
            flash(_("Your password is set. Sign in with it now."), "success")
            return redirect(url_for("staff_bridge.sign_in"), code=303)
    return render_template("staff_bridge/set_password.html", form=form)


@bp.route("/forgot-password", methods=["GET", "POST"])
@public
@sign_in_rate_limit
def forgot_password():
    return recovery_pages.forgot_password_page(
        "staff",
        ForgotPasswordForm(),
        page="staff_bridge/forgot_password.html",
        sent="staff_bridge/forgot_password_sent.html",
    )


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    return recovery_pages.reset_password_page(
        "staff",
        token,
        SetPasswordForm(),
        page="staff_bridge/set_password.html",
        expired="staff_bridge/link_expired.html",
        sign_in="staff_bridge.sign_in",
    )


# --- home, notifications, own account ----------------------------------------------------


@bp.get("/")
@staff_only()
def home():
    return render_template("staff_bridge/home.html")


@bp.get("/notifications")
@staff_only()
def notification_list():
    items = notifications.list_for(current_user)
    return render_template(
        "staff_bridge/notifications.html",
        items=items,
        text_of=notifications.text_of,
        link_of=links.notification_link,
        form=ActionForm(),
    )


@bp.post("/notifications/read")
@staff_only()
def mark_notifications_read():
    if ActionForm().validate_on_submit():
        notifications.mark_read(current_user, request.form.get("notification") or None)
    return redirect(url_for("staff_bridge.notification_list"), code=303)


@bp.route("/account", methods=["GET", "POST"])
@staff_only()
def my_account():
    form = ChangePasswordForm()
    if form.validate_on_submit() and change_own_password(form):
        flash(_("Password changed. You were signed out everywhere else."), "success")
        return redirect(url_for("staff_bridge.my_account"), code=303)
    return render_template(
        "staff_bridge/account.html",
        form=form,
        preferences=StaffPreferencesForm(
            shown_to_clients=current_user.shown_to_clients,
            allow_client_contact=current_user.allow_client_contact,
        ),
    )


@bp.post("/account/preferences")
@staff_only()
def save_staff_preferences():
    form = StaffPreferencesForm()
    if form.validate_on_submit():
        staff.update_preferences(
            current_user,
            shown_to_clients=bool(form.shown_to_clients.data),
            allow_client_contact=bool(form.allow_client_contact.data),
        )
        flash(_("Saved."), "success")
    return redirect(url_for("staff_bridge.my_account"), code=303)


def _sessions_page(form):
    return render_template(
        "staff_bridge/sessions.html",
        rows=sessions.live_for(current_user),
        current=current_session_row(),
        needs_password=not recently_authenticated(),
        has_factor=factors.has_factor(current_user),
        form=form,
    )


@bp.get("/account/sessions")
@staff_only()
def my_sessions():
    return _sessions_page(ConfirmPasswordForm())


@bp.post("/account/sessions/end")
@staff_only()
def end_my_sessions():
    """Ending other sessions needs the password again unless typed in the last 5 minutes."""
    form = ConfirmPasswordForm()
    if not (form.validate_on_submit() and reauthenticate(form)):
        return _sessions_page(form)
    ended = end_own_sessions(request.form.get("session", ""))
    if ended is None:
        return sign_out_response(url_for("staff_bridge.sign_in"))
    if ended:
        flash(_("Done. Those sessions are signed out."), "success")
    return redirect(url_for("staff_bridge.my_sessions"), code=303)


# --- agency staff (agency administrators) --------------------------------------------


@bp.get("/team")
@staff_only(Capability.MANAGE_STAFF)
def team():
    return render_template("staff_bridge/team.html", members=staff.list_staff(current_user))


@bp.route("/team/invite", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_STAFF)
def invite_staff():
    form = InviteStaffForm()
    form.role.choices = _role_choices()
    if form.validate_on_submit():
        ok, member = attempt(
            form,
            staff.invite_staff,
            current_user,
            email=form.email.data,
            display_name=form.display_name.data,
            role=form.role.data or "",
        )
        if ok:
            flash(_("Invitation sent. The email is on its way."), "success")
            return redirect(
                url_for("staff_bridge.staff_member", member_id=member.public_id), code=303
            )
    return render_template("staff_bridge/invite_staff.html", form=form)


@bp.get("/team/<member_id>")
@staff_only(Capability.MANAGE_STAFF)
def staff_member(member_id: str):
    member = staff.get_staff(current_user, member_id)
    role_form = ChangeRoleForm(role=member.role)
    role_form.role.choices = _role_choices()
    return render_template(
        "staff_bridge/staff_member.html", member=member, role_form=role_form, form=ActionForm()
    )


@bp.post("/team/<member_id>/role")
@staff_only(Capability.MANAGE_STAFF)
def change_staff_role(member_id: str):
    member = staff.get_staff(current_user, member_id)
    form = ChangeRoleForm()
    form.role.choices = _role_choices()
    if form.validate_on_submit():
        ok, _r = attempt(form, staff.change_role, current_user, member, form.role.data or "")
        if ok:
            flash(_("Role changed."), "success")
            return redirect(
                url_for("staff_bridge.staff_member", member_id=member.public_id), code=303
            )
    return render_template(
        "staff_bridge/staff_member.html", member=member, role_form=form, form=ActionForm()
    )


def _member_action(member_id: str, action, success_message: str):
    """A one-button action on a colleague's page: do it, say how it went, go back."""
    member = staff.get_staff(current_user, member_id)
    form = ActionForm()
    if form.validate_on_submit():
        ok, _r = attempt(form, action, current_user, member)
        flash(success_message if ok else " ".join(form.form_errors), "success" if ok else "error")
    return redirect(url_for("staff_bridge.staff_member", member_id=member.public_id), code=303)


@bp.post("/team/<member_id>/resend")
@staff_only(Capability.MANAGE_STAFF)
def resend_staff_invitation(member_id: str):
    return _member_action(member_id, staff.resend_invitation, _("A new link is on its way."))


@bp.post("/team/<member_id>/unlink-work-account")
@staff_only(Capability.MANAGE_STAFF)
def unlink_work_account(member_id: str):
    return _member_action(
        member_id,
        staff.unlink_work_account,
        _("Work account unlinked. Their next sign-in with a work account links it again."),
    )


@bp.post("/team/<member_id>/reactivate")
@staff_only(Capability.MANAGE_STAFF)
def reactivate_staff_member(member_id: str):
    return _member_action(
        member_id,
        staff.reactivate_staff,
        _("Account reactivated. They will get a link to choose a new password."),
    )


@bp.route("/team/<member_id>/deactivate", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_STAFF)
def deactivate_staff_member(member_id: str):
    member = staff.get_staff(current_user, member_id)
    form = DeactivateStaffForm()
    form.reason.choices = [(k, str(v)) for k, v in staff.DEACTIVATION_REASONS.items()]
    colleagues = [m for m in staff.list_staff(current_user) if m.is_active and m.id != member.id]
    form.successor.choices = [(str(m.public_id), m.display_name) for m in colleagues]
    if request.method == "GET":
        form.successor.data = str(current_user.public_id)
    if form.validate_on_submit():
        successor = next((m for m in colleagues if str(m.public_id) == form.successor.data), None)
        ok, _r = attempt(
            form,
            staff.deactivate_staff,
            current_user,
            member,
            reason=form.reason.data or "",
            successor=successor,
        )
        if ok:
            flash(_("Account deactivated. Every session it had is signed out."), "success")
            return redirect(
                url_for("staff_bridge.staff_member", member_id=member.public_id), code=303
            )
    return render_template("staff_bridge/deactivate_staff.html", member=member, form=form)


@bp.route("/agency/settings", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_AGENCY_SETTINGS)
def agency_settings():
    form = AgencySettingsForm()
    if request.method == "GET":
        form.default_roi_days.data = str(current_user.agency.default_roi_days)
        form.require_second_factor.data = current_user.agency.require_second_factor
        form.require_sso.data = current_user.agency.require_sso
        form.sso_create_accounts.data = current_user.agency.sso_create_accounts
        form.hmis_user_id.data = current_user.agency.hmis_user_id or ""
    if form.validate_on_submit():
        ok, _r = attempt(
            form,
            agencies.update_settings,
            current_user,
            default_roi_days=form.default_roi_days.data,
            require_second_factor=bool(form.require_second_factor.data),
            require_sso=bool(form.require_sso.data),
            sso_create_accounts=bool(form.sso_create_accounts.data),
            hmis_user_id=form.hmis_user_id.data or "",
            keep_session=current_session_row(),
        )
        if ok:
            flash(_("Settings saved."), "success")
            return redirect(url_for("staff_bridge.agency_settings"), code=303)
    return render_template(
        "staff_bridge/agency_settings.html",
        form=form,
        sso_providers=identity_providers.providers_for(current_user.agency),
    )


# --- agencies (system administrators) ------------------------------------------------


@bp.get("/agencies")
@staff_only(Capability.MANAGE_AGENCIES)
def agency_list():
    return render_template(
        "staff_bridge/agencies.html",
        agencies=agencies.list_agencies(current_user),
        administrators=agencies.administrators(current_user),
    )


@bp.route("/agencies/new", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_AGENCIES)
def new_agency():
    form = AgencyForm()
    form.timezone.choices = [(tz, tz.replace("_", " ")) for tz in US_TIMEZONES]
    if form.validate_on_submit():
        ok, _agency = attempt(
            form,
            agencies.create_agency,
            current_user,
            name=form.name.data,
            timezone=form.timezone.data or "",
            admin_name=form.admin_name.data,
            admin_email=form.admin_email.data,
        )
        if ok:
            flash(_("Agency created. Its first administrator has been invited."), "success")
            return redirect(url_for("staff_bridge.agency_list"), code=303)
    return render_template("staff_bridge/new_agency.html", form=form)
