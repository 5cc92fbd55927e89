"""The HMIS bridge, staff side (issue 21): the "to enter in the HMIS" worklist, and HUD CSV
exports (made by agency administrators, downloaded after re-authentication)."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal.access import staff_only
from portal.domain.accounts import factors
from portal.domain.core.roles import Capability
from portal.domain.core.validation import small_int
from portal.domain.hmis import export as hmis_export
from portal.domain.hmis import worklist
from portal.domain.records import clients
from portal.forms import ActionForm, ConfirmPasswordForm
from portal.integrations.storage import content_disposition
from portal.web import attempt, reads_first, reauthenticate, recently_authenticated
from staff_bridge import bp
from staff_bridge.forms import WorklistFilterForm

AGES = {"": "", "1": 1, "7": 7, "30": 30}


def _filters(form: WorklistFilterForm) -> worklist.WorklistFilter:
    kinds = worklist.kinds()
    form.kind.choices = [("", _("Every kind")), *((k, str(v)) for k, v in kinds.items())]
    form.accepted_by.choices = [
        ("", _("Anyone")),
        *((str(s.id), s.display_name) for s in clients.staff_choices_for_filter(current_user)),
    ]
    form.older_than.choices = [
        ("", _("Any age")),
        ("1", _("Over a day")),
        ("7", _("Over a week")),
        ("30", _("Over 30 days")),
    ]
    form.show.choices = [("waiting", _("Still to enter")), ("done", _("Done"))]
    return worklist.WorklistFilter(
        kind=form.kind.data if form.kind.data in kinds else "",
        accepted_by=small_int(form.accepted_by.data),
        older_than_days=AGES.get(form.older_than.data or "") or None,
        show=form.show.data if form.show.data in worklist.SHOWS else "waiting",
    )


@bp.get("/hmis/worklist")
@staff_only(Capability.REVIEW_CHANGES)
def hmis_worklist():
    form = WorklistFilterForm(request.args)
    filters = _filters(form)
    return render_template(
        "staff_bridge/hmis/worklist.html",
        form=form,
        filters=filters,
        lines=worklist.worklist(current_user, filters),
        counts=worklist.counts(current_user),
        kind_label=worklist.kind_label,
        can_undo=worklist.can_undo,
        action_form=ActionForm(),
    )


def _back_to_worklist():
    target = request.form.get("back", "")
    if not target.startswith("/staff/hmis/worklist"):
        target = url_for("staff_bridge.hmis_worklist")
    return redirect(target, code=303)


def _mark(entry_id: str, action, done: str):
    entry = worklist.get_entry(current_user, entry_id)
    form = ActionForm()
    if form.validate_on_submit():
        ok, _r = attempt(form, action, current_user, entry)
        flash(done if ok else str(form.refusal), "success" if ok else "error")
    return _back_to_worklist()


@bp.post("/hmis/worklist/<entry_id>/entered")
@staff_only(Capability.REVIEW_CHANGES)
def mark_hmis_entered(entry_id: str):
    done = _("Marked as entered in the HMIS. You can undo this for a day.")
    return _mark(entry_id, worklist.mark_entered, done)


@bp.post("/hmis/worklist/<entry_id>/undo")
@staff_only(Capability.REVIEW_CHANGES)
def undo_hmis_entered(entry_id: str):
    done = _("The mark is taken back: it is on the list to enter again.")
    return _mark(entry_id, worklist.undo_entered, done)


# --- exports ---------------------------------------------------------------------------


def _exports_page(form: ActionForm, status: int = 200):
    return (
        render_template(
            "staff_bridge/hmis/exports.html",
            form=form,
            exports=hmis_export.exports(current_user),
            waiting=hmis_export.not_exportable(current_user.agency),
        ),
        status,
    )


@bp.get("/hmis/exports")
@staff_only(Capability.IMPORT_HMIS)
def hmis_exports():
    return _exports_page(ActionForm())


@bp.post("/hmis/exports")
@staff_only(Capability.IMPORT_HMIS)
def make_hmis_export():
    form = ActionForm()
    if not form.validate_on_submit():
        return _exports_page(form)
    ok, made = attempt(form, hmis_export.make_export, current_user.agency, current_user)
    if not ok:
        return _exports_page(form)
    flash(_("The export is made. Download it below."), "success")
    return redirect(url_for("staff_bridge.hmis_export_page", export_id=made.public_id), code=303)


def _export_page(export, form: ConfirmPasswordForm, status: int = 200):
    return (
        render_template(
            "staff_bridge/hmis/export.html",
            export=export,
            form=form,
            confirm_form=ActionForm(),
            needs_password=not recently_authenticated(),
            has_factor=factors.has_factor(current_user),
        ),
        status,
    )


@bp.get("/hmis/exports/<export_id>")
@staff_only(Capability.IMPORT_HMIS)
def hmis_export_page(export_id: str):
    return _export_page(hmis_export.get_export(current_user, export_id), ConfirmPasswordForm())


@bp.post("/hmis/exports/<export_id>/download")
@staff_only(Capability.IMPORT_HMIS)
@reads_first
def download_hmis_export(export_id: str):
    """The zip, after the password (and second factor) again unless given in 5 minutes."""
    export = hmis_export.get_export(current_user, export_id)
    form = ConfirmPasswordForm()
    if not (form.validate_on_submit() and reauthenticate(form)):
        return _export_page(export, form)
    ok, content = attempt(form, hmis_export.content_of, export, current_user)
    if not ok:
        return _export_page(export, form)
    name = f"hmis-export-{export.sequence}.zip"
    return Response(
        content,
        mimetype="application/zip",
        headers={
            "Content-Disposition": content_disposition(name),
            "Cache-Control": "no-store",
        },
    )


@bp.post("/hmis/exports/<export_id>/confirm")
@staff_only(Capability.IMPORT_HMIS)
def confirm_hmis_export(export_id: str):
    export = hmis_export.get_export(current_user, export_id)
    form = ActionForm()
    if form.validate_on_submit():
        marked = hmis_export.confirm_imported(current_user, export)
        flash(
            ngettext(
                "Done: %(num)d change is marked as entered in the HMIS.",
                "Done: %(num)d changes are marked as entered in the HMIS.",
                marked,
            ),
            "success",
        )
    return redirect(url_for("staff_bridge.hmis_export_page", export_id=export.public_id), code=303)
