"""Staff side of e-signatures (issue 8): the agency's documents to sign (administrators),
asking one client or a shown list to sign, and checking a signature."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal.access import staff_only
from portal.domain import esign
from portal.domain.core.errors import DomainError
from portal.domain.core.roles import Capability
from portal.domain.records import access_policy
from portal.forms import month_choices
from portal.i18n import LANGUAGE_NAMES
from portal.web import attempt, per_staff_limit, writes
from staff_bridge import bp, bulk
from staff_bridge.forms import (
    NewTemplateForm,
    SignatureRequestForm,
    TemplateSettingsForm,
    TemplateTextForm,
    optional_date,
)

# --- asking clients to sign --------------------------------------------------------------------


def _request_form() -> SignatureRequestForm:
    form = SignatureRequestForm()
    form.template.choices = [
        (str(t.public_id), t.name) for t in esign.active_templates(current_user)
    ]
    form.due_month.choices = month_choices()
    return form


def _send(form: SignatureRequestForm, recipients):
    due = optional_date(form.due_day, form.due_month, form.due_year)
    if due is False:
        return False, None
    return attempt(
        form,
        esign.request_signatures,
        current_user,
        recipients,
        template=form.template.data or "",
        due_on=due,
        field_map={"due_on": "due_day"},
    )


@bp.post("/clients/<client_id>/signature-request")
@staff_only(Capability.EDIT_CLIENTS)
def request_signature(client_id: str):
    client = access_policy.get_client(current_user, client_id, "edit")
    form = _request_form()
    if form.validate_on_submit():
        if not form.template.data:  # the button of an agency with only its ROI
            form.template.data = form.template.choices[0][0]
        ok, _requests = _send(form, [client])
        if ok:
            flash(_("Sent. The client sees it on their home page."), "success")
        else:
            messages = [*form.form_errors, *(e for errs in form.errors.values() for e in errs)]
            flash(messages[0] if messages else _("Not sent."), "error")
    return redirect(
        url_for("staff_bridge.client_record", client_id=client.public_id) + "#signatures", 303
    )


@bp.route("/signatures/request", methods=["GET", "POST"])
@staff_only(Capability.EDIT_CLIENTS)
@per_staff_limit("10 per hour")
def request_signatures_bulk():
    """Choose clients, see the list, then ask each of them to sign a document."""
    return bulk.page(
        action="edit",
        form=_request_form(),
        send=_send,
        sent=lambda made: ngettext(
            "Sent to %(num)d client. They see it on their home page.",
            "Sent to %(num)d clients. They see it on their home page.",
            len(made),
        ),
        done_url=url_for("staff_bridge.request_signatures_bulk"),
        template="staff_bridge/esign/request_bulk.html",
        refused_status=400,
    )


@bp.get("/signatures/<signature_id>/verify")
@writes  # audited: every view writes its event
@staff_only(Capability.VIEW_CLIENTS)
def verify_signature(signature_id: str):
    signature, problems = esign.verify_for_staff(current_user, signature_id)
    return render_template("staff_bridge/esign/verify.html", signature=signature, problems=problems)


# --- the agency's documents to sign (administrators) ----------------------------------------


def _texts(form) -> dict[str, dict[str, str]]:
    return {
        code: {
            part: getattr(form, f"{part}_{code}").data or ""
            for part in ("title", "summary", "body")
        }
        for code in esign.LANGUAGES
    }


def _previews(form) -> list[tuple[str, object]]:
    """The texts as a client would see them, or nothing when one is not ready."""
    try:
        texts = esign.clean_texts(_texts(form))
    except DomainError:
        return []
    return [(LANGUAGE_NAMES.get(t.language, t.language), esign.preview(t)) for t in texts]


@bp.get("/templates")
@staff_only(Capability.MANAGE_TEMPLATES)
def template_list():
    templates = esign.templates_for(current_user)
    return render_template(
        "staff_bridge/esign/templates.html",
        templates=[(t, esign.newest_texts(t)) for t in templates],
        kinds=esign.KINDS,
        language_names=LANGUAGE_NAMES,
    )


@bp.route("/templates/new", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_TEMPLATES)
def new_template():
    form = NewTemplateForm()
    form.kind.choices = [(code, str(label)) for code, label in esign.KINDS.items()]
    if request.method == "GET":
        form.kind.data = "other"
        form.term_days.data = str(current_user.agency.default_roi_days)
    previews = []
    if form.validate_on_submit():
        if request.form.get("action") == "preview":
            previews = _previews(form)
            if not previews:
                attempt(form, esign.clean_texts, _texts(form))
        else:
            ok, template = attempt(
                form,
                esign.create_template,
                current_user,
                name=form.name.data,
                kind=form.kind.data or "",
                term_days=form.term_days.data,
                texts=_texts(form),
            )
            if ok:
                flash(_("Published. Staff can ask clients to sign it."), "success")
                return redirect(
                    url_for("staff_bridge.template_page", template_id=template.public_id), 303
                )
    status = 400 if form.has_errors else 200
    return render_template(
        "staff_bridge/esign/new_template.html",
        form=form,
        previews=previews,
        language_names=LANGUAGE_NAMES,
        languages=esign.LANGUAGES,
    ), status


def _template_page(template, settings_form, text_form, previews=(), status=200):
    return render_template(
        "staff_bridge/esign/template.html",
        template=template,
        kinds=esign.KINDS,
        settings_form=settings_form,
        form=text_form,
        previews=previews,
        versions=esign.version_history(template),
        language_names=LANGUAGE_NAMES,
        languages=esign.LANGUAGES,
    ), status


@bp.route("/templates/<template_id>", methods=["GET", "POST"])
@staff_only(Capability.MANAGE_TEMPLATES)
def template_page(template_id: str):
    """The template, its versions, and a new version (prefilled with the newest texts)."""
    template = esign.template_for_staff(current_user, template_id)
    settings_form = TemplateSettingsForm()
    if request.method == "GET":
        settings_form.name.data = template.name
        settings_form.term_days.data = str(template.roi_term_days or "")
        settings_form.active.data = template.is_active
    form = TemplateTextForm()
    if request.method == "GET":
        for code, version in esign.newest_texts(template).items():
            getattr(form, f"title_{code}").data = version.title
            getattr(form, f"summary_{code}").data = version.summary
            getattr(form, f"body_{code}").data = version.body
        return _template_page(template, settings_form, form)
    previews = []
    if form.validate_on_submit():
        if request.form.get("action") == "preview":
            previews = _previews(form)
            if not previews:
                attempt(form, esign.clean_texts, _texts(form))
        else:
            ok, number = attempt(form, esign.publish_version, current_user, template, _texts(form))
            if ok:
                flash(
                    _(
                        "Version %(number)d published. Documents signed before keep their version.",
                        number=number,
                    ),
                    "success",
                )
                return redirect(url_for("staff_bridge.template_page", template_id=template_id), 303)
    return _template_page(template, settings_form, form, previews, 400 if form.has_errors else 200)


@bp.post("/templates/<template_id>/settings")
@staff_only(Capability.MANAGE_TEMPLATES)
def template_settings(template_id: str):
    template = esign.template_for_staff(current_user, template_id)
    settings_form = TemplateSettingsForm()
    if settings_form.validate_on_submit():
        ok, _r = attempt(
            settings_form,
            esign.update_template,
            current_user,
            template,
            name=settings_form.name.data,
            term_days=settings_form.term_days.data,
            active=template.kind == "roi" or bool(settings_form.active.data),
        )
        if ok:
            flash(_("Saved."), "success")
            return redirect(url_for("staff_bridge.template_page", template_id=template_id), 303)
    return _template_page(template, settings_form, TemplateTextForm(formdata=None), status=400)
