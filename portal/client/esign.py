"""Client e-signatures (issue 8, branch): the disclosure, signing, declining."""

from __future__ import annotations

import hashlib

from flask import Response, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import client_only
from portal.client import bp
from portal.domain import esign
from portal.domain.core.errors import NotReady
from portal.domain.core.statuses import SignatureStatus
from portal.forms import ActionForm, DeclineForm, EsignConsentForm, RevokeForm, SignForm
from portal.security import safe_next
from portal.web import attempt, reauthenticate, recently_authenticated


@bp.route("/esign/consent", methods=["GET", "POST"])
@client_only
def esign_consent():
    form = EsignConsentForm()
    back = safe_next(request.values.get("next"), url_for("client.home"))
    if form.validate_on_submit():
        ok, _consent = attempt(
            form,
            esign.accept_disclosure,
            current_user,
            agrees="yes" if form.agrees.data else "",
            word=form.word.data or "",
        )
        if ok:
            flash(_("Thank you. You can now sign documents here."), "success")
            return redirect(back, 303)
    shown = esign.disclosure_for(current_user)
    return render_template("client/esign/consent.html", form=form, shown=shown, back=back)


@bp.get("/esign/sample.pdf")
@client_only
def esign_sample():
    data = esign.sample_pdf(current_user, current_user.preferred_language)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'inline; filename="sample.pdf"'
    # A PDF the browser's own viewer shows: nothing more than the sandbox restricts it, but no
    # page may frame it and it may set no base.
    response.headers["Content-Security-Policy"] = "sandbox; frame-ancestors 'none'; base-uri 'none'"
    return response


@bp.route("/sign/<request_id>", methods=["GET", "POST"])
@client_only
def sign_document(request_id: str):
    signing = esign.client_request(current_user, request_id)
    if signing.status == SignatureStatus.SIGNED:
        # Signed already (a double tap, a replayed submit, an old link): the answer the
        # signing got, not a refusal; nothing is signed twice (R67).
        flash(_("Signed. Your copy is in Documents."), "success")
        return redirect(url_for("client.documents_page"), 303)
    if esign.current_consent(current_user) is None:
        if request.method == "POST":  # R51: no signature without consent to electronic records
            raise NotReady(_("First read how signing on your phone works, and agree to it."))
        return redirect(url_for("client.esign_consent", next=request.path), 303)
    form = SignForm()
    version = esign.version_for(signing.template, current_user.preferred_language)
    if request.method == "POST" and form.validate_on_submit():
        fresh = recently_authenticated() or (form.password.data and reauthenticate(form))
        ok, _signature = attempt(
            form,
            esign.sign,
            current_user,
            signing,
            intent="yes" if form.intent.data else "",
            typed_name=form.typed_name.data or "",
            drawn=form.drawn.data,
            password_recent=bool(fresh),
            session_hash=hashlib.sha256(str(session.sid).encode()).hexdigest(),
            shown_version=form.shown.data or "",
            authentication={
                "method": "password",
                "password_typed_at": session.get("authenticated_at", ""),
            },
        )
        if ok or signing.status == SignatureStatus.SIGNED:  # or by the same tap a moment ago
            flash(_("Signed. Your copy is in Documents."), "success")
            return redirect(url_for("client.documents_page"), 303)
    status = 400 if request.method == "POST" else 200  # R52: a refused signature is a 400
    return (
        render_template(
            "client/esign/sign.html",
            form=form,
            signing=signing,
            version=version,
            title=esign.filled(version.title, version),
            shown=esign.shown_key(version),
            summary=esign.filled(version.summary, version),
            body=esign.render_markdown(esign.filled(version.body, version)),
            needs_password=not recently_authenticated(),
            decline_form=DeclineForm(),
        ),
        status,
    )


@bp.post("/sign/<request_id>/decline")
@client_only
def decline_document(request_id: str):
    signing = esign.client_request(current_user, request_id)
    form = DeclineForm()
    if form.validate_on_submit():
        ok, _r = attempt(form, esign.decline, current_user, signing, reason=form.reason.data)
        if ok:
            flash(_("You did not sign. Your care team is told."), "success")
            return redirect(url_for("client.home"), 303)
    return redirect(url_for("client.sign_document", request_id=request_id), 303)


@bp.route("/sharing", methods=["GET", "POST"])
@client_only
def sharing():
    """My permission to share (the ROI): what is in force, and taking it back."""
    form = RevokeForm()
    if request.method == "POST" and form.validate_on_submit():
        fresh = recently_authenticated() or (form.password.data and reauthenticate(form))
        ok, _revocation = attempt(
            form,
            esign.revoke_roi,
            current_user,
            intent="yes" if form.intent.data else "",
            typed_name=form.typed_name.data or "",
            password_recent=bool(fresh),
            session_hash=hashlib.sha256(str(session.sid).encode()).hexdigest(),
            authentication={"password_typed_at": session.get("authenticated_at", "")},
        )
        if ok:
            flash(
                _(
                    "Your permission is taken back. Partner agencies no longer see your "
                    "information. Your copy is in Documents."
                ),
                "success",
            )
            return redirect(url_for("client.sharing"), 303)
    return render_template(
        "client/esign/sharing.html",
        form=form,
        in_force=esign.roi_in_force_for(current_user),
        needs_password=not recently_authenticated(),
        consented=esign.current_consent(current_user) is not None,
        action_form=ActionForm(),
    )


@bp.post("/esign/withdraw")
@client_only
def withdraw_esign():
    if ActionForm().validate_on_submit():
        esign.withdraw_consent(current_user)
        flash(
            _("You will not sign electronically any more. Ask your case manager for paper."),
            "success",
        )
    return redirect(url_for("client.sharing"), 303)
