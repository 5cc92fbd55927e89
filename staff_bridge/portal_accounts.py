"""A client's portal account on the staff side: deactivate, reinstate, print a reset code."""

from __future__ import annotations

from flask import flash, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import staff_only
from portal.domain.accounts import client_accounts, invitations
from portal.domain.core.roles import Capability
from portal.domain.records import access_policy
from portal.forms import ActionForm
from portal.settings import current as current_settings
from portal.web import attempt, per_staff_limit
from staff_bridge import bp
from staff_bridge.clients import sheet_controls, to_record
from staff_bridge.forms import DeactivateClientAccountForm, RecoveryForm


@bp.route("/clients/<client_id>/portal/deactivate", methods=["GET", "POST"])
@staff_only(Capability.DEACTIVATE_CLIENT_ACCOUNTS)
def deactivate_client_account(client_id: str):
    """Apart from the record page, with a reason and a confirming button."""
    client = access_policy.get_client(current_user, client_id, "deactivate")
    form = DeactivateClientAccountForm()
    form.reason.choices = [(k, str(v)) for k, v in client_accounts.DEACTIVATION_REASONS.items()]
    if form.validate_on_submit():
        ok, _account = attempt(
            form,
            client_accounts.deactivate_by_staff,
            current_user,
            client,
            reason=form.reason.data or "",
        )
        if ok:
            flash(_("Portal account deactivated. Every session it had is signed out."), "success")
            return to_record(client)
    return render_template(
        "staff_bridge/clients/deactivate_account.html",
        form=form,
        client=client,
        account=client_accounts.account_of(client),
    )


def _delivery_choices(form, account) -> None:
    choices = [("print", _("Print a reset code to hand over now"))]
    if account is not None and client_accounts.email_is_safe_for_recovery(account):
        choices.insert(0, ("email", _("Email a link to %(email)s", email=account.email)))
    form.delivery.choices = choices
    if len(choices) == 1 and request.method == "GET":
        form.delivery.data = choices[0][0]


def _reset_sheet(client, recovery):
    """Shown once, in the client's language: the code exists nowhere else in clear."""
    settings = current_settings()
    controls = sheet_controls(client)
    with force_locale(client.preferred_language):
        return render_template(
            "staff_bridge/clients/reset_code_sheet.html",
            staff_controls=controls,
            client=client,
            code=recovery.code,
            start_url=settings.base_url + "/reset-code",
            hours=int(settings.reset_code_valid_for.total_seconds() // 3600),
        )


@bp.route("/clients/<client_id>/portal/reinstate", methods=["GET", "POST"])
@staff_only(Capability.REINSTATE_CLIENT_ACCOUNTS)
@per_staff_limit("20 per hour")
def reinstate_client_account(client_id: str):
    client = access_policy.get_client(current_user, client_id, "reinstate")
    account = client_accounts.account_of(client)
    form = RecoveryForm()
    _delivery_choices(form, account)
    if form.validate_on_submit():
        ok, recovery = attempt(
            form,
            client_accounts.reinstate,
            current_user,
            client,
            delivery=form.delivery.data or "",
        )
        if ok and recovery.code:
            return _reset_sheet(client, recovery)
        if ok:
            flash(
                _("Account reinstated. A link to choose a new password is on its way."),
                "success",
            )
            return to_record(client)
    fresh = (
        invitations.fresh_identity_check(current_user, client, since=account.deactivated_at)
        if account is not None and not account.is_active
        else None
    )
    return render_template(
        "staff_bridge/clients/reinstate_account.html",
        form=form,
        client=client,
        account=account,
        fresh=fresh,
        reason_labels=client_accounts.REASON_LABELS,
    )


@bp.route("/clients/<client_id>/portal/reset-code", methods=["GET", "POST"])
@staff_only(Capability.INVITE_CLIENTS)
@per_staff_limit("20 per hour")
def client_reset_code(client_id: str):
    """Recovery without email: after a fresh identity check, a printed one-time code."""
    client = access_policy.get_client(current_user, client_id, "invite")
    form = ActionForm()
    if form.validate_on_submit():
        ok, recovery = attempt(form, client_accounts.issue_reset_code, current_user, client)
        if ok:
            return _reset_sheet(client, recovery)
    return render_template(
        "staff_bridge/clients/reset_code.html",
        form=form,
        client=client,
        account=client_accounts.account_of(client),
        fresh=invitations.fresh_identity_check(current_user, client),
    )
