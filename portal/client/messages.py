"""Client messages: conversations with the care team (issue 6)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.access import client_only
from portal.client import bp
from portal.domain import messaging
from portal.domain.records import access_policy
from portal.forms import MessageForm
from portal.web import attempt


@bp.get("/messages")
@client_only
def messages():
    conversations = messaging.client_conversations(current_user)
    return render_template(
        "client/messages/list.html",
        conversations=conversations,
        agency_names=messaging.agency_names({c.agency_id for c in conversations}),
        can_write=bool(messaging.recipients_for(access_policy.client_of(current_user))),
    )


@bp.route("/messages/new", methods=["GET", "POST"])
@client_only
def new_message():
    client = access_policy.client_of(current_user)
    recipients = messaging.recipients_for(client)
    form = MessageForm()
    form.recipient.choices = [
        (str(s.public_id), f"{s.display_name} · {s.agency.name}") for s in recipients
    ]
    if form.validate_on_submit():
        ok, message = attempt(
            form,
            messaging.client_write,
            current_user,
            body=form.body.data,
            key=form.key.data,
            recipient_id=form.recipient.data,
        )
        if ok:
            flash(_("Sent. Your care team will answer here."), "success")
            return redirect(
                url_for(
                    "client.conversation",
                    conversation_id=message.conversation.public_id,
                    _anchor="newest",
                ),
                303,
            )
    return render_template("client/messages/new.html", form=form, recipients=recipients)


@bp.route("/messages/<conversation_id>", methods=["GET", "POST"])
@client_only
def conversation(conversation_id: str):
    thread = messaging.client_conversation(current_user, conversation_id)
    form = MessageForm()
    if form.validate_on_submit():
        ok, _message = attempt(
            form,
            messaging.client_write,
            current_user,
            body=form.body.data,
            key=form.key.data,
            conversation_id=thread.public_id,
        )
        if ok:
            flash(_("Sent."), "success")
            return redirect(
                url_for("client.conversation", conversation_id=thread.public_id, _anchor="newest"),
                303,
            )
    else:
        messaging.read_by_client(thread)
    messages, first_shown, older_page = messaging.messages_of(
        thread, before=request.args.get("before")
    )
    return render_template(
        "client/messages/conversation.html",
        thread=thread,
        agency_name=messaging.agency_names({thread.agency_id}).get(thread.agency_id, ""),
        messages=messages,
        older_than=first_shown,
        older_page=older_page,
        can_write=messaging.can_write_to(thread),
        render=messaging.render,
        form=form,
    )
