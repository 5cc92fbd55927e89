"""Client documents: upload from the phone (camera or files), see what happened, download
(issue 7)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import downloads
from portal.access import client_only
from portal.client import bp
from portal.domain import documents
from portal.domain.records import access_policy
from portal.forms import ConfirmPasswordForm, DocumentForm
from portal.web import accepts_uploads, attempt, reauthenticate, recently_authenticated, writes


def _page(form: DocumentForm, status: int = 200):
    client = access_policy.client_of(current_user)
    chosen = form.task.data if form.task.data != documents.NO_REQUEST else None
    task = documents.open_task(client, chosen) if chosen else None
    return (
        render_template(
            "client/documents/list.html",
            form=form,
            task=task,
            tasks=documents.open_document_tasks(client),
            documents=documents.client_documents(current_user),
            state_of=documents.client_state,
            states=documents.CLIENT_STATES,
            categories=documents.CATEGORY_LABELS,
            reasons=documents.REJECT_REASONS,
            downloadable=documents.downloadable,
            max_mb=documents.max_upload_mb(),
        ),
        status,
    )


@bp.route("/documents", methods=["GET", "POST"])
@accepts_uploads
@client_only
def documents_page():
    form = DocumentForm()
    if request.method == "GET" and request.args.get("task"):
        form.task.data = request.args["task"][:64]
    if form.validate_on_submit():
        upload = form.file.data
        ok, _document = attempt(
            form,
            documents.client_upload,
            current_user,
            stream=upload.stream if upload else None,
            filename=upload.filename if upload else None,
            category=form.category.data,
            title=form.title.data,
            key=form.key.data,
            task_id=form.task.data,
        )
        if ok:
            flash(
                _("Sent. We check the file for safety, then your case manager looks at it."),
                "success",
            )
            return redirect(url_for("client.documents_page"), 303)
        refusal = getattr(form, "refusal", None)
        return _page(form, getattr(refusal, "status", None) or 400)  # R45: refused is a 400
    return _page(form, 400 if form.is_submitted() else 200)


@bp.get("/documents/<document_id>/download")
@writes  # audited: every view writes its event
@client_only
def download_document(document_id: str):
    # Any file a client opens needs the password typed in the last 5 minutes (R27): a phone
    # left signed in must not hand over an ID, a pay stub or a medical letter, and the client
    # chooses the category, so none is exempt.
    documents.client_document(current_user, document_id)  # theirs, or 404 before asking
    if not recently_authenticated():
        return redirect(url_for("client.confirm_download", document_id=document_id), 303)
    way = downloads.how()
    document = documents.download_for_client(current_user, document_id, way)
    return downloads.send_document(document, way)


@bp.route("/documents/<document_id>/open", methods=["GET", "POST"])
@client_only
def confirm_download(document_id: str):
    """The password again before a file opens, unless typed in the last 5 minutes (R27), so
    nobody picking up a phone left signed in can open it."""
    document = documents.client_document(current_user, document_id)
    form = ConfirmPasswordForm()
    if form.validate_on_submit() and reauthenticate(form):
        return redirect(url_for("client.download_document", document_id=document_id), 303)
    return render_template(
        "client/documents/confirm.html",
        form=form,
        document=document,
        category=documents.CATEGORY_LABELS.get(document.category, ""),
    )
