"""A client's texts and notices (issue 22): confirm a phone with a code, choose email, text,
both or neither per kind of notice, let texts name the agency, turn texts off."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import client_only
from portal.client import bp
from portal.client.forms import (
    CHANNEL_LABELS,
    NoticeChannelsForm,
    TextCodeForm,
    TextDetailsForm,
    TextStartForm,
)
from portal.domain import texting
from portal.domain.records import access_policy
from portal.forms import ActionForm
from portal.web import attempt, per_account_limit

KINDS = texting.NOTICE_KINDS


def _client():
    return access_policy.client_of(current_user)


def _page(start=None, code=None, details=None):
    client = _client()
    state = texting.state_of(client)
    phones = texting.textable_phones(client)
    start = start or TextStartForm()
    start.phone.choices = [(str(p.public_id), p.number) for p in phones]
    if not start.is_submitted() and phones:
        chosen = next((p for p in phones if p.number == state["number"]), phones[0])
        start.phone.data = str(chosen.public_id)
    details = details or TextDetailsForm()
    if not details.is_submitted() and state["consent"] is not None:
        details.allow_details.data = state["consent"].allow_details
    return render_template(
        "client/texts.html",
        state=state,
        phones=phones,
        start=start,
        code=code or TextCodeForm(),
        details=details,
        action=ActionForm(),
    )


@bp.get("/account/texts")
@client_only
def texts():
    return _page()


@bp.post("/account/texts/code")
@client_only
@per_account_limit("5 per hour")
def text_code():
    """Text a code to the phone chosen (one of the record's "texts OK" phones)."""
    form = TextStartForm()
    if form.validate_on_submit():
        ok, _r = attempt(
            form,
            texting.start,
            _client(),
            form.phone.data or "",
            agency=current_user.agency,
        )
        if ok:
            flash(_("We sent a code by text. It can take a minute to arrive."), "success")
            return redirect(url_for("client.texts", _anchor="type-code"), code=303)
    return _page(start=form)


@bp.post("/account/texts/confirm")
@client_only
@per_account_limit("10 per hour")  # 5 tries a code, 3 codes an hour: guessing stays slow
def text_confirm():
    form = TextCodeForm()
    if form.validate_on_submit():
        ok, _r = attempt(form, texting.confirm, _client(), form.code.data or "")
        if ok:
            flash(_("Done. This phone can get texts from the portal now."), "success")
            return redirect(url_for("client.notices"), code=303)
    return _page(code=form)  # 200: a wrong code's count must commit


@bp.post("/account/texts/details")
@client_only
def text_details():
    form = TextDetailsForm()
    if form.validate_on_submit():
        ok, _r = attempt(form, texting.set_details, _client(), bool(form.allow_details.data))
        if ok:
            flash(_("Saved."), "success")
            return redirect(url_for("client.texts"), code=303)
    return _page(details=form)


@bp.post("/account/texts/off")
@client_only
def texts_off():
    if ActionForm().validate_on_submit() and texting.turn_off(_client()):
        flash(_("Texts are off. Notices you chose to get by text come by email."), "success")
    return redirect(url_for("client.texts"), code=303)


# --- how each kind of notice reaches the client ----------------------------------------------


def _channels_form() -> NoticeChannelsForm:
    form = NoticeChannelsForm()
    allowed = [c for c in texting.CHANNELS if texting.enabled() or c in ("email", "none")]
    for kind in KINDS:
        field = getattr(form, kind)
        field.choices = [(c, CHANNEL_LABELS[c]) for c in allowed]
        if not form.is_submitted():
            field.data = texting.channel_for(current_user, kind)
    return form


@bp.route("/account/notices", methods=["GET", "POST"])
@client_only
def notices():
    form = _channels_form()
    if form.validate_on_submit():
        choices = {kind: getattr(form, kind).data or "" for kind in KINDS}
        ok, _r = attempt(form, texting.set_channels, current_user, choices)
        if ok:
            flash(_("Saved."), "success")
            return redirect(url_for("client.my_account"), code=303)
    return render_template(
        "client/notices.html", form=form, kinds=KINDS, texts=texting.state_of(_client())
    )
