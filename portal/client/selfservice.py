"""Client self-service pages (issue 5): dashboard, contact details, where to find me,
check-in, my updates, asking for the record, corrections. Record data waits for staff."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import client_only
from portal.client import bp
from portal.client.dashboard import shown_panels
from portal.client.forms import (
    ContactDetailsForm,
    CorrectionForm,
    LocationForm,
    RecordRequestForm,
)
from portal.domain import selfservice
from portal.domain.core.validation import show_phone
from portal.domain.records import access_policy
from portal.domain.selfservice import review
from portal.forms import ActionForm
from portal.web import attempt

SLOTS = (1, 2, 3)


def _own_client():
    return access_policy.client_of(current_user)


@bp.get("/home")
@client_only
def home():
    client = _own_client()
    return render_template(
        "client/home.html",
        panels=shown_panels(current_user, client),
        form=ActionForm(),
    )


@bp.post("/check-in")
@client_only
def check_in():
    if ActionForm().validate_on_submit():
        selfservice.check_in(current_user)
        flash(_("Thank you. Your care team knows you checked in today."), "success")
    return redirect(url_for("client.home"), code=303)


# --- contact details -------------------------------------------------------------------


def _contact_form_from(details) -> ContactDetailsForm:
    form = ContactDetailsForm(
        formdata=None,
        email=details.email,
        address_line1=details.address_line1,
        address_line2=details.address_line2,
        city=details.city,
        state=details.state,
        postal_code=details.postal_code,
        preferred_contact=details.preferred_contact,
    )
    for slot, phone in zip(SLOTS, details.phones, strict=False):
        getattr(form, f"phone_{slot}_number").data = show_phone(phone.number)
        getattr(form, f"phone_{slot}_kind").data = phone.kind
        getattr(form, f"phone_{slot}_voicemail").data = phone.voicemail_ok
        getattr(form, f"phone_{slot}_text").data = phone.text_ok
    return form


def _choices(form: ContactDetailsForm) -> ContactDetailsForm:
    for slot in SLOTS:
        getattr(form, f"phone_{slot}_kind").choices = [
            (k, str(v)) for k, v in selfservice.PHONE_KINDS.items()
        ]
    form.preferred_contact.choices = [(k, str(v)) for k, v in selfservice.CONTACT_METHODS.items()]
    return form


@bp.route("/contact", methods=["GET", "POST"])
@client_only
def contact_details():
    client = _own_client()
    form = _choices(ContactDetailsForm())
    if form.validate_on_submit():
        details = selfservice.ContactDetails(
            phones=[
                selfservice.PhoneEntry(
                    number=getattr(form, f"phone_{slot}_number").data or "",
                    kind=getattr(form, f"phone_{slot}_kind").data or "",
                    voicemail_ok=bool(getattr(form, f"phone_{slot}_voicemail").data),
                    text_ok=bool(getattr(form, f"phone_{slot}_text").data),
                )
                for slot in SLOTS
            ],
            email=form.email.data or "",
            address_line1=form.address_line1.data or "",
            address_line2=form.address_line2.data or "",
            city=form.city.data or "",
            state=form.state.data or "",
            postal_code=form.postal_code.data or "",
            preferred_contact=form.preferred_contact.data or "",
        )
        ok, sent = attempt(form, selfservice.submit_contact_details, current_user, details)
        if ok and not sent:  # nothing changed, and that answered a request from staff
            flash(_("Thank you. Your care team knows your details are still right."), "success")
            return redirect(url_for("client.home"), code=303)
        if ok:
            flash(
                _("Thank you. Your care team will check the changes; you can see them below."),
                "success",
            )
            return redirect(url_for("client.my_updates"), code=303)
    elif not form.is_submitted():
        form = _choices(_contact_form_from(selfservice.current_details(client)))
    return render_template(
        "client/contact.html",
        form=form,
        slots=SLOTS,
        pending={k: review.latest_pending(client, k) for k in review.KINDS},
    )


# --- where to find me ------------------------------------------------------------------


@bp.route("/where", methods=["GET", "POST"])
@client_only
def where_to_find_me():
    client = _own_client()
    form = LocationForm()
    form.place_kind.choices = [(k, str(v)) for k, v in selfservice.PLACE_KINDS.items()]
    if form.validate_on_submit():
        ok, _item = attempt(
            form,
            selfservice.submit_location,
            current_user,
            place_kind=form.place_kind.data or "",
            place=form.place.data or "",
            times=form.times.data or "",
            use_my_location=bool(form.use_my_location.data),
            latitude=form.latitude.data,
            longitude=form.longitude.data,
        )
        if ok:
            flash(_("Thank you. Only your care team will see where to find you."), "success")
            return redirect(url_for("client.home"), code=303)
    if form.is_submitted():  # shown again: the point as it would be kept, nothing finer (R63)
        form.latitude.data = selfservice.coordinate_as_kept(form.latitude.data)
        form.longitude.data = selfservice.coordinate_as_kept(form.longitude.data)
    shared = selfservice.last_location(client)
    if not form.is_submitted() and shared is not None:
        form.place_kind.data = shared.details.get("place_kind")
        form.place.data = shared.details.get("place")
        form.times.data = shared.details.get("times")
    return render_template("client/where.html", form=form, shared=shared)


# --- my updates, record requests, corrections -------------------------------------------


@bp.get("/updates")
@client_only
def my_updates():
    client = _own_client()
    items = review.items_for_client(client)
    return render_template(
        "client/updates.html",
        items=[(item, review.KINDS[item.kind].describe(review.payload_of(item))) for item in items],
        kinds=review.KINDS,
        reasons_for=lambda kind: review.KINDS[kind].reject_reasons,
        record_requests=selfservice.record_requests_of(client),
        parts=selfservice.RECORD_PARTS,
        tasks=selfservice.open_tasks(client),
        task_labels=selfservice.TASK_KINDS,
    )


@bp.route("/record-request", methods=["GET", "POST"])
@client_only
def record_request():
    form = RecordRequestForm()
    form.parts.choices = [(k, str(v)) for k, v in selfservice.RECORD_PARTS.items()]
    form.delivery.choices = [(k, str(v)) for k, v in selfservice.RECORD_DELIVERY.items()]
    if form.validate_on_submit():
        ok, _request = attempt(
            form,
            selfservice.request_record,
            current_user,
            parts=list(form.parts.data or []),
            delivery=form.delivery.data or "",
        )
        if ok:
            flash(_("Your request is sent. Your care team will contact you."), "success")
            return redirect(url_for("client.my_updates"), code=303)
    return render_template("client/record_request.html", form=form)


@bp.route("/correction", methods=["GET", "POST"])
@client_only
def correction():
    client = _own_client()
    form = CorrectionForm()
    fields = selfservice.correctable(client)
    form.field.choices = [(k, str(v)) for k, v in fields.items()]
    if form.validate_on_submit():
        ok, _item = attempt(
            form,
            selfservice.request_correction,
            current_user,
            field=form.field.data or "",
            text=form.text.data or "",
        )
        if ok:
            flash(_("Thank you. Your care team will look at it."), "success")
            return redirect(url_for("client.my_updates"), code=303)
    return render_template("client/correction.html", form=form, fields=fields)
