"""Properties over random instants in 2025-2027."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from risk_manager.calendar import HolidayCalendar, TradingCalendar

CAL = TradingCalendar(holidays=HolidayCalendar.load("equity"))
# UTC instants, and Chicago wall times including DST folds and (imaginary) gap times.
instants = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.sampled_from([UTC, ZoneInfo("America/Chicago")]),
)


@settings(max_examples=300, deadline=None)
@given(at=instants)
def test_day_start_le_at_lt_next_reset_and_week_likewise(at: datetime) -> None:
    assert CAL.day_start(at) <= at < CAL.next_reset(at)
    assert CAL.week_start(at) <= at < CAL.next_weekly_reset(at)
    # The label is the local date of the reset that ends the day.
    assert CAL.next_reset(at).astimezone(CAL.tz).date() == CAL.trading_day(at)
    assert CAL.next_reset(at).astimezone(CAL.tz).hour == 17
    # Trading days are 24 h, or the Friday-to-Monday weekend of 72 h +/- a DST hour.
    assert CAL.next_reset(at) - CAL.day_start(at) in {timedelta(hours=h) for h in (24, 71, 72, 73)}


@settings(max_examples=300, deadline=None)
@given(a=instants, b=instants)
def test_trading_day_and_week_are_monotonic(a: datetime, b: datetime) -> None:
    # Order by instant: comparing two Chicago datetimes compares wall times, ignoring fold.
    lo, hi = sorted((a, b), key=lambda d: d.astimezone(UTC))
    assert CAL.trading_day(lo) <= CAL.trading_day(hi)
    assert CAL.week_label(lo) <= CAL.week_label(hi)


@settings(max_examples=200, deadline=None)
@given(at=instants)
def test_sessions_agree_with_next_start(at: datetime) -> None:
    s = CAL.session_at(at)
    nxt = CAL.next_session_start(at)
    assert nxt > at
    if s is not None:
        assert s.start <= at < s.end
        assert CAL.trading_day(s.end - timedelta(microseconds=1)) == CAL.trading_day(at)
    else:
        assert CAL.current_or_next_session(at).start == nxt
        # Nothing opens between at and the next start.
        assert not CAL.is_open(at + (nxt - at) / 2)
