"""The client's notice of new messages (email or text, as they chose): at most one an hour per
conversation."""

from __future__ import annotations

from sqlalchemy import select

from portal.domain import texting
from portal.domain.core import clock, jobs
from portal.domain.core.session import dbs
from portal.domain.messaging._text import NOTICE_EVERY
from portal.domain.models import (
    ClientAccount,
    Conversation,
)

# --- the email notice ----------------------------------------------------------------------


def _schedule_notice(conversation: Conversation) -> None:
    """At most one email per conversation per hour: a job, later if one went out recently."""
    now = clock.now()
    last = conversation.client_notified_at
    run_at = now if last is None or now - last >= NOTICE_EVERY else last + NOTICE_EVERY
    jobs.enqueue(
        "messages.notify_client",
        {"conversation": conversation.id},
        run_at=run_at,
        unique_key=f"message-notice:{conversation.id}",
    )


@jobs.handler("messages.notify_client")
def notify_client_job(payload: dict) -> None:
    conversation = dbs().get(Conversation, payload["conversation"])
    if conversation is None or conversation.unread_by_client == 0:
        return  # read in the meantime: nothing to tell
    account = dbs().scalar(
        select(ClientAccount).where(ClientAccount.client_id == conversation.client_id)
    )
    if account is None or not account.is_active:
        return
    conversation.client_notified_at = clock.now()
    texting.notify_client(
        account,
        "messages",
        mail_template="new_message",
        params={"conversation": str(conversation.public_id)},  # links are built when sent
        agency_id=conversation.agency_id,
    )
