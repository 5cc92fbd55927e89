"""Staff side of e-signatures (issue 8, branch): ask a client to sign the ROI, verify."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import staff_only
from portal.domain import access_policy, esign
from portal.domain.roles import Capability
from portal.forms import ActionForm
from portal.web import attempt
from staff_bridge import bp


@bp.post("/clients/<client_id>/signature-request")
@staff_only(Capability.EDIT_CLIENTS)
def request_signature(client_id: str):
    client = access_policy.get_client(current_user, client_id, "edit")
    form = ActionForm()
    if form.validate_on_submit():
        ok, _request = attempt(form, esign.request_signature, current_user, client)
        if ok:
            flash(_("Sent. The client sees it on their home page."), "success")
    return redirect(
        url_for("staff_bridge.client_record", client_id=client.public_id) + "#signatures", 303
    )


@bp.get("/signatures/<signature_id>/verify")
@staff_only(Capability.VIEW_CLIENTS)
def verify_signature(signature_id: str):
    signature, problems = esign.verify_for_staff(current_user, signature_id)
    return render_template("staff_bridge/esign/verify.html", signature=signature, problems=problems)
