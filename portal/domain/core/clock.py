"""One injectable clock for the whole app.

Every timestamp the portal writes comes from `now()` (UTC, timezone-aware), never from the
database's `now()`, so tests can freeze and advance time. "Today" for ages, due dates and
business days is the agency's local date: `local_today(tz)`.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_lock = threading.Lock()
_frozen: datetime | None = None


def now() -> datetime:
    frozen = _frozen
    return frozen if frozen is not None else datetime.now(UTC)


def local_today(timezone: str) -> date:
    return now().astimezone(ZoneInfo(timezone)).date()


def freeze(at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("freeze() needs a timezone-aware datetime")
    global _frozen
    with _lock:
        _frozen = at.astimezone(UTC)


def advance(by: timedelta) -> None:
    global _frozen
    with _lock:
        if _frozen is None:
            raise RuntimeError("advance() needs a frozen clock")
        _frozen = _frozen + by


def unfreeze() -> None:
    global _frozen
    with _lock:
        _frozen = None
