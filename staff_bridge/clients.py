"""Staff pages for client records: list and search, the record, create and edit, care team,
paper Release of Information. Every load goes through the access policy."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.access import staff_only
from portal.domain.accounts import client_accounts, invitations
from portal.domain.core.errors import DomainError
from portal.domain.core.roles import Capability
from portal.domain.core.validation import date_from_parts
from portal.domain.records import access_policy, clients
from portal.forms import ActionForm, month_choices
from portal.web import attempt, writes
from staff_bridge import bp, record
from staff_bridge.forms import CareTeamForm, ClientForm, ClientSearchForm, ConsentForm


def to_record(client, anchor: str = ""):
    """Back to the client's record page (after a form, with an optional #anchor)."""
    return redirect(
        url_for("staff_bridge.client_record", client_id=client.public_id) + anchor, code=303
    )


def sheet_controls(client) -> dict:
    """The staff-only controls of a printed sheet, in the staff member's language (the sheet
    itself is in the client's)."""
    from flask_babel import get_locale

    return {
        "lang": str(get_locale() or "en"),
        "once": _(
            "This code is shown only once. Print it now: reloading this page makes a new code "
            "and cancels this one."
        ),
        "print": _("Print this sheet"),
        "back": _("Back to the record"),
        "back_url": url_for("staff_bridge.client_record", client_id=client.public_id),
    }


def _choices(mapping) -> list[tuple[str, str]]:
    return [(str(code), str(label)) for code, label in mapping.items()]


@bp.get("/clients")
@staff_only(Capability.VIEW_CLIENTS)
def client_list():
    form = ClientSearchForm(request.args)
    staff_choices, project_choices = clients.filter_choices(current_user)
    form.care_team.choices = [("", _("Anyone"))] + [
        (str(s.id), s.display_name) for s in staff_choices
    ]
    form.project.choices = [("", _("Any program"))] + [(str(p.id), p.name) for p in project_choices]
    form.portal_status.choices = [
        ("", _("Any")),
        *[(k, str(v)) for k, v in invitations.PORTAL_STATES.items()],
    ]
    page = request.args.get("page", "1")
    result = clients.search(
        current_user,
        text=form.q.data or "",
        project=form.project.data or "",
        care_team=form.care_team.data or "",
        portal_status=form.portal_status.data or "",
        page=int(page) if page.isascii() and page.isdigit() and len(page) < 7 else 1,
    )
    return render_template(
        "staff_bridge/clients/list.html",
        form=form,
        result=result,
        portal=result.statuses,
        reason_labels=client_accounts.REASON_LABELS,
    )


def _client_form(form: ClientForm) -> ClientForm:
    form.name_quality.choices = _choices(clients.NAME_QUALITY)
    form.dob_quality.choices = _choices(clients.DOB_QUALITY)
    form.ssn_quality.choices = [
        ("", _("Work it out from the number")),
        *_choices(clients.SSN_QUALITY),
    ]
    form.dob_month.choices = month_choices()
    form.preferred_language.choices = [("en", "English"), ("es", "Español")]
    return form


def _fields(form: ClientForm) -> clients.ClientFields:
    return clients.ClientFields(
        first_name=form.first_name.data or "",
        middle_name=form.middle_name.data or "",
        last_name=form.last_name.data or "",
        name_suffix=form.name_suffix.data or "",
        name_quality=form.name_quality.data or "",
        dob=date_from_parts(
            form.dob_day.data, form.dob_month.data, form.dob_year.data, field="dob"
        ),
        dob_quality=form.dob_quality.data or "",
        ssn=form.ssn.data or "",
        ssn_quality=form.ssn_quality.data or "",
        ssn_confirmed=bool(form.ssn_confirmed.data),
        email=form.email.data or "",
        phone=form.phone.data or "",
        address_line1=form.address_line1.data or "",
        address_line2=form.address_line2.data or "",
        city=form.city.data or "",
        state=form.state.data or "",
        postal_code=form.postal_code.data or "",
        preferred_language=form.preferred_language.data or "en",
    )


@bp.route("/clients/new", methods=["GET", "POST"])
@staff_only(Capability.EDIT_CLIENTS)
def new_client():
    form = _client_form(ClientForm())
    if request.method == "GET":
        form.name_quality.data = "1"
        form.dob_quality.data = "1"
    return _editor(form, None, _("Client record created."), clients.create_client, current_user)


@bp.route("/clients/<client_id>/edit", methods=["GET", "POST"])
@staff_only(Capability.EDIT_CLIENTS)
def edit_client(client_id: str):
    client = access_policy.get_client(current_user, client_id, "edit")
    if request.method == "GET":
        current = clients.fields_of(client)
        form = _client_form(
            ClientForm(
                data={
                    **current.__dict__,
                    "dob_day": str(current.dob.day) if current.dob else "",
                    "dob_month": str(current.dob.month) if current.dob else "",
                    "dob_year": str(current.dob.year) if current.dob else "",
                }
            )
        )
    else:
        form = _client_form(ClientForm())
    return _editor(form, client, _("Changes saved."), clients.update_client, current_user, client)


def _editor(form, client, success: str, action, *args):
    """The create and edit page: save, or show the form again with errors or SSN warnings."""
    warnings: tuple[str, ...] = ()
    if form.validate_on_submit():
        ok, result, warnings = _attempt_save(form, action, *args)
        if ok:
            flash(success, "success")
            saved = client or result
            return to_record(saved)
    return render_template(
        "staff_bridge/clients/edit.html",
        form=form,
        client=client,
        ssn_warnings=[str(clients.SSN_WARNINGS[w]) for w in warnings],
    )


def _attempt_save(form, action, *args):
    """(ok, result, ssn_warnings): a refused SSN pattern comes back as warnings to confirm."""
    try:
        ok, result = attempt(
            form, lambda: action(*args, _fields(form)), field_map={"dob": "dob_day"}
        )
        return ok, result, ()
    except clients.SsnNeedsConfirmation as needs:
        form.ssn.errors = [str(needs.message)]
        return False, None, needs.warnings


@bp.get("/clients/<client_id>")
@writes  # audited: every view writes its event
@staff_only(Capability.VIEW_CLIENTS)
def client_record(client_id: str):
    client = access_policy.get_client(current_user, client_id, "view")
    clients.record_viewed(current_user, client)
    return render_template(
        "staff_bridge/clients/record.html",
        client=client,
        relation=access_policy.relationship_of(current_user, client),
        may=lambda action: access_policy.can(current_user, action, client),
        sections=record.shown_sections(current_user, client),
        form=ActionForm(),
    )


@bp.post("/clients/<client_id>/care-team")
@staff_only(Capability.MANAGE_CARE_TEAM)
def add_care_team_member(client_id: str):
    client = access_policy.get_client(current_user, client_id, "manage_care_team")
    form = CareTeamForm()
    if form.validate_on_submit():
        ok, _seat = attempt(
            form,
            clients.add_to_care_team,
            current_user,
            client,
            email=form.email.data or "",
            case_manager=bool(form.case_manager.data),
        )
        flash(
            _("Added to the care team.")
            if ok
            else " ".join([*form.form_errors, *form.email.errors]),
            "success" if ok else "error",
        )
    return to_record(client, "#care-team")


@bp.post("/clients/<client_id>/care-team/remove")
@staff_only(Capability.MANAGE_CARE_TEAM)
def remove_care_team_member(client_id: str):
    client = access_policy.get_client(current_user, client_id, "manage_care_team")
    form = ActionForm()
    if form.validate_on_submit():
        ok, _r = attempt(
            form, clients.remove_from_care_team, current_user, client, request.form.get("staff", "")
        )
        flash(
            _("Removed from the care team.") if ok else " ".join(form.form_errors),
            "success" if ok else "error",
        )
    return to_record(client, "#care-team")


@bp.route("/clients/<client_id>/consents/new", methods=["GET", "POST"])
@staff_only(Capability.RECORD_CONSENT)
def record_consent(client_id: str):
    client = access_policy.get_client(current_user, client_id, "record_consent")
    form = ConsentForm()
    form.permission.choices = [
        ("yes", _("They gave permission to share")),
        ("no", _("They refused")),
    ]
    months = month_choices()
    form.start_month.choices = months
    form.end_month.choices = months
    if form.validate_on_submit():

        def save():
            if form.permission.data not in ("yes", "no"):
                raise DomainError(_l("Choose what the client decided."), field="permission")
            return clients.record_paper_consent(
                current_user,
                client,
                permission=form.permission.data == "yes",
                starts_on=date_from_parts(
                    form.start_day.data,
                    form.start_month.data,
                    form.start_year.data,
                    field="start_day",
                ),
                ends_on=date_from_parts(
                    form.end_day.data, form.end_month.data, form.end_year.data, field="end_day"
                ),
                document_reference=form.document_reference.data or "",
            )

        ok, _consent = attempt(
            form, save, field_map={"starts_on": "start_day", "ends_on": "end_day"}
        )
        if ok:
            flash(_("Release of Information recorded."), "success")
            return to_record(client)
    return render_template(
        "staff_bridge/clients/consent.html",
        form=form,
        client=client,
        default_days=current_user.agency.default_roi_days,
    )
