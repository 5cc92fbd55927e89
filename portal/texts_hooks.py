"""Where SMS gateways call the portal (issue 22): texts people send, and delivery reports.

Not pages: no session, no cookie, no CSRF token (a gateway has none). Each call proves itself
instead:
- Kannel signs nothing: its calls must come from an address in SMS_HOOK_ALLOW and carry
  SMS_HOOK_SECRET (in the `secret` query field or the X-Portal-Secret header). Incoming texts
  arrive by POST (Kannel's `post-url`). Kannel 1.4 calls a delivery report's `dlr-url` only
  with GET (measured): that one route also answers GET, and all it can do is move one text's
  delivery status forward (README, security notes, R41).
- A Twilio-compatible provider signs each call (X-Twilio-Signature over our URL and the form).
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, request

from portal import links
from portal.access import public
from portal.domain import texting
from portal.integrations.texts import twilio_signed
from portal.settings import current as current_settings
from portal.web import without_csrf_token, writes

bp = Blueprint("texts_hooks", __name__, url_prefix="/hooks/texts")

KANNEL_STATUS = {"1": "delivered", "2": "failed", "4": "accepted", "8": "accepted", "16": "failed"}


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _kannel_allowed() -> None:
    settings = current_settings()
    if settings.sms_transport != "kannel" or len(settings.sms_hook_secret) < 8:
        abort(404)
    if request.remote_addr not in settings.sms_hook_allow:
        abort(403)
    given = request.headers.get("X-Portal-Secret") or request.args.get("secret", "")
    if not hmac.compare_digest(given.encode(), settings.sms_hook_secret.encode()):
        abort(403)


@bp.post("/kannel/in")
@public
@without_csrf_token
def kannel_in():
    """An incoming text from Kannel's sms-service (`post-url`, `send-sender = true`)."""
    _kannel_allowed()
    sender = request.headers.get("X-Kannel-From") or request.args.get("from", "")
    # Kannel POSTs a text in its own coding: UTF-16BE for one sent as UCS-2 (any emoji).
    body = request.get_data(cache=False)
    try:
        text = body.decode(request.mimetype_params.get("charset") or "utf-8", "replace")
    except LookupError:
        text = body.decode("utf-8", "replace")
    text = text[:1600]
    if not texting.normalise_number(sender):
        abort(400)
    texting.receive(sender, text, transport="kannel")
    return Response("", 200, mimetype="text/plain")


@bp.route("/kannel/report", methods=["GET", "POST"])
@public
@without_csrf_token
@writes
def kannel_report():
    """A delivery report: Kannel's dlr-url, with `ref` (the text's id) and `status` (%d)."""
    _kannel_allowed()
    outcome = KANNEL_STATUS.get(request.values.get("status", ""))
    if outcome is None:
        abort(400)
    texting.record_report(
        ref=request.values.get("ref", ""),
        outcome=outcome,
        detail=f"kannel_{request.values['status']}",
    )
    return Response("", 200, mimetype="text/plain")


def _twilio_allowed(endpoint: str) -> None:
    settings = current_settings()
    if settings.sms_transport != "twilio":
        abort(404)
    url = links.external(endpoint)
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    form = {key: request.form.get(key, "") for key in request.form}
    if not twilio_signed(url, form, request.headers.get("X-Twilio-Signature", "")):
        abort(403)


TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@bp.post("/twilio/in")
@public
@without_csrf_token
def twilio_in():
    _twilio_allowed("texts_hooks.twilio_in")
    sender = request.form.get("From", "")
    if not texting.normalise_number(sender):
        abort(400)
    texting.receive(sender, request.form.get("Body", "")[:1600], transport="twilio")
    return Response(TWIML_EMPTY, 200, mimetype="text/xml")


TWILIO_STATUS = {
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "sent": "accepted",
    "queued": "accepted",
    "accepted": "accepted",
    "sending": "accepted",
}


@bp.post("/twilio/status")
@public
@without_csrf_token
def twilio_status():
    _twilio_allowed("texts_hooks.twilio_status")
    outcome = TWILIO_STATUS.get(request.form.get("MessageStatus", ""))
    if outcome is None:
        abort(400)
    code = request.form.get("ErrorCode", "")
    detail = f"twilio_{code}" if code else f"twilio_{request.form.get('MessageStatus')}"
    ref = request.args.get("ref") or request.form.get("MessageSid", "")
    texting.record_report(ref=ref, outcome=outcome, detail=detail)
    return Response("", 204)
