"""Opening hours from HSDS schedules: weekly spans in the service's local (wall-clock) time,
"open now" and "opens at", overnight hours, closed days and daylight-saving days.

A schedule becomes spans of one weekday each: `opens`..`closes` in minutes after local
midnight. Hours past midnight (20:00-08:00) become two spans, the second a "spill" into the
next day. Monthly rules ("1SU": the first Sunday) keep their `nth` (-1: the last); a spill
belongs to the day before, so its `nth` is checked against yesterday. Validity dates
(valid_from / valid_to) are local dates.

Spans are compared with the local wall-clock time from `zoneinfo`, so the day the clocks change
needs nothing special: at 01:30 on the night the clocks go back, "open 00:00-02:00" is open
both times 01:30 happens. The same spans are stored in `directory_hours` so the search can
filter "open now" in SQL (`sql_open_now`), and `is_open` here is the reference both must agree
with (tests run both on the same edge cases).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_TOKEN = re.compile(r"^([+-]?[1-5])?(MO|TU|WE|TH|FR|SA|SU)$")
END_OF_DAY = 24 * 60


@dataclass(frozen=True)
class Span:
    weekday: int  # 0 Monday .. 6 Sunday (local)
    opens: int  # minutes after local midnight
    closes: int  # 1..1440
    nth: int = 0  # 0 every week; 1..5 the nth such weekday of the month; -1 the last
    spill: bool = False  # the after-midnight part of the previous day's hours
    valid_from: date | None = None
    valid_to: date | None = None


def _minutes(value: time) -> int:
    minutes = value.hour * 60 + value.minute
    if value.second >= 59 and minutes == END_OF_DAY - 1:
        return END_OF_DAY  # 23:59:59 means "until midnight"
    return minutes


def spans_for(schedule) -> list[Span]:
    """The weekly spans of one schedule row; none when its hours cannot be known."""
    opens, closes = schedule.opens_at, schedule.closes_at
    if opens is None or closes is None:
        return []
    freq = (schedule.freq or "").upper()
    if freq not in ("", "WEEKLY", "MONTHLY", "DAILY"):
        return []
    days = _days(schedule, freq)
    if days is None:
        return []
    start, end = _minutes(opens), _minutes(closes)
    if start == end == 0 or (start == 0 and end == END_OF_DAY):
        start, end = 0, END_OF_DAY  # all day
    spans = []
    for weekday, nth in days:
        common = {"nth": nth, "valid_from": schedule.valid_from, "valid_to": schedule.valid_to}
        if end > start:
            spans.append(Span(weekday, start, end, **common))
        else:  # past midnight
            spans.append(Span(weekday, start, END_OF_DAY, **common))
            if end > 0:
                spans.append(Span((weekday + 1) % 7, 0, end, spill=True, **common))
    return spans


def _days(schedule, freq: str) -> list[tuple[int, int]] | None:
    """(weekday, nth) of each day the schedule names; None when they cannot be known."""
    if schedule.byday:
        days = []
        for token in schedule.byday.split(","):
            match = _TOKEN.match(token.strip().upper())
            if not match:
                return None
            nth = int(match[1]) if match[1] else 0
            if freq != "MONTHLY" and nth:
                return None  # "1MO" only means something monthly
            if nth < -1:
                return None  # "-2SU" (second to last): not shown as hours rather than guessed
            days.append((DAYS.index(match[2]), nth))
        return days
    if freq == "WEEKLY" and getattr(schedule, "dtstart", None):
        return [(schedule.dtstart.weekday(), 0)]  # RFC 5545: the weekday of the start
    if freq in ("", "DAILY", "WEEKLY"):
        return [(d, 0) for d in range(7)]  # no day named: every day
    return None  # monthly by day of the month: not shown as hours


def always_open(spans: list[Span]) -> bool:
    """Open day and night, every day (shown as "Open 24 hours")."""
    whole = {
        s.weekday
        for s in spans
        if s.opens == 0
        and s.closes == END_OF_DAY
        and s.nth == 0
        and s.valid_from is None
        and s.valid_to is None
    }
    return whole == set(range(7))


def nth_of(day: date) -> tuple[int, bool]:
    """(which such weekday of the month it is, whether it is the last one)."""
    last_day = calendar.monthrange(day.year, day.month)[1]
    return (day.day - 1) // 7 + 1, day.day + 7 > last_day


def _applies(span: Span, day: date) -> bool:
    """Whether the span's rule holds on `day`, the day its hours started (for a spill: the
    day before the span's weekday)."""
    if span.valid_from and day < span.valid_from:
        return False
    if span.valid_to and day > span.valid_to:
        return False
    if span.nth == 0:
        return True
    nth, last = nth_of(day)
    return span.nth == nth or (span.nth == -1 and last)


def is_open(spans: list[Span], local: datetime) -> bool:
    day, minute = local.date(), local.hour * 60 + local.minute
    for span in spans:
        if span.weekday != local.weekday() or not span.opens <= minute < span.closes:
            continue
        if _applies(span, day - timedelta(days=1) if span.spill else day):
            return True
    return False


def local_now(now: datetime, zone: str) -> datetime:
    return now.astimezone(ZoneInfo(zone))


def next_opening(spans: list[Span], now: datetime, zone: str) -> datetime | None:
    """When it next opens (local time), within a week; None if not within a week."""
    local = local_now(now, zone)
    today = local.date()
    best = None
    for offset in range(8):
        day = today + timedelta(days=offset)
        for span in spans:
            if span.spill or span.weekday != day.weekday() or not _applies(span, day):
                continue
            opens = datetime.combine(day, time(span.opens // 60, span.opens % 60))
            opens = opens.replace(tzinfo=ZoneInfo(zone))
            if opens.astimezone(UTC) > now and (best is None or opens < best):
                best = opens
        if best is not None:
            return best
    return None


def closing_time(spans: list[Span], local: datetime) -> int | None:
    """Minutes after local midnight when today's open span ends (1440: midnight or later)."""
    minute = local.hour * 60 + local.minute
    for span in spans:
        day = local.date() - timedelta(days=1) if span.spill else local.date()
        if (
            span.weekday == local.weekday()
            and span.opens <= minute < span.closes
            and _applies(span, day)
        ):
            if span.closes == END_OF_DAY:
                following = [
                    s
                    for s in spans
                    if s.spill and s.weekday == (local.weekday() + 1) % 7 and s.nth == span.nth
                ]
                if following:
                    return END_OF_DAY + following[0].closes
            return span.closes
    return None


def sql_values(now: datetime, zone: str) -> dict:
    """The local values the SQL "open now" filter compares spans with."""
    local = local_now(now, zone)
    today = local.date()
    yesterday = today - timedelta(days=1)
    nth, last = nth_of(today)
    y_nth, y_last = nth_of(yesterday)
    return {
        "weekday": local.weekday(),
        "minute": local.hour * 60 + local.minute,
        "today": today,
        "yesterday": yesterday,
        "nth": nth,
        "last": last,
        "y_nth": y_nth,
        "y_last": y_last,
    }
