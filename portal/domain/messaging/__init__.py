"""Secure messaging between clients and their care team (issue 6).

- A conversation belongs to one client and one agency (`Conversation.agency_id`); staff reach
  only their agency's conversations (`inbox_scope`), clients only their own (`client_scope`).
- Clients write to their case manager or a care-team member who allows client-initiated
  contact; staff reply, assign to a care-team colleague, mark handled, or start a conversation.
- Bodies are plain text. `render()` escapes everything, links URLs, and passes the result
  through bleach with the message allowlist (portal.domain.core.sanitiser).
- A replayed submit stores one message: each form carries an idempotency key, unique per
  conversation.
- "Respond in a timely manner" is measured: a client message awaits a reply until staff answer;
  it is overdue after `response_target_business_days` business days in the agency's time zone,
  skipping weekends and the public holidays of `holiday_calendar`.
- Clients get an email that says only that there is a new message, with a link: at most one per
  conversation per hour (a worker job), never when they turned notices off.
"""

from portal.domain.messaging._client import (
    NOTICES,
    THREAD_PAGE,
    can_write_to,
    client_conversation,
    client_conversations,
    client_scope,
    client_unread,
    client_write,
    messages_of,
    read_by_client,
    recipients_for,
)
from portal.domain.messaging._notices import (
    notify_client_job,
)
from portal.domain.messaging._staff import (
    INBOX_PAGE,
    assign,
    colleagues_for,
    inbox,
    inbox_count_columns,
    inbox_counts,
    inbox_criteria,
    inbox_scope,
    mark_handled,
    read_by_staff,
    send_bulk,
    send_bulk_job,
    staff_conversation,
    staff_write,
    start_conversation,
    unread_for_client_record,
)
from portal.domain.messaging._text import (
    INBOX_VIEWS,
    MAX_BODY,
    NOTICE_EVERY,
    agency_names,
    clean_body,
    is_business_day,
    is_overdue,
    new_idempotency_key,
    render,
    reply_due,
)

__all__ = [
    "INBOX_PAGE",
    "INBOX_VIEWS",
    "MAX_BODY",
    "NOTICES",
    "NOTICE_EVERY",
    "THREAD_PAGE",
    "agency_names",
    "assign",
    "can_write_to",
    "clean_body",
    "client_conversation",
    "client_conversations",
    "client_scope",
    "client_unread",
    "client_write",
    "colleagues_for",
    "inbox",
    "inbox_count_columns",
    "inbox_counts",
    "inbox_criteria",
    "inbox_scope",
    "is_business_day",
    "is_overdue",
    "mark_handled",
    "messages_of",
    "new_idempotency_key",
    "notify_client_job",
    "read_by_client",
    "read_by_staff",
    "recipients_for",
    "render",
    "reply_due",
    "send_bulk",
    "send_bulk_job",
    "staff_conversation",
    "staff_write",
    "start_conversation",
    "unread_for_client_record",
]
