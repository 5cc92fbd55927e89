"""Issue 22: texts through the Twilio-compatible transport, and its two hooks.

No Twilio account is reachable from here (no network to api.twilio.com, no credentials), so
`FakeTwilio` stands in for the provider: a small HTTP server on this machine that takes the
portal's calls to the Messages API as Twilio does (`POST /2010-04-01/Accounts/{AccountSid}/
Messages.json`, HTTP Basic auth with the account SID and auth token, a form with To, Body,
StatusCallback and From or MessagingServiceSid) and CHECKS each one: a call that Twilio would
refuse is answered as Twilio answers it (401 code 20003, 400 code 21602...) and noted in
`problems`, which every test expects empty. It answers a good call like Twilio (201 and the
Message resource as JSON: "sid" SM..., "status" "queued"), or, when a test says so, as
Twilio does for a number that opted out with the carrier (400, code 21610), a busy provider
(429, code 20429), a provider that is down (503) or a slow one.

What Twilio sends back (delivery reports and texts people send) is posted to the portal's
hooks here, signed as Twilio signs (X-Twilio-Signature). The signature is computed twice: by
the portal's `twilio_signature` and by `documented_signature` below, written from Twilio's
description of the algorithm and checked against the worked example of its documentation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from portal import links
from portal.domain.core.statuses import JobStatus
from portal.domain.models import (
    ClientPhone,
    Job,
    OutboxMessage,
    TextInbound,
    TextMessage,
    TextNumber,
)
from portal.integrations import texts as transport
from portal.integrations.texts import twilio_signature
from tests.support import free_port
from tests.texting import NUMBER, PORTAL_NUMBER, run_jobs, texting_client, texts_to

ACCOUNT_SID = "AC" + "4f1d2c3b" * 4
AUTH_TOKEN = "b7c1e0d9a8f7e6d5c4b3a2f1e0d9c8b7"
MESSAGING_SERVICE_SID = "MG" + "9a8b7c6d" * 4
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
URL = re.compile(r"https?://\S+")


# --- Twilio's signature, from its documentation -------------------------------------------


def documented_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature as twilio.com/docs/usage/security describes it: the full URL of the
    request (scheme to query string), then each POST parameter's name and value, no
    delimiters, the parameters sorted by name (case-sensitive); HMAC-SHA1 of that with the
    auth token as the key; base64."""
    data = bytearray(url.encode("utf-8"))
    for name in sorted(params):
        data += name.encode("utf-8") + params[name].encode("utf-8")
    mac = hmac.new(auth_token.encode("utf-8"), digestmod=hashlib.sha1)
    mac.update(bytes(data))
    return base64.b64encode(mac.digest()).decode("ascii")


def signed(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """The signature of a call, both ways: they must agree before a test relies on it."""
    ours, documented = twilio_signature(token, url, form), documented_signature(token, url, form)
    assert ours == documented, "the portal's signature differs from Twilio's algorithm"
    return documented


# --- the stand-in provider ---------------------------------------------------------------


@dataclass
class Call:
    path: str
    auth: str
    content_type: str
    form: dict[str, str]
    status: int = 0
    sid: str | None = None


class FakeTwilio:
    """Twilio's Messages API, as far as the portal calls it; see the module docstring.

    `answer` says how it answers the next calls: "ok" (201), "opted_out" (400, 21610),
    "landline" (400, 21614),
    "busy" (429), "down" (503) or "slow" (201 after `slow_seconds`, or when released)."""

    def __init__(self, *, account_sid: str, auth_token: str, status_callback: str, sender: str):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.status_callback = status_callback
        self.sender = sender  # the From number, or a Messaging Service SID
        self.answer = "ok"
        self.slow_seconds = 5.0
        self.release = threading.Event()
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def accepted(self) -> list[Call]:
        return [c for c in self.calls if c.status == 201]

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                status, body = fake._take(
                    self.path,
                    self.headers.get("Authorization", ""),
                    self.headers.get("Content-Type", ""),
                    raw,
                )
                self._reply(status, body)

            def do_GET(self) -> None:
                fake._note(f"unexpected GET {self.path}")
                self._reply(405, {"code": 20004, "message": "Method not allowed"})

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the portal gave up waiting (the slow provider)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _note(self, problem: str) -> None:
        with self._lock:
            self.problems.append(problem)

    def _take(self, path: str, auth: str, content_type: str, raw: str) -> tuple[int, dict]:
        pairs = parse_qs(raw, keep_blank_values=True)
        repeated = sorted(k for k, v in pairs.items() if len(v) != 1)
        form = {k: v[0] for k, v in pairs.items()}
        call = Call(path=path, auth=auth, content_type=content_type, form=form)
        with self._lock:
            self.calls.append(call)
        status, body = self._check(call, repeated)
        if status == 201:
            status, body = self._answer(call)
        call.status = status
        return status, body

    def _error(self, status: int, code: int, message: str) -> tuple[int, dict]:
        return status, {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }

    def _check(self, call: Call, repeated: list[str]) -> tuple[int, dict]:
        """What Twilio checks (and what the portal must get right), as Twilio answers."""
        expected_path = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        if call.path != expected_path:
            self._note(f"path {call.path!r}, expected {expected_path!r}")
            return self._error(404, 20404, "The requested resource was not found")
        credentials = f"{self.account_sid}:{self.auth_token}".encode()
        if call.auth != "Basic " + base64.b64encode(credentials).decode():
            self._note("wrong or missing HTTP Basic auth")
            return self._error(401, 20003, "Authenticate")
        if not call.content_type.startswith("application/x-www-form-urlencoded"):
            self._note(f"content type {call.content_type!r}")
            return self._error(400, 20001, "Form parameters expected")
        form = call.form
        allowed = {"To", "Body", "StatusCallback", "From", "MessagingServiceSid"}
        if repeated or set(form) - allowed:
            self._note(f"fields repeated {repeated} or unknown {sorted(set(form) - allowed)}")
            return self._error(400, 20001, "Unexpected parameters")
        if not E164.match(form.get("To", "")):
            self._note(f"To {form.get('To')!r} is not E.164")
            return self._error(400, 21211, "Invalid 'To' Phone Number")
        senders = {k: form[k] for k in ("From", "MessagingServiceSid") if k in form}
        wanted = "MessagingServiceSid" if self.sender.startswith("MG") else "From"
        if senders != {wanted: self.sender}:
            self._note(f"sender {senders!r}, expected {wanted}={self.sender}")
            return self._error(400, 21603, "A 'From' or 'MessagingServiceSid' is required")
        if not form.get("Body") or len(form["Body"]) > 1600:
            self._note("Body empty or longer than 1600 characters")
            return self._error(400, 21602, "Message body is required")
        callback = form.get("StatusCallback") or ""
        if not callback.startswith(self.status_callback + "?ref="):
            self._note(f"StatusCallback {form.get('StatusCallback')!r}")
            return self._error(400, 21609, "Invalid StatusCallback URL")
        return 201, {}

    def _answer(self, call: Call) -> tuple[int, dict]:
        if self.answer == "opted_out":
            return self._error(400, 21610, "Attempt to send to unsubscribed recipient")
        if self.answer == "landline":
            return self._error(400, 21614, "'To' number is not a valid mobile number")
        if self.answer == "busy":
            return self._error(429, 20429, "Too Many Requests")
        if self.answer == "down":
            return self._error(503, 20503, "Service Unavailable")
        if self.answer == "slow":
            self.release.wait(self.slow_seconds)
        sid = "SM" + uuid.uuid4().hex
        call.sid = sid
        form = call.form
        return 201, {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form["Body"],
            "date_created": formatdate(usegmt=True),
            "date_sent": None,
            "date_updated": formatdate(usegmt=True),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "status": "accepted" if "MessagingServiceSid" in form else "queued",
            "to": form["To"],
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }


@contextmanager
def settings_of(app, **overrides):
    original = app.extensions["portal.settings"]
    app.extensions["portal.settings"] = original.with_overrides(**overrides)
    try:
        yield app.extensions["portal.settings"]
    finally:
        app.extensions["portal.settings"] = original


@pytest.fixture
def twilio(app, frozen_clock):
    """Texts on, through the stand-in provider. The clock stands at 10:30 in Los Angeles
    (agency A's zone), outside quiet hours, so a notice goes when its job runs."""
    base = app.extensions["portal.settings"].base_url.rstrip("/")
    fake = FakeTwilio(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        status_callback=f"{base}/hooks/texts/twilio/status",
        sender=PORTAL_NUMBER,
    )
    fake.start()
    try:
        with settings_of(
            app,
            sms_transport="twilio",
            sms_twilio_api=fake.url,
            sms_twilio_account_sid=ACCOUNT_SID,
            sms_twilio_auth_token=AUTH_TOKEN,
            sms_from=PORTAL_NUMBER,
        ):
            yield fake
    finally:
        fake.stop()
    assert fake.problems == [], fake.problems


@pytest.fixture
def person(app, make, agency_a, case_manager_user, database):
    return texting_client(app, make, agency_a, case_manager_user, database)


def number_state(database, number=NUMBER) -> TextNumber | None:
    database.session.expire_all()
    return database.session.scalar(select(TextNumber).where(TextNumber.number == number))


def bounced(database, number=NUMBER) -> bool:
    state = number_state(database, number)
    return state is not None and state.bounced_at is not None


def notice_mails(database, person) -> list[OutboxMessage]:
    return list(
        database.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.to_address == person.account.email,
                OutboxMessage.template == "new_message",
            )
        )
    )


def confirm_by_text(person, database, fake: FakeTwilio) -> None:
    """The client asks for a code on My account; it is texted through the provider; the
    client types it back and chooses texts only for every kind of notice."""
    phone = database.session.scalar(
        select(ClientPhone).where(ClientPhone.client_id == person.record.id)
    )
    sent = person.form(
        "/account/texts/code", {"phone": str(phone.public_id)}, token_from="/account/texts"
    )
    assert sent.status_code == 303
    run_jobs(database)
    [code_text] = texts_to(database, kind="code")
    [call] = fake.calls
    assert call.status == 201 and call.form["To"] == NUMBER
    assert code_text.status == "sent" and code_text.gateway_ref == call.sid
    code = re.search(r"\b(\d{6})\b", call.form["Body"]).group(1)
    done = person.form("/account/texts/confirm", {"code": code}, token_from="/account/texts")
    assert done.status_code == 303
    chosen = person.form(
        "/account/notices",
        {"messages": "text", "requests": "text", "documents": "text", "roi_renewal": "text"},
        token_from="/account/notices",
    )
    assert chosen.status_code == 303
    fake.calls.clear()


def staff_message(case_manager, person, body="Your appointment moved", key="k1") -> None:
    page = f"/staff/clients/{person.record.public_id}/message"
    done = case_manager.form(page, {"body": body, "key": key})
    assert done.status_code == 303


def texted_notice(case_manager, person, database, fake: FakeTwilio) -> TextMessage:
    """A message from the case manager, texted through the provider: the text, sent."""
    staff_message(case_manager, person, body="Secret housing news at Hope Shelter")
    run_jobs(database)
    [notice] = texts_to(database, kind="messages")
    assert notice.status == "sent"
    return notice


def send_job(database, text: TextMessage) -> Job:
    database.session.expire_all()
    [job] = [
        j
        for j in database.session.scalars(select(Job).where(Job.kind == "texts.send"))
        if j.payload.get("text_id") == text.id
    ]
    return job


def post_signed(client, endpoint: str, form: dict[str, str], *, signature: str | None = None):
    """POST a form to a hook as Twilio does: signed over the hook's URL as configured."""
    url = links.external(endpoint)
    headers = {"X-Twilio-Signature": signed(url, form) if signature is None else signature}
    return client.post(urlsplit(url).path, data=form, headers=headers)


def status_report(sid: str, status: str, error_code: str | None = None) -> dict[str, str]:
    """The form of Twilio's status callback for an outgoing text."""
    form = {
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": NUMBER,
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": PORTAL_NUMBER,
        "ApiVersion": "2010-04-01",
    }
    if error_code:
        form["ErrorCode"] = error_code
    return form


def incoming(body: str, sender: str = NUMBER) -> dict[str, str]:
    """The form of Twilio's webhook for a text someone sends the portal's number, its fields
    in the order Twilio sends them (not sorted: the signature sorts them)."""
    sid = "SM" + uuid.uuid4().hex
    return {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "94030",
        "SmsSid": sid,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN BRUNO",
        "Body": body,
        "FromCountry": "US",
        "To": PORTAL_NUMBER,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


# --- the signature ---------------------------------------------------------------------------


def test_the_documented_signature_matches_twilios_worked_example_and_the_portals():
    """Twilio's documentation signs these fields (in this order) and this URL with auth token
    12345 and prints the signature; both implementations give it, and agree on a text with
    accents."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "Digits": "1234",
        "To": "+18005551212",
        "From": "+14158675310",
        "Caller": "+14158675310",
        "CallSid": "CA1234567890ABCDE",
    }
    assert documented_signature("12345", url, params) == "GvWf1cFY/Q7PnoempGyD5oXAezc="
    assert twilio_signature("12345", url, params) == "GvWf1cFY/Q7PnoempGyD5oXAezc="
    form = incoming("¡Ayuda, por favor! ñandú")
    hook = "https://portal.test/hooks/texts/twilio/in"
    assert twilio_signature(AUTH_TOKEN, hook, form) == documented_signature(AUTH_TOKEN, hook, form)
    assert documented_signature(AUTH_TOKEN, hook, {**form, "Body": "STOP"}) != (
        documented_signature(AUTH_TOKEN, hook, form)
    )


# --- sending ---------------------------------------------------------------------------------


def test_a_notice_goes_to_the_provider_once_with_only_a_link(
    app, twilio, person, case_manager, database
):
    confirm_by_text(person, database, twilio)
    notice = texted_notice(case_manager, person, database, twilio)

    [call] = twilio.calls
    assert call.status == 201
    assert call.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    form = call.form
    assert form["To"] == NUMBER and form["From"] == PORTAL_NUMBER
    assert "MessagingServiceSid" not in form
    hook = "https://portal.test/hooks/texts/twilio/status"
    assert form["StatusCallback"] == f"{hook}?ref={notice.public_id}"
    words = form["Body"]
    brand = app.extensions["portal.settings"].sms_brand
    assert words.startswith(f"{brand}: ") and "new message" in words
    assert URL.findall(words) == [links.external("client.messages")]
    for secret in ("Secret", "housing", "Hope", "Casey", "Agency A"):
        assert secret not in words
    for name in (person.record.first_name, person.record.last_name, person.account.first_name):
        assert not name or name not in words

    assert notice.gateway_ref == call.sid and notice.gateway_ref.startswith("SM")
    assert notice.segments == 1 and notice.sent_at is not None
    assert notice.secret_params is None
    assert notice_mails(database, person) == []  # texts only


def test_a_messaging_service_sends_its_sid_instead_of_a_from_number(app, twilio, person, database):
    twilio.sender = MESSAGING_SERVICE_SID
    with settings_of(app, sms_from=MESSAGING_SERVICE_SID):
        phone = database.session.scalar(
            select(ClientPhone).where(ClientPhone.client_id == person.record.id)
        )
        sent = person.form(
            "/account/texts/code", {"phone": str(phone.public_id)}, token_from="/account/texts"
        )
        assert sent.status_code == 303
        run_jobs(database)
    [call] = twilio.calls
    assert call.status == 201
    assert call.form["MessagingServiceSid"] == MESSAGING_SERVICE_SID
    assert "From" not in call.form
    [code_text] = texts_to(database, kind="code")
    assert code_text.status == "sent" and code_text.gateway_ref == call.sid


# --- delivery reports ------------------------------------------------------------------------


def test_a_signed_delivery_report_marks_the_text_delivered(
    app, twilio, person, case_manager, anonymous, database
):
    confirm_by_text(person, database, twilio)
    notice = texted_notice(case_manager, person, database, twilio)

    for status in ("sent", "delivered"):
        answer = post_signed(
            anonymous, "texts_hooks.twilio_status", status_report(notice.gateway_ref, status)
        )
        assert answer.status_code == 204
    database.session.refresh(notice)
    assert notice.status == "delivered" and notice.delivered_at is not None
    assert notice.gateway_status == "twilio_delivered"
    assert not bounced(database)


def test_a_report_that_comes_before_the_provider_id_is_stored_finds_its_text_by_ref(
    app, twilio, person, case_manager, anonymous, database
):
    """The status callback carries the text's own id (`?ref=`), signed with the rest: a report
    that overtakes the send job's commit (which stores the MessageSid) is not lost."""
    confirm_by_text(person, database, twilio)
    notice = texted_notice(case_manager, person, database, twilio)
    callback = twilio.calls[-1].form["StatusCallback"]
    notice.gateway_ref = None  # as if the job had not committed the provider's id yet
    database.session.commit()
    form = status_report("SM-not-stored-yet", "delivered")
    path = urlsplit(callback)
    answer = anonymous.post(
        f"{path.path}?{path.query}",
        data=form,
        headers={"X-Twilio-Signature": signed(callback, form)},
    )
    assert answer.status_code == 204
    database.session.refresh(notice)
    assert notice.status == "delivered"
    forged = anonymous.post(
        f"{path.path}?{path.query}",
        data=form,
        headers={"X-Twilio-Signature": signed(callback.split("?")[0], form)},
    )
    assert forged.status_code == 403  # the ref is covered by the signature


def test_an_undelivered_report_marks_the_number_bounced_then_notices_go_by_email(
    app, twilio, person, case_manager, anonymous, database, frozen_clock
):
    confirm_by_text(person, database, twilio)
    notice = texted_notice(case_manager, person, database, twilio)

    report = status_report(notice.gateway_ref, "undelivered", error_code="30003")
    assert post_signed(anonymous, "texts_hooks.twilio_status", report).status_code == 204
    database.session.refresh(notice)
    assert notice.status == "failed" and notice.failed_at is not None
    assert notice.gateway_status == "twilio_30003"
    state = number_state(database)
    assert state.bounced_at is not None and state.bounce_reason == "twilio_30003"

    # A later report never moves the text back; the client chose texts only: email instead.
    late = status_report(notice.gateway_ref, "delivered")
    assert post_signed(anonymous, "texts_hooks.twilio_status", late).status_code == 204
    database.session.refresh(notice)
    assert notice.status == "failed"
    # The staff record says so.
    page = case_manager.get(f"/staff/clients/{person.record.public_id}")
    assert page.status_code == 200
    text = " ".join(page.get_data(as_text=True).split())
    assert "A text to this phone did not arrive" in text
    assert "Notices go by email until the phone is confirmed again." in text
    assert "Did not arrive" in text  # the failed text in the list of notices

    twilio.calls.clear()
    staff_message(case_manager, person, key="k2")
    frozen_clock.advance(timedelta(hours=1, minutes=1))  # one notice an hour per conversation
    run_jobs(database)
    assert twilio.calls == []
    assert len(texts_to(database, kind="messages")) == 1
    # the notice that did not arrive went by email when its report came, and so does the next
    mails = notice_mails(database, person)
    assert len(mails) == 2 and {m.notice_kind for m in mails} == {"messages"}


# --- texts people send -----------------------------------------------------------------------


def test_a_signed_stop_stops_texts_and_queues_the_answer(
    app, twilio, person, case_manager, anonymous, database
):
    confirm_by_text(person, database, twilio)
    answer = post_signed(anonymous, "texts_hooks.twilio_in", incoming("Stop"))
    assert answer.status_code == 200 and answer.mimetype == "text/xml"
    assert "<Response></Response>" in answer.get_data(as_text=True)  # Twilio sends nothing

    state = number_state(database)
    assert state.stopped_at is not None
    [inbound] = database.session.scalars(select(TextInbound)).all()
    assert (inbound.number, inbound.keyword, inbound.transport) == (NUMBER, "stop", "twilio")
    [reply] = texts_to(database, kind="reply_stop")
    assert reply.status == "queued"

    staff_message(case_manager, person)
    run_jobs(database)
    [call] = twilio.calls  # the answer to STOP, and no notice
    assert call.form["To"] == NUMBER and "START" in call.form["Body"]
    database.session.refresh(reply)
    assert reply.status == "sent" and reply.gateway_ref == call.sid
    assert texts_to(database, kind="messages") == []
    assert len(notice_mails(database, person)) == 1


def test_ayuda_gets_the_help_answer_in_spanish(app, twilio, person, anonymous, database):
    confirm_by_text(person, database, twilio)
    answer = post_signed(anonymous, "texts_hooks.twilio_in", incoming("¡Ayuda!"))
    assert answer.status_code == 200
    [inbound] = database.session.scalars(select(TextInbound)).all()
    assert (inbound.keyword, inbound.language) == ("help", "es")
    assert number_state(database).stopped_at is None
    [reply] = texts_to(database, kind="reply_help")
    assert reply.language == "es"
    run_jobs(database)
    [call] = twilio.calls
    assert call.form["To"] == NUMBER
    words = call.form["Body"]
    assert words == transport.render("reply_help", "es", {})
    assert "PARAR" in words and words != transport.render("reply_help", "en", {})
    assert URL.findall(call.form["Body"]) == [links.external("client.home")]
    database.session.refresh(reply)
    assert reply.status == "sent"


def _nothing_changed(database) -> None:
    database.session.expire_all()
    assert database.session.scalars(select(TextInbound)).all() == []
    assert number_state(database) is None
    assert database.session.scalar(select(func.count(TextMessage.id))) == 0
    assert database.session.scalar(select(func.count(Job.id)).where(Job.kind == "texts.send")) == 0


HOOK_IN = "https://portal.test/hooks/texts/twilio/in"


@pytest.mark.requirement("R41")
@pytest.mark.parametrize(
    "how",
    [
        "no signature",
        "empty signature",
        "another auth token",
        "the status hook's URL",
        "plain http",
        "another host",
        "a query string the call did not have",
        "a query string left out",
        "the body changed after signing",
        "a field added after signing",
    ],
)
def test_an_incoming_text_without_a_good_signature_is_refused(
    app, twilio, anonymous, database, how
):
    form = incoming("STOP")
    signature = {
        "no signature": None,
        "empty signature": "",
        "another auth token": documented_signature("0" * 32, HOOK_IN, form),
        "the status hook's URL": signed("https://portal.test/hooks/texts/twilio/status", form),
        "plain http": signed("http://portal.test/hooks/texts/twilio/in", form),
        "another host": signed("https://attacker.example/hooks/texts/twilio/in", form),
        "a query string the call did not have": signed(HOOK_IN + "?x=1", form),
        "a query string left out": signed(HOOK_IN, form),
        "the body changed after signing": signed(HOOK_IN, {**form, "Body": "HELP"}),
        "a field added after signing": signed(HOOK_IN, form),
    }[how]
    if how == "a field added after signing":
        form = {**form, "Extra": "1"}
    path = "/hooks/texts/twilio/in" + ("?x=1" if how == "a query string left out" else "")
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    answer = anonymous.post(path, data=form, headers=headers)
    assert answer.status_code == 403
    _nothing_changed(database)
    # The same text, signed as Twilio signs it, is taken.
    good = post_signed(anonymous, "texts_hooks.twilio_in", incoming("STOP"))
    assert good.status_code == 200 and number_state(database).stopped_at is not None


@pytest.mark.requirement("R41")
def test_a_delivery_report_without_a_good_signature_is_refused(
    app, twilio, person, case_manager, anonymous, database
):
    confirm_by_text(person, database, twilio)
    notice = texted_notice(case_manager, person, database, twilio)
    forged = status_report(notice.gateway_ref, "undelivered", error_code="30003")
    hook = "https://portal.test/hooks/texts/twilio/status"
    for headers in (
        {},
        {"X-Twilio-Signature": documented_signature("0" * 32, hook, forged)},
        {"X-Twilio-Signature": signed("https://portal.test/hooks/texts/twilio/in", forged)},
        {"X-Twilio-Signature": signed(hook, status_report(notice.gateway_ref, "delivered"))},
    ):
        answer = anonymous.post("/hooks/texts/twilio/status", data=forged, headers=headers)
        assert answer.status_code == 403
    database.session.refresh(notice)
    assert notice.status == "sent" and notice.gateway_status is None
    assert not bounced(database)


# --- the provider refuses, is busy, down or slow ---------------------------------------------


def test_a_number_that_opted_out_with_the_carrier_is_marked_stopped(
    app, twilio, person, case_manager, database
):
    confirm_by_text(person, database, twilio)
    twilio.answer = "opted_out"
    staff_message(case_manager, person)
    run_jobs(database)
    [call] = twilio.calls
    assert call.status == 400
    [notice] = texts_to(database, kind="messages")
    assert notice.status == "dropped" and notice.drop_reason == "stopped"
    assert notice.sent_at is None and notice.gateway_ref is None
    assert number_state(database).stopped_at is not None
    [mail] = notice_mails(database, person)  # texts only: STOP ends texts, not notices
    assert mail.notice_kind == "messages"
    run_jobs(database)
    assert len(twilio.calls) == 1  # dropped for good: never tried again


def test_a_number_that_is_not_a_mobile_is_marked_bounced_and_the_email_goes(
    app, twilio, person, case_manager, database
):
    confirm_by_text(person, database, twilio)
    twilio.answer = "landline"
    staff_message(case_manager, person)
    run_jobs(database)
    [notice] = texts_to(database, kind="messages")
    assert (notice.status, notice.drop_reason) == ("dropped", "not_mobile")
    state = number_state(database)
    assert state.bounced_at is not None and state.bounce_reason == "not_mobile"
    [mail] = notice_mails(database, person)
    assert mail.notice_kind == "messages"


@pytest.mark.parametrize(("answer", "status"), [("busy", 429), ("down", 503)])
def test_a_busy_or_down_provider_leaves_the_text_queued_and_the_job_retries(
    app, twilio, person, case_manager, database, frozen_clock, answer, status
):
    confirm_by_text(person, database, twilio)
    twilio.answer = answer
    staff_message(case_manager, person)
    run_jobs(database)
    [call] = twilio.calls
    assert call.status == status
    [notice] = texts_to(database, kind="messages")
    assert notice.status == "queued" and notice.gateway_ref is None
    job = send_job(database, notice)
    assert job.status == JobStatus.QUEUED and job.last_error == "TextDeliveryError"
    run_jobs(database)
    assert len(twilio.calls) == 1  # it waits before it tries again

    twilio.answer = "ok"
    frozen_clock.advance(timedelta(minutes=1, seconds=1))
    run_jobs(database)
    run_jobs(database)
    assert [c.status for c in twilio.calls] == [status, 201]
    database.session.refresh(notice)
    assert notice.status == "sent" and notice.gateway_ref == twilio.calls[-1].sid
    assert notice_mails(database, person) == []


def test_a_provider_slower_than_the_timeout_leaves_the_text_queued(
    app, twilio, person, case_manager, database, frozen_clock
):
    confirm_by_text(person, database, twilio)
    twilio.answer = "slow"
    with settings_of(app, sms_timeout_seconds=0.5):
        staff_message(case_manager, person)
        began = time.monotonic()
        run_jobs(database)
        waited = time.monotonic() - began
    assert 0.5 <= waited < 3, waited
    assert len(twilio.calls) == 1  # the provider had it
    [notice] = texts_to(database, kind="messages")
    assert notice.status == "queued" and notice.sent_at is None
    job = send_job(database, notice)
    assert job.status == JobStatus.QUEUED and job.last_error == "TextDeliveryError"

    # At least once (README "Texts"): the provider may have taken the text it answered too
    # late; the retry sends it again, and the text records the answer the portal got.
    twilio.release.set()
    twilio.answer = "ok"
    frozen_clock.advance(timedelta(minutes=1, seconds=1))
    run_jobs(database)
    assert len(twilio.calls) == 2 and twilio.calls[1].status == 201
    database.session.refresh(notice)
    assert notice.status == "sent" and notice.gateway_ref == twilio.calls[1].sid
