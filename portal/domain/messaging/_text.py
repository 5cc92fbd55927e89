"""Message text in, safe HTML out; business days and when a reply is due; agency names."""

from __future__ import annotations

import html
import re
import secrets
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from portal.domain.core import clock, sanitiser
from portal.domain.core.errors import DomainError
from portal.domain.core.session import dbs
from portal.domain.core.validation import strip_unshowable
from portal.domain.models import (
    Agency,
    Conversation,
)
from portal.settings import current as current_settings

MAX_BODY = 5000
NOTICE_EVERY = timedelta(hours=1)
INBOX_VIEWS = ("unread", "awaiting", "mine", "all")


# --- text in, safe HTML out ----------------------------------------------------------------


def clean_body(text: str | None) -> str:
    """What is stored: the text as typed, with line breaks, minus what no page can show."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    text = strip_unshowable(text).strip()
    if not text:
        raise DomainError(_l("Write a message first."), field="body")
    if len(text) > MAX_BODY:
        raise DomainError(
            _l("Messages can be up to %(count)s characters.", count=MAX_BODY), field="body"
        )
    return text


def render(text: str) -> Markup:
    """Plain text to HTML: everything escaped, paragraphs and line breaks kept, URLs and email
    addresses linked, then bleach's allowlist over the result. A conversation page shows every
    message each time it is opened, and bleach is most of that page's time: a text already
    made into HTML in this process is not made again."""
    return Markup(_render_html(text or ""))  # noqa: S704 - bleach allowlisted


@lru_cache(maxsize=2048)
def _render_html(text: str) -> str:
    paragraphs = []
    for block in re.split(r"\n{2,}", strip_unshowable(text)):
        escaped = html.escape(block, quote=True)  # the text as text: every & < > " ' escaped
        linked = sanitiser.linkify(escaped)
        paragraphs.append("<p>" + linked.replace("\n", "<br>") + "</p>")
    return sanitiser.clean("".join(paragraphs), sanitiser.MESSAGE)


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(24)


# --- business days -----------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _holidays(calendar: str, year: int) -> frozenset[date]:
    import holidays

    country, _, subdivision = calendar.partition("-")
    try:
        days = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    except NotImplementedError:
        return frozenset()
    return frozenset(days.keys())


def is_business_day(day: date, calendar: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(calendar, day.year)


def reply_due(since: datetime, timezone: str) -> datetime:
    """The end of the Nth business day after the day the message came (agency time zone)."""
    settings = current_settings()
    zone = ZoneInfo(timezone)
    day = since.astimezone(zone).date()
    left = settings.response_target_business_days
    while left > 0:
        day += timedelta(days=1)
        if is_business_day(day, settings.holiday_calendar):
            left -= 1
    end = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(days=1)
    return end.astimezone(since.tzinfo)


def is_overdue(conversation: Conversation) -> bool:
    if conversation.awaiting_since is None:
        return False
    agency = _agency_of(conversation)
    return clock.now() > reply_due(conversation.awaiting_since, agency.timezone)


def agency_names(ids) -> dict[int, str]:

    if not ids:
        return {}
    return dict(dbs().execute(select(Agency.id, Agency.name).where(Agency.id.in_(ids))).all())


def _agency_of(conversation: Conversation):

    return dbs().get(Agency, conversation.agency_id)
