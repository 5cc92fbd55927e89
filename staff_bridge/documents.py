"""Staff side of documents (issue 7): a client's documents, staff uploads to the record,
document requests to one client or several, safe downloads and review previews."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal import downloads
from portal.access import staff_only
from portal.domain import documents
from portal.domain.core.roles import Capability
from portal.domain.core.validation import small_int
from portal.domain.records import access_policy
from portal.forms import month_choices
from portal.web import accepts_uploads, attempt, per_staff_limit, writes
from staff_bridge import bp, bulk
from staff_bridge.forms import DocumentRequestForm, StaffDocumentForm, optional_date


def _documents_page(client, form, status: int = 200):
    return (
        render_template(
            "staff_bridge/documents/list.html",
            client=client,
            form=form,
            documents=documents.staff_documents(current_user, client),
            tasks=documents.open_document_tasks(client),
            categories=documents.CATEGORY_LABELS,
            reasons=documents.REJECT_REASONS,
            downloadable=documents.downloadable,
            max_mb=documents.max_upload_mb(),
        ),
        status,
    )


@bp.route("/clients/<client_id>/documents", methods=["GET", "POST"])
@accepts_uploads
@staff_only(Capability.VIEW_CLIENTS)
def client_documents(client_id: str):
    client = access_policy.get_client(current_user, client_id, "documents")
    form = StaffDocumentForm()
    if request.method == "POST" and form.validate_on_submit():
        upload = form.file.data
        ok, _document = attempt(
            form,
            documents.staff_upload,
            current_user,
            client,
            stream=upload.stream if upload else None,
            filename=upload.filename if upload else None,
            category=form.category.data,
            title=form.title.data,
            key=form.key.data,
            shown_to_client=form.shown_to_client.data,
        )
        if ok:
            flash(_("Saved to the client's record."), "success")
            return redirect(url_for("staff_bridge.client_documents", client_id=client_id), 303)
        refusal = getattr(form, "refusal", None)
        return _documents_page(client, form, getattr(refusal, "status", None) or 400)
    return _documents_page(client, form, 400 if form.is_submitted() else 200)


def _request_form() -> DocumentRequestForm:
    form = DocumentRequestForm()
    form.category.choices = [("", _("Choose one"))] + [
        (code, str(label)) for code, label in documents.CATEGORIES.items()
    ]
    form.due_month.choices = month_choices()
    return form


def _due(form: DocumentRequestForm):
    """The optional due date, or False after putting the error on the form."""
    return optional_date(form.due_day, form.due_month, form.due_year)


def _send_requests(form, recipients):
    due = _due(form)
    if due is False:
        return False, None
    return attempt(
        form,
        documents.request_documents,
        current_user,
        recipients,
        category=form.category.data,
        title=form.title.data,
        due_on=due,
        note=form.note.data,
        field_map={"due_on": "due_day"},
    )


@bp.route("/clients/<client_id>/documents/request", methods=["GET", "POST"])
@staff_only(Capability.EDIT_CLIENTS)
def request_document(client_id: str):
    client = access_policy.get_client(current_user, client_id, "edit")
    form = _request_form()
    if form.validate_on_submit():
        ok, _tasks = _send_requests(form, [client])
        if ok:
            flash(_("Request sent. The client sees it on their home page."), "success")
            return redirect(url_for("staff_bridge.client_documents", client_id=client_id), 303)
    return render_template("staff_bridge/documents/request.html", form=form, client=client)


@bp.route("/documents/request", methods=["GET", "POST"])
@staff_only(Capability.EDIT_CLIENTS)
@per_staff_limit("10 per hour")
def request_documents_bulk():
    """Choose clients, see the list, then ask each of them for a document."""
    return bulk.page(
        action="edit",
        form=_request_form(),
        send=_send_requests,
        sent=lambda tasks: ngettext(
            "Request sent to %(num)d client.", "Request sent to %(num)d clients.", len(tasks)
        ),
        done_url=url_for("staff_bridge.request_documents_bulk"),
        template="staff_bridge/documents/request_bulk.html",
    )


@bp.get("/documents/<document_id>/download")
@writes  # audited: every view writes its event
@staff_only(Capability.VIEW_CLIENTS)
def download_document(document_id: str):
    way = downloads.how()
    document = documents.download_for_staff(current_user, document_id, way)
    return downloads.send_document(document, way)


@bp.get("/documents/<document_id>/preview")
@writes  # audited: every view writes its event
@staff_only(Capability.VIEW_CLIENTS)
def preview_document(document_id: str):
    document = documents.download_for_staff(current_user, document_id, "preview")
    return downloads.send_preview(document, small_int(request.args.get("page")) or 1)
