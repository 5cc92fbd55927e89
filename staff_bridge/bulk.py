"""Several clients at once (bulk messages, document requests, documents to sign): the filters,
the list the staff member sees, and on sending exactly that list again, each client checked
again. `page()` is the whole page; each feature gives its form, its send and its words."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import flash, redirect, render_template, request
from flask_login import current_user

from portal.domain.core.validation import small_int
from portal.domain.records import clients

Made = TypeVar("Made")  # what a bulk send made: the requests, or how many messages


def _filters() -> dict:
    """The filters, from the query string (the list) or the form (sending)."""
    source = request.form if request.method == "POST" else request.args
    status = source.get("account_status", "")
    return {
        "project": small_int(source.get("project", "")),
        "care_team": small_int(source.get("care_team", "")),
        "account_status": status if status in clients.ACCOUNT_STATES else "",
    }


def audience(action: str) -> tuple[dict, list]:
    """(filters, clients): a GET shows who matches; a POST is the list that was shown."""
    filters = _filters()
    if request.method == "POST":
        chosen = request.form.getlist("recipient")
        return filters, clients.chosen_clients(current_user, chosen, action=action)
    return filters, clients.matching_clients(current_user, action=action, **filters)


def page_context(filters: dict, recipients: list) -> dict:
    """What `staff_bridge/_bulk_audience.html` shows."""
    return {
        "filters": filters,
        "recipients": recipients,
        "limit": clients.BULK_LIMIT,
        "projects": clients.projects_for_filter(current_user),
        "staff_choices": clients.staff_choices_for_filter(current_user),
    }


def page(
    *,
    action: str,
    form,
    send: Callable[[object, list], tuple[bool, Made]],
    sent: Callable[[Made], str],
    done_url: str,
    template: str,
    refused_status: int = 200,
):
    """GET: the filters and who matches. POST: `send(form, recipients)` to exactly the list
    that was shown, returning (ok, what was made); then `sent(what was made)` is flashed and
    the browser goes to `done_url`. A refused form is shown again with `refused_status`."""
    filters, recipients = audience(action)
    if request.method == "POST" and form.validate_on_submit():
        ok, made = send(form, recipients)
        if ok:
            flash(sent(made), "success")
            return redirect(done_url, 303)
    status = refused_status if request.method == "POST" else 200
    return render_template(template, form=form, **page_context(filters, recipients)), status
