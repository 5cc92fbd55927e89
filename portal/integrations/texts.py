"""Writing texts and handing them to a gateway: Kannel's HTTP `sendsms`, a Twilio-compatible
REST API, or (development) a folder.

A text's words come from its kind, in the recipient's language, built when it is sent: by
default only that there is something to look at and a link (never what a message said, who
wrote it or a program's name); with the client's leave, the agency's name. Every text begins
with SMS_BRAND, as carriers ask, so people know who writes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal import links
from portal.domain.texting import is_unicode, segments
from portal.settings import current as current_settings


class TextDeliveryError(RuntimeError):
    """The gateway could not take the text now (down, busy): the job retries later."""


class TextRefused(RuntimeError):
    """The gateway will never send this text (the number opted out with the carrier, or is
    not a mobile number): the text is dropped with `reason`."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Sent:
    ref: str | None  # the gateway's id for the text, when it gives one
    segments: int
    unicode: bool


# The words of each kind: (plain, with the agency's name when the client allows it). Plain is
# all a shared phone shows; the wording of each is tested in both languages.
WORDS: dict[str, tuple[Any, Any]] = {
    "code": (
        _l(
            "%(brand)s: your code is %(code)s. It works for 15 minutes. "
            "If you did not ask for it, ignore this text."
        ),
        None,
    ),
    "messages": (
        _l("%(brand)s: you have a new message from your care team. Read it here: %(link)s"),
        _l("%(brand)s: %(agency)s sent you a new message. Read it here: %(link)s"),
    ),
    "requests": (
        _l("%(brand)s: your care team asked you for something. See it here: %(link)s"),
        _l("%(brand)s: %(agency)s asked you for something. See it here: %(link)s"),
    ),
    "documents": (
        _l("%(brand)s: you have a document to sign or send. See it here: %(link)s"),
        _l("%(brand)s: %(agency)s asks you to sign or send a document. See it here: %(link)s"),
    ),
    "roi_renewal": (
        _l("%(brand)s: your permission to share your record ends soon. Renew it here: %(link)s"),
        _l(
            "%(brand)s: your permission to share your record with %(agency)s ends soon. "
            "Renew it here: %(link)s"
        ),
    ),
    "reply_stop": (
        _l("%(brand)s: you will get no more texts from us. Reply START to get them again."),
        None,
    ),
    "reply_start": (
        _l("%(brand)s: texts are on again. Reply STOP to end them, HELP for help."),
        None,
    ),
    "reply_help": (
        _l(
            "%(brand)s: notices about your record. Reply STOP to end texts. "
            "For help, ask your case manager or go to %(link)s"
        ),
        None,
    ),
    "reply_other": (
        _l(
            "%(brand)s: nobody reads replies to this number. "
            "To write to your care team, sign in: %(link)s"
        ),
        None,
    ),
}


def _words(kind: str, values: Mapping[str, Any]) -> str:
    if kind not in WORDS:
        raise ValueError(f"unknown text kind {kind!r}")
    plain, detailed = WORDS[kind]
    chosen = detailed if detailed is not None and values.get("agency") else plain
    return str(chosen) % values


# Where each kind's link goes: a short page, never an id (texts are short and phones shared).
TEXT_LINKS = {
    "messages": "client.messages",
    "requests": "client.home",
    "documents": "client.home",
    "roi_renewal": "client.sharing",
    "reply_help": "client.home",
    "reply_other": "client.sign_in",
}


def render(kind: str, language: str, params: Mapping[str, Any]) -> str:
    settings = current_settings()
    values = {**params, "brand": settings.sms_brand}  # no parameter replaces the brand
    values.pop("mail", None)
    with force_locale(language or "en"):
        if kind in TEXT_LINKS:
            values["link"] = links.external(TEXT_LINKS[kind])
        return " ".join(_words(kind, values).split())


def send(message, params: Mapping[str, Any]) -> Sent:
    text = render(message.kind, message.language, params)
    unicode = is_unicode(text)
    transport = current_settings().sms_transport
    if transport == "kannel":
        ref = _send_kannel(message, text, unicode)
    elif transport == "twilio":
        ref = _send_twilio(message, text)
    elif transport == "file":
        ref = _write_file(message, text)
    else:
        raise TextDeliveryError("no gateway")
    return Sent(ref=ref, segments=segments(text), unicode=unicode)


def _write_file(message, text: str) -> str:
    folder = current_settings().instance_path / "texts"
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(folder) / f"{message.public_id.hex}.txt"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"To: {message.to_number}\n\n{text}\n", encoding="utf-8")
    tmp.replace(path)
    return message.public_id.hex


# --- Kannel --------------------------------------------------------------------------------


def kannel_report_url(ref: str) -> str:
    """The dlr-url Kannel calls with the status (%d); Kannel 1.4 calls it with GET."""
    settings = current_settings()
    query = urlencode({"ref": ref, "secret": settings.sms_hook_secret})
    return f"{links.external('texts_hooks.kannel_report')}?{query}&status=%d"


def _send_kannel(message, text: str, unicode: bool) -> str:
    """POST to sendsms with X-Kannel headers (the password stays out of URLs and logs)."""
    settings = current_settings()
    ref = str(message.public_id)
    headers = {
        "X-Kannel-Username": settings.sms_kannel_username,
        "X-Kannel-Password": settings.sms_kannel_password,
        "X-Kannel-To": message.to_number.lstrip("+"),
        "X-Kannel-From": settings.sms_from.lstrip("+"),
        "X-Kannel-DLR-Mask": "31",
        "X-Kannel-DLR-URL": kannel_report_url(ref),
        "Content-Type": "text/plain; charset=utf-8",
    }
    if unicode:
        headers["X-Kannel-Coding"] = "2"  # UCS-2: other scripts arrive whole, 70 a segment
    try:
        answer = requests.post(
            settings.sms_kannel_url,
            data=text.encode("utf-8"),
            headers=headers,
            timeout=settings.sms_timeout_seconds,
        )
    except requests.RequestException as exc:
        raise TextDeliveryError(type(exc).__name__) from exc
    if answer.status_code in (200, 202) and answer.text.startswith(("0:", "3:")):
        return ref  # "0: Accepted for delivery", "3: Queued for later delivery"
    if answer.status_code == 400:
        raise TextRefused("gateway_refused")  # Kannel will never take this text
    # 403 (the sendsms password, an address Kannel does not allow), a 5xx, a busy box: the
    # operator can mend it, so the text waits (and goes by email once it is stale)
    raise TextDeliveryError(f"kannel {answer.status_code}")


# --- Twilio-compatible REST API --------------------------------------------------------------

# Twilio's error codes that mean a retry cannot help.
_TWILIO_REFUSALS = {
    21610: "stopped",
    21211: "invalid_number",
    21614: "not_mobile",
    21612: "unreachable",
}


def _send_twilio(message, text: str) -> str:
    settings = current_settings()
    sid = settings.sms_twilio_account_sid
    url = f"{settings.sms_twilio_api}/2010-04-01/Accounts/{sid}/Messages.json"
    sender = (
        {"MessagingServiceSid": settings.sms_from}
        if settings.sms_from.startswith("MG")
        else {"From": settings.sms_from}
    )
    data = {
        "To": message.to_number,
        "Body": text,
        # The text's own id rides along: a report that comes before the send job has stored
        # the provider's id (its MessageSid) still finds its text.
        "StatusCallback": links.external("texts_hooks.twilio_status", ref=str(message.public_id)),
        **sender,
    }
    try:
        answer = requests.post(
            url,
            data=data,
            auth=(sid, settings.sms_twilio_auth_token),
            timeout=settings.sms_timeout_seconds,
        )
    except requests.RequestException as exc:
        raise TextDeliveryError(type(exc).__name__) from exc
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code in (200, 201) and body.get("sid"):
        return str(body["sid"])[:64]
    code = body.get("code") if isinstance(body, dict) else None
    if answer.status_code == 400 and code in _TWILIO_REFUSALS:
        raise TextRefused(_TWILIO_REFUSALS[code])
    raise TextDeliveryError(f"twilio {answer.status_code}")


def twilio_signature(token: str, url: str, form: Mapping[str, str]) -> str:
    """Twilio's X-Twilio-Signature: HMAC-SHA1 over the full URL and the sorted POST fields."""
    payload = url + "".join(f"{key}{form[key]}" for key in sorted(form))
    digest = hmac.new(token.encode(), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_signed(url: str, form: Mapping[str, str], signature: str) -> bool:
    token = current_settings().sms_twilio_auth_token
    if not token or not signature:
        return False
    return hmac.compare_digest(twilio_signature(token, url, form), signature)
