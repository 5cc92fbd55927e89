"""The review queue, staff requests to clients, record requests and coordinated entry."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import staff_only
from portal.domain import selfservice
from portal.domain.core import clock
from portal.domain.core.errors import DomainError
from portal.domain.core.roles import Capability
from portal.domain.core.statuses import ReviewStatus
from portal.domain.core.validation import date_from_parts, small_int
from portal.domain.records import access_policy, clients, coordinated_entry
from portal.domain.selfservice import review
from portal.forms import ActionForm, month_choices
from portal.web import attempt, writes
from staff_bridge import bp
from staff_bridge.clients import to_record
from staff_bridge.forms import ClientTaskForm, ReviewDecisionForm, ReviewFilterForm

AGES = {"": 0, "2": 2, "7": 7, "30": 30}


EDITABLE = {"contact_email", "address", "preferred_contact"}


# --- the queue -----------------------------------------------------------------------------


@bp.get("/review")
@staff_only(Capability.REVIEW_CHANGES)
def review_queue():
    form = ReviewFilterForm(request.args)
    form.kind.choices = [("", _("Every kind"))] + [
        (k, str(v.label)) for k, v in review.KINDS.items()
    ]
    form.care_team.choices = [("", _("Anyone"))] + [
        (str(s.id), s.display_name) for s in clients.staff_choices_for_filter(current_user)
    ]
    form.older_than.choices = [
        ("", _("Any time")),
        ("2", _("More than 2 days")),
        ("7", _("More than a week")),
        ("30", _("More than 30 days")),
    ]
    care_team = form.care_team.data
    items = review.pending(
        current_user,
        review.QueueFilter(
            kind=form.kind.data or "",
            care_team_member=small_int(care_team),
            older_than_days=AGES.get(form.older_than.data or "", 0) or None,
        ),
    )
    return render_template(
        "staff_bridge/review/queue.html", form=form, items=items, kinds=review.KINDS
    )


def _item_page(item, form, status: int = 200):
    from portal.domain import documents

    kind = review.KINDS[item.kind]
    payload = review.payload_of(item)
    document = documents.document_of_item(item) if item.kind == "document" else None
    return (
        render_template(
            "staff_bridge/review/item.html",
            item=item,
            kind=kind,
            document=document,
            preview_pages=min(document.pages or 1, documents.PREVIEW_PAGES) if document else 0,
            new=kind.describe(payload),
            old=kind.describe(review.previous_of(item)) if review.previous_of(item) else None,
            editable=item.kind in EDITABLE and item.status == ReviewStatus.PENDING,
            form=form,
            reasons=kind.reject_reasons,
        ),
        status,
    )


def _decision_form(item) -> ReviewDecisionForm:
    form = ReviewDecisionForm()
    reasons = review.KINDS[item.kind].reject_reasons
    form.reason.choices = [(k, str(v)) for k, v in reasons.items()]
    form.method.choices = [(k, str(v)) for k, v in selfservice.CONTACT_METHODS.items()]
    if not form.is_submitted():
        form.version.data = str(item.version)
        payload = review.payload_of(item)
        form.email.data = payload.get("email")
        form.method.data = payload.get("method")
        for name in selfservice.ADDRESS_FIELDS:
            getattr(form, name).data = payload.get(name)
    return form


@bp.get("/review/<item_id>")
@writes  # audited: every view writes its event
@staff_only(Capability.REVIEW_CHANGES)
def review_item(item_id: str):
    item = review.get_item(current_user, item_id)
    review.record_viewed(current_user, item)
    return _item_page(item, _decision_form(item))


@bp.post("/review/<item_id>")
@staff_only(Capability.REVIEW_CHANGES)
def decide_review_item(item_id: str):
    item = review.get_item(current_user, item_id)
    form = _decision_form(item)
    if not form.validate_on_submit():
        return _item_page(item, form)
    version = small_int(form.version.data) or -1
    action = request.form.get("action", "")
    if action == "accept":
        ok, _r = attempt(
            form, review.accept, current_user, item, version, hmis_note=form.hmis_note.data or ""
        )
        message = (
            _("Accepted. The record is updated.")
            if review.KINDS[item.kind].changes_record
            else _("Marked as done. The client sees it was accepted.")
        )
    elif action == "edit" and item.kind in EDITABLE:
        edited = {
            "email": form.email.data,
            "method": form.method.data,
            **{n: getattr(form, n).data for n in selfservice.ADDRESS_FIELDS},
        }
        ok, _r = attempt(form, review.accept, current_user, item, version, edited=edited)
        message = _("Your edits are saved and accepted. The record is updated.")
    elif action == "reject":
        ok, _r = attempt(
            form,
            review.reject,
            current_user,
            item,
            version,
            reason=form.reason.data or "",
            note=form.note.data or "",
        )
        message = _("Not accepted. The client will see why.")
    else:
        ok, message = False, ""
        form.form_errors.append(_("Choose accept, edit or reject."))
    if ok:
        flash(message, "success")
        return redirect(url_for("staff_bridge.review_queue"), code=303)
    item = review.get_item(current_user, item_id)  # after a lost race: what was decided
    return _item_page(item, form)


# --- staff requests to a client --------------------------------------------------------


@bp.route("/clients/<client_id>/tasks", methods=["GET", "POST"])
@staff_only(Capability.EDIT_CLIENTS)
def new_client_task(client_id: str):
    client = access_policy.get_client(current_user, client_id, "edit")
    form = ClientTaskForm()
    form.kind.choices = [(k, str(v)) for k, v in selfservice.TASK_KINDS.items()]
    form.due_month.choices = month_choices()
    if form.validate_on_submit():
        try:
            due = (
                date_from_parts(
                    form.due_day.data, form.due_month.data, form.due_year.data, field="due_day"
                )
                if (form.due_day.data or form.due_year.data or form.due_month.data)
                else None
            )
        except DomainError as refusal:
            form.due_day.errors = [str(refusal.message)]
        else:
            ok, _task = attempt(
                form,
                selfservice.create_task,
                current_user,
                client,
                kind=form.kind.data or "",
                due_on=due,
                field_map={"due_on": "due_day"},
            )
            if ok:
                flash(_("Request sent. The client sees it on their home page."), "success")
                return to_record(client, "#requests")
    return render_template("staff_bridge/clients/task.html", form=form, client=client)


@bp.post("/clients/<client_id>/tasks/cancel")
@staff_only(Capability.EDIT_CLIENTS)
def cancel_client_task(client_id: str):
    client = access_policy.get_client(current_user, client_id, "edit")
    form = ActionForm()
    if form.validate_on_submit():
        ok, _r = attempt(
            form, selfservice.cancel_task, current_user, client, request.form.get("task", "")
        )
        if ok:
            flash(_("Request cancelled."), "success")
    return to_record(client, "#requests")


# --- record requests -----------------------------------------------------------------------


@bp.get("/record-requests")
@staff_only(Capability.MANAGE_REQUESTS)
def record_requests():
    return render_template(
        "staff_bridge/record_requests.html",
        requests=selfservice.open_record_requests(current_user),
        parts=selfservice.RECORD_PARTS,
        deliveries=selfservice.RECORD_DELIVERY,
        form=ActionForm(),
    )


@bp.post("/record-requests/fulfil")
@staff_only(Capability.MANAGE_REQUESTS)
def fulfil_record_request():
    form = ActionForm()
    if form.validate_on_submit():
        ok, _r = attempt(
            form, selfservice.fulfil_record_request, current_user, request.form.get("request", "")
        )
        flash(
            _("Marked as fulfilled.") if ok else " ".join(form.form_errors),
            "success" if ok else "error",
        )
    return redirect(url_for("staff_bridge.record_requests"), code=303)


# --- coordinated entry ---------------------------------------------------------------------


@bp.get("/coordinated-entry")
@staff_only(Capability.VIEW_CLIENTS)
def coordinated_entry_view():
    report = coordinated_entry.last_contact_report(current_user)
    if request.args.get("format") == "csv":
        coordinated_entry.exported(current_user, report)
        return _csv(report)
    return render_template("staff_bridge/coordinated_entry.html", report=report)


CE_COLUMNS = (
    "PersonalID",
    "FirstName",
    "LastName",
    "LastContact",
    "LastContactKind",
    "DaysSinceContact",
)


def _csv(report) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "PersonalID",
            "FirstName",
            "LastName",
            "LastContact",
            "LastContactKind",
            "DaysSinceContact",
        ]
    )

    def names(client) -> list[str]:
        return [
            coordinated_entry.csv_safe(client.personal_id),
            coordinated_entry.csv_safe(client.first_name or ""),
            coordinated_entry.csv_safe(client.last_name or ""),
        ]

    zone = ZoneInfo(current_user.agency.timezone)
    for row in report.rows:
        day = row.last_contact.astimezone(zone).date().isoformat()
        writer.writerow([*names(row.client), day, row.client.last_contact_kind or "", row.days])
    for client in report.never:  # no contact recorded: the last three columns empty
        writer.writerow([*names(client), "", "", ""])
    stamp = clock.now().date().isoformat()
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="coordinated-entry-{stamp}.csv"',
            "X-Content-Type-Options": "nosniff",
        },
    )
