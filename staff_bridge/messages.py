"""The staff inbox: conversations with clients of the staff member's agency (issue 6)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal.access import staff_only
from portal.domain import messaging
from portal.domain.core import clock
from portal.domain.core.roles import Capability
from portal.domain.core.validation import small_int
from portal.domain.records import access_policy
from portal.forms import ActionForm, MessageForm
from portal.web import attempt, per_staff_limit, writes
from staff_bridge import bp, bulk, inbox_counts
from staff_bridge.forms import AssignForm


@bp.get("/inbox")
@staff_only(Capability.MESSAGE_CLIENTS)
def inbox():
    view = request.args.get("view", "awaiting")
    view = view if view in messaging.INBOX_VIEWS else "awaiting"
    pages = max(1, -(-inbox_counts(current_user)[view] // messaging.INBOX_PAGE))
    page = min(small_int(request.args.get("page")) or 1, pages)
    conversations = messaging.inbox(current_user, view, page=page)
    return render_template(
        "staff_bridge/messages/inbox.html",
        view=view,
        page=page,
        pages=pages,
        conversations=conversations,
        overdue={c.id for c in conversations if messaging.is_overdue(c)},
        now=clock.now(),
    )


def _thread_page(thread, form, assign_form):
    messages, first_shown, older_page = messaging.messages_of(
        thread, before=request.args.get("before")
    )
    return render_template(
        "staff_bridge/messages/conversation.html",
        thread=thread,
        messages=messages,
        older_than=first_shown,
        older_page=older_page,
        render=messaging.render,
        form=form,
        assign_form=assign_form,
        action_form=ActionForm(),
        overdue=messaging.is_overdue(thread),
    )


def _assign_form(thread) -> AssignForm:
    form = AssignForm()
    form.staff.choices = [
        (str(s.public_id), s.display_name) for s in messaging.colleagues_for(current_user, thread)
    ]
    if thread.assigned_staff is not None and not form.is_submitted():
        form.staff.data = str(thread.assigned_staff.public_id)
    return form


@bp.route("/conversations/<conversation_id>", methods=["GET", "POST"])
@writes  # reading a conversation is audited and clears its unread count
@staff_only(Capability.MESSAGE_CLIENTS)
def conversation(conversation_id: str):
    thread = messaging.staff_conversation(current_user, conversation_id)
    form = MessageForm()
    if form.validate_on_submit():
        ok, _message = attempt(
            form,
            messaging.staff_write,
            current_user,
            thread,
            body=form.body.data,
            key=form.key.data,
        )
        if ok:
            flash(_("Sent. The client gets an email that there is a new message."), "success")
            return redirect(
                url_for(
                    "staff_bridge.conversation", conversation_id=thread.public_id, _anchor="newest"
                ),
                303,
            )
    elif not form.is_submitted():
        messaging.read_by_staff(current_user, thread)
    return _thread_page(thread, form, _assign_form(thread))


@bp.post("/conversations/<conversation_id>/assign")
@staff_only(Capability.MESSAGE_CLIENTS)
def assign_conversation(conversation_id: str):
    thread = messaging.staff_conversation(current_user, conversation_id)
    form = _assign_form(thread)
    if form.validate_on_submit():
        ok, colleague = attempt(form, messaging.assign, current_user, thread, form.staff.data)
        if ok:
            flash(_("Handed over to %(name)s.", name=colleague.display_name), "success")
            return redirect(
                url_for("staff_bridge.conversation", conversation_id=thread.public_id), 303
            )
    return _thread_page(thread, MessageForm(), form)


@bp.post("/conversations/<conversation_id>/handled")
@staff_only(Capability.MESSAGE_CLIENTS)
def mark_conversation_handled(conversation_id: str):
    thread = messaging.staff_conversation(current_user, conversation_id)
    if ActionForm().validate_on_submit():
        messaging.mark_handled(current_user, thread)
        flash(_("Marked as handled. A new message from the client opens it again."), "success")
    return redirect(url_for("staff_bridge.inbox"), 303)


@bp.route("/clients/<client_id>/message", methods=["GET", "POST"])
@staff_only(Capability.MESSAGE_CLIENTS)
def start_conversation(client_id: str):
    client = access_policy.get_client(current_user, client_id, "message")
    form = MessageForm()
    if form.validate_on_submit():
        ok, thread = attempt(
            form,
            messaging.start_conversation,
            current_user,
            client,
            body=form.body.data,
            key=form.key.data,
        )
        if ok:
            flash(_("Sent. The client gets an email that there is a new message."), "success")
            return redirect(
                url_for(
                    "staff_bridge.conversation", conversation_id=thread.public_id, _anchor="newest"
                ),
                303,
            )
    return render_template("staff_bridge/messages/start.html", form=form, client=client)


@bp.route("/messages/bulk", methods=["GET", "POST"])
@staff_only(Capability.MESSAGE_CLIENTS)
@per_staff_limit("10 per hour")
def bulk_message():
    """Choose recipients, see the list, then send: each client gets their own conversation."""
    return bulk.page(
        action="message",
        form=MessageForm(),
        send=lambda form, recipients: attempt(
            form,
            messaging.send_bulk,
            current_user,
            recipients,
            body=form.body.data,
            key=form.key.data,
        ),
        sent=lambda count: ngettext(
            "Queued for %(num)d client. The worker sends it in a moment.",
            "Queued for %(num)d clients. The worker sends them in a moment.",
            count,
        ),
        done_url=url_for("staff_bridge.inbox"),
        template="staff_bridge/messages/bulk.html",
    )
