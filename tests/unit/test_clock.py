from datetime import UTC, date, datetime, timedelta

import pytest

from portal.domain.core import clock


def test_a_frozen_clock_stands_still_and_advances_on_request():
    clock.freeze(datetime(2026, 3, 8, 9, 30, tzinfo=UTC))
    assert clock.now() == datetime(2026, 3, 8, 9, 30, tzinfo=UTC)
    clock.advance(timedelta(hours=1))
    assert clock.now() == datetime(2026, 3, 8, 10, 30, tzinfo=UTC)


@pytest.mark.requirement("R9")
def test_today_is_the_agencys_local_date():
    clock.freeze(datetime(2026, 3, 13, 5, 0, tzinfo=UTC))  # 22:00 on the 12th in Los Angeles
    assert clock.local_today("America/Los_Angeles") == date(2026, 3, 12)
    assert clock.local_today("America/New_York") == date(2026, 3, 13)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        clock.freeze(datetime(2026, 1, 1))
