"""Transactional outbox: `queue()` writes the email with the change that causes it.

A `mail.send` job renders the template in the recipient's language and delivers it through
the configured transport; the row's state makes delivery happen once.
"""

from __future__ import annotations

from typing import Any

from portal.domain.core import clock, crypto, jobs
from portal.domain.core.session import dbs, will_write
from portal.domain.core.statuses import OutboxStatus
from portal.domain.core.validation import clean_email
from portal.domain.models import OutboxMessage


def queue(
    template: str,
    *,
    to: str,
    language: str,
    params: dict[str, Any] | None = None,
    secret_params: dict[str, Any] | None = None,
    client_id: int | None = None,
    notice_kind: str | None = None,
) -> OutboxMessage:
    from portal.integrations.mail import TEMPLATES

    if template not in TEMPLATES:
        raise ValueError(f"unknown mail template {template!r}")
    message = OutboxMessage(
        template=template,
        to_address=clean_email(to),
        language=language or "en",
        params=params or {},
        secret_params=crypto.encrypt_json(secret_params) if secret_params else None,
        client_id=client_id,
        notice_kind=notice_kind,
    )
    dbs().add(message)
    dbs().flush()
    jobs.enqueue("mail.send", {"outbox_id": message.id}, unique_key=f"mail:{message.id}")
    return message


@jobs.handler("mail.send", max_attempts=10, reads_first=True)
def send_outbox_message(payload: dict[str, Any]) -> None:
    """Deliver one outbox message; the SMTP conversation happens before anything is written
    (SQLite's write lock is not held while a slow server answers)."""
    from portal.integrations.mail import deliver

    message = dbs().get(OutboxMessage, payload["outbox_id"])
    if message is None or message.status == OutboxStatus.SENT:
        return  # idempotent: a retried job after a successful send does nothing
    secret = crypto.decrypt_json(message.secret_params) if message.secret_params else {}
    deliver(message, {**message.params, **secret})
    will_write()
    message.status = OutboxStatus.SENT
    message.sent_at = clock.now()
    message.secret_params = None
