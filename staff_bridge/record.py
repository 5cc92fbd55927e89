"""The staff client record is a list of registered sections (portal.page_parts), as the client
dashboard is a list of panels: a feature adds its section with `@section(order)` on a function
(actor, client) that returns the section's values, or None to show nothing (the feature's own
access rule decides). Its template is `staff_bridge/clients/sections/<name>.html`; it reads its
values as `section`, and the record's `client`, `relation`, `may` and `form`."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from portal.domain import esign, messaging, selfservice, texting
from portal.domain.accounts import client_accounts, invitations
from portal.domain.core import audit
from portal.domain.records import access_policy, clients
from portal.domain.selfservice import review
from portal.page_parts import PageParts
from staff_bridge.forms import CareTeamForm, StaffTextCodeForm, StaffTextStartForm

# What staff read for each kind of notice and each state of a text or an email. Answers to
# STOP, START and HELP go to a number, not a record (phones are shared): the record shows the
# number's STOP instead.
NOTICE_KIND_LABELS = {
    "messages": _l("New message"),
    "requests": _l("Request from staff"),
    "documents": _l("Document to sign or send"),
    "roi_renewal": _l("Release of Information renewal"),
    "code": _l("Code to confirm the phone"),
}
TEXT_STATUS_LABELS = {
    "queued": _l("Waiting to be sent"),
    "sent": _l("Sent"),
    "delivered": _l("Delivered"),
    "failed": _l("Did not arrive"),
    "dropped": _l("Not sent"),
}
DROP_REASON_LABELS = {
    "stale": _l("too late to be useful"),
    "quiet_hours": _l("quiet hours"),
    "stopped": _l("the phone replied STOP"),
    "bounced": _l("texts to this phone do not arrive"),
    "no_consent": _l("no confirmed phone"),
    "not_needed": _l("already seen or done"),
    "no_gateway": _l("texts are off"),
    "gateway_refused": _l("the gateway refused it"),
    "invalid_number": _l("not a valid number"),
    "not_mobile": _l("not a mobile phone"),
    "unreachable": _l("the phone cannot be reached"),
}

EVENT_LABELS = {
    "client.viewed": _l("Record viewed"),
    "client.created": _l("Record created"),
    "client.updated": _l("Record changed"),
    "care_team.added": _l("Added to the care team"),
    "care_team.removed": _l("Removed from the care team"),
    "care_team.seat_freed": _l("Care-team seat handed over"),
    "consent.recorded": _l("Release of Information recorded"),
    "access.denied": _l("Access refused"),
    "identity.checked": _l("Identity checked"),
    "invitation.issued": _l("Invited to the portal"),
    "invitation.cancelled": _l("Portal invitation cancelled"),
    "account.created": _l("Portal account created"),
    "client_account.deactivated": _l("Portal account deactivated"),
    "client_account.reinstated": _l("Portal account reinstated"),
    "password_reset.code_issued": _l("Password reset code printed"),
    "password_reset.link_sent_by_staff": _l("Password reset link emailed"),
    "review.submitted": _l("Sent a change through the portal"),
    "review.viewed": _l("Portal change viewed"),
    "review.accepted": _l("Portal change accepted"),
    "review.rejected": _l("Portal change not accepted"),
    "client.checked_in": _l("Checked in"),
    "client_task.created": _l("Asked to update"),
    "client_task.done": _l("Did what was asked"),
    "client_task.cancelled": _l("Request cancelled"),
    "record_request.created": _l("Asked for a copy of the record"),
    "record_request.fulfilled": _l("Record request fulfilled"),
}


SECTIONS = PageParts("staff_bridge/clients/sections")
section = SECTIONS.part
shown_sections = SECTIONS.shown


@section(10)
def identity(actor, client):
    labels = {"name": clients.NAME_QUALITY, "dob": clients.DOB_QUALITY, "ssn": clients.SSN_QUALITY}
    return {"labels": labels, "masked_ssn": clients.masked_ssn(client)}


def _describe_phone(phone) -> str:
    return selfservice.describe_phone(
        {
            "number": phone.number,
            "kind": phone.kind,
            "voicemail_ok": phone.voicemail_ok,
            "text_ok": phone.text_ok,
        }
    )


@section(20)
def contact(actor, client):
    return {
        "phones": selfservice.portal_phones(client),
        "describe_phone": _describe_phone,
        "methods": selfservice.CONTACT_METHODS,
        "portal_date": datetime.fromisoformat,
    }


@section(30)
def location(actor, client):
    shared = selfservice.location_for_staff(actor, client)
    if shared is None:
        return None
    return {"location": shared, "describe": selfservice.describe_location}


@section(40)
def waiting(actor, client):
    items = review.pending_for_client(actor, client)
    return {"pending": items, "kinds": review.KINDS} if items else None


@section(50)
def messages(actor, client):
    if not access_policy.can(actor, "message", client):
        return None
    return {"unread": messaging.unread_for_client_record(actor, client)}


@section(60)
def documents(actor, client):
    return {} if access_policy.can(actor, "documents", client) else None


@section(70)
def signatures(actor, client):
    requests = [(r, esign.signature_of(r)) for r in esign.requests_for_record(actor, client)]
    may_ask = access_policy.can(actor, "edit", client)
    return {"requests": requests, "signable": esign.active_templates(actor) if may_ask else []}


@section(80)
def requests(actor, client):
    return {"tasks": selfservice.open_tasks(client), "labels": selfservice.TASK_KINDS}


@section(90)
def portal_account(actor, client):
    return {
        "status": invitations.portal_status(client),
        "reason_labels": client_accounts.REASON_LABELS,
    }


@section(95)
def texts(actor, client):
    """How notices reached the client (email or text, when), and their texting number."""
    may_confirm = access_policy.can(actor, "edit", client)
    return {
        "state": texting.state_of(client),
        "notices": texting.notices_for(client),
        "phones": texting.textable_phones(client) if may_confirm else [],
        "may_confirm": may_confirm,
        "start": StaffTextStartForm(),
        "code": StaffTextCodeForm(),
        "kinds": NOTICE_KIND_LABELS,
        "statuses": TEXT_STATUS_LABELS,
        "reasons": DROP_REASON_LABELS,
    }


@section(100)
def consent(actor, client):
    return {"consent": clients.consent_in_force(client, access_policy.today_for(actor))}


@section(110)
def care_team(actor, client):
    return {"seats": clients.care_team_of(client), "form": CareTeamForm()}


@section(120)
def enrollments(actor, client):
    return {"enrollments": client.enrollments}


@section(130)
def audit_trail(actor, client):
    if access_policy.relationship_of(actor, client) != "owner":
        return None
    events = audit.events_for("client", str(client.public_id), limit=20)
    return {"events": events, "labels": EVENT_LABELS}
