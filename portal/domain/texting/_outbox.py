"""The text outbox: `queue_text()` writes a text in the caller's transaction; the worker's
`texts.send` job checks it is still wanted, waits out quiet hours and rate limits, hands it to
the gateway, and records the answer. Delivery reports move it on to delivered or failed.

At least once: no SMS gateway takes an idempotency key, so a worker that dies after the
gateway accepted a text and before its "sent" is committed sends it again when the job's lease
ends. The window is the gateway's answer plus one commit (README "Texts").
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from portal.domain.core import audit, clock, crypto, jobs, mail
from portal.domain.core.session import dbs, get_or_create, lock_row, will_write
from portal.domain.core.statuses import SignatureStatus, TaskStatus
from portal.domain.models import (
    Agency,
    ClientAccount,
    ClientPhone,
    ClientTask,
    Conversation,
    SignatureRequest,
    TextConsent,
    TextMessage,
    TextNumber,
)
from portal.domain.texting._rules import (
    ANY_HOUR,
    NOTICE_KINDS,
    STALE_AFTER,
    WHILE_STOPPED,
    channel_for,
    quiet_until,
)
from portal.settings import current as current_settings

QUEUED, SENT, DELIVERED, FAILED, DROPPED = "queued", "sent", "delivered", "failed", "dropped"
# A notice that cannot go by text goes by email instead when the client chose texts only
# (STOP ends texts, not notices), unless it is no longer wanted (read, done) or the account
# is closed.
NO_EMAIL_INSTEAD = frozenset({"not_needed", "account_closed"})
# What a gateway's refusal says of the number: it stops texts to it (a bounce) until a new code.
REFUSALS_OF_THE_NUMBER = frozenset({"invalid_number", "not_mobile", "unreachable"})


def enabled() -> bool:
    """Texts are on when a gateway is configured (SMS_TRANSPORT); nothing is sent without."""
    return bool(current_settings().sms_transport)


def number_state(number: str) -> TextNumber | None:
    return dbs().scalar(select(TextNumber).where(TextNumber.number == number))


def queue_text(
    kind: str,
    *,
    number: str,
    language: str,
    client_id: int | None = None,
    agency: Agency | None = None,
    params: dict[str, Any] | None = None,
    secret_params: dict[str, Any] | None = None,
) -> TextMessage:
    """Write a text in the caller's transaction; a job sends it (in the morning, when it is
    written in quiet hours, or never, when it would be stale by then)."""
    if kind not in STALE_AFTER:
        raise ValueError(f"unknown text kind {kind!r}")
    now = clock.now()
    message = TextMessage(
        client_id=client_id,
        agency_id=agency.id if agency is not None else None,
        to_number=number,
        kind=kind,
        language=language or "en",
        params=params or {},
        secret_params=crypto.encrypt_json(secret_params) if secret_params else None,
        stale_at=now + STALE_AFTER[kind],
        status=QUEUED,
    )
    dbs().add(message)
    dbs().flush()
    run_at = _quiet_end(message, agency, now) or now
    if run_at >= message.stale_at:
        _drop(message, "quiet_hours")
        return message
    jobs.enqueue(
        "texts.send", {"text_id": message.id}, run_at=run_at, unique_key=f"text:{message.id}"
    )
    return message


def _quiet_end(message: TextMessage, agency: Agency | None, now: datetime) -> datetime | None:
    if message.kind in ANY_HOUR or agency is None:
        return None
    return quiet_until(now, agency.timezone, agency.text_quiet_from, agency.text_quiet_until)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        return None


def _still_wanted(message: TextMessage) -> bool:
    """A notice about something already seen or done is not sent (the staleness rules)."""
    params = {
        k: _uuid(v) for k, v in message.params.items() if k in ("conversation", "task", "request")
    }
    if "conversation" in params:
        conversation = dbs().scalar(
            select(Conversation).where(Conversation.public_id == params["conversation"])
        )
        return conversation is not None and conversation.unread_by_client > 0
    if "task" in params:
        task_status = dbs().scalar(
            select(ClientTask.status).where(ClientTask.public_id == params["task"])
        )
        return task_status == TaskStatus.OPEN
    if "request" in params:
        request_status = dbs().scalar(
            select(SignatureRequest.status).where(SignatureRequest.public_id == params["request"])
        )
        return request_status == SignatureStatus.REQUESTED
    return True


def confirmed_number(client_id: int) -> str | None:
    """The number a client confirmed for texts, while it is still one of the record's phones
    marked "texts OK"."""
    consent = dbs().scalar(select(TextConsent).where(TextConsent.client_id == client_id))
    if consent is None or consent.confirmed_at is None:
        return None
    still_listed = dbs().scalar(
        select(ClientPhone.id).where(
            ClientPhone.client_id == client_id,
            ClientPhone.number == consent.number,
            ClientPhone.text_ok.is_(True),
        )
    )
    return consent.number if still_listed is not None else None


def why_not(message: TextMessage, now: datetime) -> str | None:
    """Why a queued text must not go now or later (None: it may)."""
    if not enabled():
        return "no_gateway"
    if now >= message.stale_at:
        return "stale"
    state = number_state(message.to_number)
    if state is not None and state.stopped_at is not None and message.kind not in WHILE_STOPPED:
        return "stopped"
    if message.kind in NOTICE_KINDS:
        if not _still_wanted(message):
            return "not_needed"
        if not _account_open(message.client_id):
            return "account_closed"
        if state is not None and state.bounced_at is not None:
            return "bounced"
        if message.client_id is None or confirmed_number(message.client_id) != message.to_number:
            return "no_consent"
    return None


def account_for(client_id: int | None) -> ClientAccount | None:
    """The portal account of a client record, if it has one."""
    if client_id is None:
        return None
    return dbs().scalar(select(ClientAccount).where(ClientAccount.client_id == client_id))


def _account_open(client_id: int | None) -> bool:
    account = account_for(client_id)
    return account is not None and account.is_active


def _count_sent(*conditions, since: datetime) -> tuple[int, datetime | None]:
    row = (
        dbs()
        .execute(
            select(func.count(TextMessage.id), func.min(TextMessage.sent_at)).where(
                TextMessage.sent_at > since, *conditions
            )
        )
        .one()
    )
    return int(row[0] or 0), row[1]


def _rate_wait(message: TextMessage, now: datetime) -> datetime | None:
    """When the per-phone and per-agency limits let this notice go (None: now). They count
    and hold notices only: a code or an answer is something the person just asked for (codes
    have their own limit, 3 an hour to a phone; answers one per keyword per 5 minutes), and a
    bulk request must not hold up someone's code. The limits are checked before each send:
    with several workers they can be passed by one text each."""
    if message.kind not in NOTICE_KINDS:
        return None
    settings = current_settings()
    waits = []
    notices = TextMessage.kind.in_(NOTICE_KINDS)
    same_phone = (TextMessage.to_number == message.to_number) & notices
    checks: list[tuple[Any, int, timedelta]] = [
        (same_phone, settings.sms_per_phone_hour, timedelta(hours=1)),
        (same_phone, settings.sms_per_phone_day, timedelta(days=1)),
    ]
    if message.agency_id is not None:
        same_agency = (TextMessage.agency_id == message.agency_id) & notices
        checks.append((same_agency, settings.sms_per_agency_hour, timedelta(hours=1)))
    for condition, limit, window in checks:
        count, oldest = _count_sent(condition, since=now - window)
        if limit > 0 and count >= limit and oldest is not None:
            waits.append(oldest + window + timedelta(seconds=1))
    return max(waits) if waits else None


def _drop(message: TextMessage, reason: str) -> None:
    message.status = DROPPED
    message.drop_reason = reason
    message.secret_params = None
    audit.record("text.dropped", message, details={"kind": message.kind, "reason": reason})
    if message.kind in NOTICE_KINDS and reason not in NO_EMAIL_INSTEAD:
        _email_instead(message)


def _email_instead(message: TextMessage) -> None:
    template = message.params.get("mail")
    account = account_for(message.client_id)
    if (
        not template
        or account is None
        or not account.is_active
        or channel_for(account, message.kind) != "text"
    ):
        return  # "both" had its email already; "none" and "email" did not ask for a text
    if not _still_wanted(message):
        return  # seen or done meanwhile
    mail.queue(
        template,
        to=account.email,
        language=account.preferred_language,
        params={"name": account.first_name, **_public_params(message.params)},
        client_id=message.client_id,
        notice_kind=message.kind,
    )


def _public_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k in ("conversation", "request", "task")}


# Enough tries, at most an hour apart, to outlast the longest-lived kind (7 days): a text is
# dropped when it is stale, not when its job gives up.
@jobs.handler("texts.send", max_attempts=200, reads_first=True)
def send_text_job(payload: dict[str, Any]) -> None:
    """Send one queued text. The gateway is asked before anything is written (SQLite's write
    lock is not held while it answers); a gateway that is down leaves the text queued, and the
    job retries with backoff until the text is stale."""
    from portal.integrations.texts import TextRefused, send

    message = dbs().get(TextMessage, payload["text_id"])
    if message is None or message.status != QUEUED:
        return  # sent, dropped, or a retried job after a send: nothing to do
    now = clock.now()
    reason = why_not(message, now)
    if reason is not None:
        will_write()
        _drop(message, reason)
        return
    agency = dbs().get(Agency, message.agency_id) if message.agency_id else None
    wait = max(
        filter(None, [_quiet_end(message, agency, now), _rate_wait(message, now)]), default=None
    )
    if wait is not None:
        if wait >= message.stale_at:
            will_write()
            _drop(message, "stale")
            return
        raise jobs.Later(wait)
    secret = crypto.decrypt_json(message.secret_params) if message.secret_params else {}
    try:
        sent = send(message, {**message.params, **_details(message, agency), **secret})
    except TextRefused as refused:
        will_write()
        if refused.reason == "stopped":
            mark_number(message.to_number, stopped=True)
        elif refused.reason in REFUSALS_OF_THE_NUMBER:
            mark_number(message.to_number, bounced=refused.reason)
        _drop(message, refused.reason)
        return
    lock_row(message)  # a delivery report may have come first: it is not overwritten
    if message.status == QUEUED:
        message.status = SENT
    message.sent_at = clock.now()
    message.gateway_ref = sent.ref
    message.segments = sent.segments
    message.unicode = sent.unicode
    message.secret_params = None
    audit.record("text.sent", message, details={"kind": message.kind, "segments": sent.segments})


def _details(message: TextMessage, agency: Agency | None) -> dict[str, Any]:
    """The agency's name, for a notice whose client allows it now (read when the text goes,
    so taking the leave back reaches texts already waiting)."""
    if message.kind not in NOTICE_KINDS or agency is None or message.client_id is None:
        return {}
    allowed = dbs().scalar(
        select(TextConsent.allow_details).where(TextConsent.client_id == message.client_id)
    )
    return {"agency": agency.name} if allowed else {}


def mark_number(
    number: str, *, stopped: bool | None = None, bounced: str | None = None
) -> TextNumber:
    state = get_or_create(lambda: number_state(number), lambda: _new_number(number))
    now = clock.now()
    if stopped is True:
        state.stopped_at = now
    elif stopped is False:
        state.stopped_at = None
        state.started_at = now
    if bounced is not None:
        state.bounced_at = now
        state.bounce_reason = bounced[:32]
    return state


def _new_number(number: str) -> TextNumber:
    state = TextNumber(number=number)
    dbs().add(state)
    dbs().flush()
    return state


# --- delivery reports ----------------------------------------------------------------------

# The order a text's status moves in: a late or repeated report never moves it back.
_RANK = {QUEUED: 0, SENT: 1, DELIVERED: 2, FAILED: 2}


def record_report(*, ref: str, outcome: str, detail: str = "") -> bool:
    """A gateway's delivery report: `ref` is the text's public id (Kannel) or the gateway's
    id for it (Twilio); `outcome` is accepted, delivered or failed. A failure marks the number
    bounced: no more texts go to it until a new code confirms it (a number may be someone
    else's by now). Returns whether the report named a text."""
    message = _by_ref(ref)
    if message is None:
        return False
    lock_row(message)  # one report, or the send job, at a time
    now = clock.now()
    if outcome == "accepted" or _RANK.get(message.status, 0) >= 2:
        message.gateway_status = message.gateway_status or outcome
        return True
    message.gateway_status = (detail or outcome)[:24]
    if outcome == "delivered":
        message.status = DELIVERED
        message.delivered_at = now
    elif outcome == "failed":
        message.status = FAILED
        message.failed_at = now
        mark_number(message.to_number, bounced=detail or "failed")
        audit.record("text.bounced", message, details={"kind": message.kind, "code": detail[:24]})
        if message.kind in NOTICE_KINDS:
            _email_instead(message)  # the notice did not arrive: the email goes instead
        return True
    else:
        return True
    audit.record("text.delivered", message, details={"kind": message.kind})
    return True


def _by_ref(ref: str) -> TextMessage | None:
    public_id = _uuid(ref)
    if public_id is not None:
        found = dbs().scalar(select(TextMessage).where(TextMessage.public_id == public_id))
        if found is not None:
            return found
    return dbs().scalar(select(TextMessage).where(TextMessage.gateway_ref == (ref or "")[:64]))
