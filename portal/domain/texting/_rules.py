"""The rules every text follows: its kinds, when each is stale, quiet hours, and how many
segments (billed parts) its words take.

Staleness (README "Texts"), per kind; a text not sent by then is dropped, never sent late:
- code: 10 minutes (the code itself works 15); sent at any hour, since the person just asked.
- reply (to STOP, START, HELP or anything else): 1 hour; at any hour, they just wrote.
- messages: 24 hours, and at once when the client has read the conversation meanwhile.
- requests: 3 days, and at once when the request is done or withdrawn.
- documents: 3 days, and at once when it is signed, declined, withdrawn or sent.
- roi_renewal: 7 days, and at once when the renewal is signed or withdrawn.
A notice due in quiet hours (the agency's, default 21:00-08:00) waits for their end, unless it
would be stale by then: then it is dropped when it is written.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

# The kinds of notice a client chooses a channel for (My account, "How we tell you").
NOTICE_KINDS = ("messages", "requests", "documents", "roi_renewal")
CHANNELS = ("email", "text", "both", "none")
REPLY_KINDS = ("reply_stop", "reply_start", "reply_help", "reply_other")
CODE = "code"

STALE_AFTER: dict[str, timedelta] = {
    CODE: timedelta(minutes=10),
    **{kind: timedelta(hours=1) for kind in REPLY_KINDS},
    "messages": timedelta(hours=24),
    "requests": timedelta(days=3),
    "documents": timedelta(days=3),
    "roi_renewal": timedelta(days=7),
}
# Sent at any hour: the person asked for it a moment ago.
ANY_HOUR = frozenset({CODE, *REPLY_KINDS})
# Sent to a number that said STOP: only the answer that confirms it.
WHILE_STOPPED = frozenset({"reply_stop", "reply_start", "reply_help"})


def _clock_time(value: str, default: time) -> time:
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except (AttributeError, ValueError):
        return default


def quiet_until(
    now: datetime, timezone: str, quiet_from: str, quiet_until_: str
) -> datetime | None:
    """When the quiet hours around `now` end (UTC), or None when `now` is not in them."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    start = _clock_time(quiet_from, time(21, 0))
    end = _clock_time(quiet_until_, time(8, 0))
    if start == end:
        return None  # no quiet hours
    here = local.time()
    overnight = start > end
    inside = (here >= start or here < end) if overnight else (start <= here < end)
    if not inside:
        return None
    day = local.date()
    if here >= end and overnight:  # evening: the quiet ends tomorrow morning
        day = day + timedelta(days=1)
    ends = datetime.combine(day, end, tzinfo=zone)
    return ends.astimezone(now.tzinfo)


# GSM 03.38: the default alphabet (one septet each) and its extension (two each). A text with
# any other character goes as UCS-2: 70 characters a segment instead of 160.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def is_unicode(text: str) -> bool:
    return any(ch not in GSM_BASIC and ch not in GSM_EXTENDED for ch in text)


def segments(text: str) -> int:
    """How many billed parts the text takes (concatenated parts carry a header)."""
    if is_unicode(text):
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)  # UTF-16 code units
        single, part = 70, 67
    else:
        units = sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
        single, part = 160, 153
    if units <= single:
        return 1
    return -(-units // part)


def channel_for(account, kind: str) -> str:
    """How a client chose to hear about one kind of notice: email, text, both or none. A kind
    they never chose for goes by email while their email notices are on (as before texts)."""
    chosen = (account.notice_channels or {}).get(kind)
    if chosen in CHANNELS:
        return chosen
    return "email" if account.email_notifications else "none"
