"""Staff verify a client's identity, then invite them by email or with a printed sheet."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from flask import flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal import links
from portal.access import staff_only
from portal.domain.accounts import invitations
from portal.domain.core.roles import Capability
from portal.domain.records import access_policy
from portal.forms import ActionForm
from portal.settings import current as current_settings
from portal.web import attempt, per_staff_limit
from staff_bridge import bp
from staff_bridge.clients import sheet_controls, to_record
from staff_bridge.forms import IdentityCheckForm, InviteForm

# Where an identity check leads next (?then=...): only these pages, never a free URL.
AFTER_IDENTITY_CHECK = {
    "invite": "staff_bridge.invite_client",
    "reinstate": "staff_bridge.reinstate_client_account",
    "reset-code": "staff_bridge.client_reset_code",
}


@bp.route("/clients/<client_id>/identity-check", methods=["GET", "POST"])
@staff_only(Capability.INVITE_CLIENTS)
def identity_check(client_id: str):
    client = access_policy.get_client(current_user, client_id, "invite")
    form = IdentityCheckForm()
    form.facts.choices = [(k, str(v)) for k, v in invitations.IDENTITY_FACTS.items()]
    if form.validate_on_submit():
        ok, _check = attempt(
            form,
            invitations.record_identity_check,
            current_user,
            client,
            name_confirmed=bool(form.name_confirmed.data),
            facts=list(form.facts.data or []),
            note=form.note.data or "",
        )
        if ok:
            flash(_("Identity check recorded."), "success")
            then = AFTER_IDENTITY_CHECK.get(
                request.args.get("then", ""), AFTER_IDENTITY_CHECK["invite"]
            )
            return redirect(url_for(then, client_id=client.public_id), code=303)
    return render_template("staff_bridge/clients/identity_check.html", form=form, client=client)


@bp.route("/clients/<client_id>/invite", methods=["GET", "POST"])
@staff_only(Capability.INVITE_CLIENTS)
@per_staff_limit("20 per hour")
def invite_client(client_id: str):
    client = access_policy.get_client(current_user, client_id, "invite")
    form = InviteForm()
    form.delivery.choices = [
        ("email", _("Email it to %(email)s", email=client.email or "–")),
        ("print", _("Print a sheet with a code to hand over now")),
    ]
    if form.validate_on_submit():
        ok, issued = attempt(
            form, invitations.issue, current_user, client, delivery=form.delivery.data or ""
        )
        if ok and issued.code:
            return _printed_sheet(client, issued)
        if ok:
            flash(_("Invitation emailed. The link works for 72 hours."), "success")
            return to_record(client)
    return render_template(
        "staff_bridge/clients/invite.html",
        form=form,
        client=client,
        blockers=[str(b) for b in invitations.blockers(current_user, client)],
        status=invitations.portal_status(client),
    )


def qr_data_uri(link: str) -> str:
    image = qrcode.make(link, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _printed_sheet(client, issued):
    """Shown once: the code exists nowhere else in clear. In the client's language."""
    controls = sheet_controls(client)
    with force_locale(client.preferred_language):
        return render_template(
            "staff_bridge/clients/invitation_sheet.html",
            staff_controls=controls,
            client=client,
            code=issued.code,
            qr=qr_data_uri(links.external("client.invitation_start", token=issued.token)),
            start_url=current_settings().base_url + "/invitation-code",
            code_expires_at=issued.invitation.code_expires_at,
        )


@bp.post("/clients/<client_id>/invite/cancel")
@staff_only(Capability.INVITE_CLIENTS)
def cancel_invitation(client_id: str):
    client = access_policy.get_client(current_user, client_id, "invite")
    if ActionForm().validate_on_submit() and invitations.cancel(current_user, client):
        flash(_("Invitation cancelled. Its link and code no longer work."), "success")
    return to_record(client)
