"""Texts as a second channel (issue 22): content-free notices by SMS, with consent by a code,
STOP/START/HELP honoured at once, quiet hours, rate limits and delivery reports.

- `notify_client()` is how every client notice goes out: email, text, both or neither, per
  kind, as the client chose (`set_channels`).
- `queue_text()` writes a text in the caller's transaction; the `texts.send` job sends it
  through the configured gateway (portal.integrations.texts).
- `receive()` handles texts people send; `record_report()` delivery reports.
"""

from portal.domain.texting._consent import (
    CODE_TRIES,
    confirm,
    consent_of,
    set_details,
    start,
    state_of,
    textable_phones,
    turn_off,
)
from portal.domain.texting._inbound import (
    KEYWORDS,
    STOP_FIRST_WORDS,
    meaning,
    normalise_number,
    receive,
)
from portal.domain.texting._notices import (
    can_text,
    notify_client,
    notify_record,
    set_channels,
)
from portal.domain.texting._outbox import (
    enabled,
    queue_text,
    record_report,
    send_text_job,
    why_not,
)
from portal.domain.texting._reports import agency_page, monthly_counts, notices_for, set_quiet_hours
from portal.domain.texting._rules import (
    ANY_HOUR,
    CHANNELS,
    NOTICE_KINDS,
    STALE_AFTER,
    channel_for,
    is_unicode,
    quiet_until,
    segments,
)

__all__ = [
    "ANY_HOUR",
    "CHANNELS",
    "CODE_TRIES",
    "KEYWORDS",
    "NOTICE_KINDS",
    "STALE_AFTER",
    "STOP_FIRST_WORDS",
    "agency_page",
    "can_text",
    "channel_for",
    "confirm",
    "consent_of",
    "enabled",
    "is_unicode",
    "meaning",
    "monthly_counts",
    "normalise_number",
    "notices_for",
    "notify_client",
    "notify_record",
    "queue_text",
    "quiet_until",
    "receive",
    "record_report",
    "segments",
    "send_text_job",
    "set_channels",
    "set_details",
    "set_quiet_hours",
    "start",
    "state_of",
    "textable_phones",
    "turn_off",
    "why_not",
]
