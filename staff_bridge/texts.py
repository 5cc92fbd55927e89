"""Texts, staff side (issue 22): confirm a client's phone for texts with the client present
(a code is texted to it; the client reads it out), and an agency administrator's page of the
texts the agency sent each month, with its quiet hours."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import staff_only
from portal.domain import texting
from portal.domain.core import clock
from portal.domain.core.roles import Capability
from portal.domain.records import access_policy
from portal.web import attempt, per_account_limit
from staff_bridge import bp
from staff_bridge.clients import to_record
from staff_bridge.forms import QuietHoursForm, StaffTextCodeForm, StaffTextStartForm


@bp.post("/clients/<client_id>/texts/code")
@staff_only(Capability.EDIT_CLIENTS)
@per_account_limit("20 per hour")
def staff_text_code(client_id: str):
    client = access_policy.get_client(current_user, client_id, "edit")
    form = StaffTextStartForm()
    if form.validate_on_submit():
        ok, _r = attempt(
            form,
            texting.start,
            client,
            form.phone.data or "",
            agency=current_user.agency,
            staff=current_user,
        )
        flash(
            _("We texted a code. Ask the client to read it to you.")
            if ok
            else " ".join([*form.form_errors, *form.phone.errors]),
            "success" if ok else "error",
        )
    return to_record(client, "#texts")


@bp.post("/clients/<client_id>/texts/confirm")
@staff_only(Capability.EDIT_CLIENTS)
@per_account_limit("30 per hour")
def staff_text_confirm(client_id: str):
    client = access_policy.get_client(current_user, client_id, "edit")
    form = StaffTextCodeForm()
    if form.validate_on_submit():
        ok, _r = attempt(form, texting.confirm, client, form.code.data or "", staff=current_user)
        flash(
            _("Confirmed: this phone gets texts now.")
            if ok
            else " ".join([*form.form_errors, *form.code.errors]),
            "success" if ok else "error",
        )
    return to_record(client, "#texts")


@bp.route("/texts", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_AGENCY_SETTINGS)
def agency_texts():
    form = QuietHoursForm()
    if not form.is_submitted():
        form.quiet_from.data = current_user.agency.text_quiet_from
        form.quiet_until.data = current_user.agency.text_quiet_until
    if form.validate_on_submit():
        ok, _r = attempt(
            form,
            texting.set_quiet_hours,
            current_user,
            form.quiet_from.data or "",
            form.quiet_until.data or "",
        )
        if ok:
            flash(_("Settings saved."), "success")
            return redirect(url_for("staff_bridge.agency_texts"), code=303)
    return render_template(
        "staff_bridge/texts.html",
        page=texting.agency_page(current_user, clock.now()),
        enabled=texting.enabled(),
        form=form,
    )
