"""Trading day and week boundaries, including both 2026 DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from risk_manager.calendar import SessionSpec, TradingCalendar

CT = ZoneInfo("America/Chicago")
CAL = TradingCalendar()
# A calendar whose sessions end every day, so every date has a reset (23 h / 25 h days).
EVERY_DAY = TradingCalendar(sessions=(SessionSpec(time(17, 0), time(16, 0), frozenset(range(7))),))


def ct(y: int, m: int, d: int, hh: int = 0, mm: int = 0, fold: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CT, fold=fold)


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def test_reset_is_17_chicago_which_is_23_utc_in_winter_and_22_utc_in_summer() -> None:
    assert CAL.next_reset(ct(2026, 1, 13, 9)) == utc(2026, 1, 13, 23)  # CST
    assert CAL.next_reset(ct(2026, 7, 14, 9)) == utc(2026, 7, 14, 22)  # CDT
    assert CAL.next_reset(ct(2026, 7, 14, 9)).astimezone(CT).time() == time(17, 0)


def test_label_is_the_date_the_trading_day_ends() -> None:
    assert CAL.trading_day(ct(2026, 3, 1, 17, 0)) == date(2026, 3, 2)  # Sunday 17:00 -> Monday
    assert CAL.trading_day(ct(2026, 3, 2, 16, 59)) == date(2026, 3, 2)
    assert CAL.trading_day(ct(2026, 3, 2, 17, 0)) == date(2026, 3, 3)
    # The same instant given in UTC gives the same answer.
    assert CAL.trading_day(utc(2026, 3, 2, 22, 59)) == date(2026, 3, 2)
    assert CAL.trading_day(utc(2026, 3, 2, 23, 0)) == date(2026, 3, 3)


def test_weekend_instants_belong_to_mondays_trading_day() -> None:
    for at in (ct(2026, 1, 16, 17, 0), ct(2026, 1, 17, 12), ct(2026, 1, 18, 16, 59)):
        assert CAL.trading_day(at) == date(2026, 1, 19)
        assert CAL.day_start(at) == ct(2026, 1, 16, 17).astimezone(UTC)
        assert CAL.next_reset(at) == ct(2026, 1, 19, 17).astimezone(UTC)
    assert CAL.trading_day(ct(2026, 1, 16, 16, 59)) == date(2026, 1, 16)


def test_spring_forward_2026_03_08() -> None:
    before = ct(2026, 3, 6, 18)  # Friday evening, CST
    assert CAL.trading_day(before) == date(2026, 3, 9)
    assert CAL.day_start(before) == utc(2026, 3, 6, 23)
    assert CAL.next_reset(before) == utc(2026, 3, 9, 22)  # Monday 17:00 CDT
    # The Fri 17:00 CST -> Mon 17:00 CDT trading day lost an hour.
    assert CAL.next_reset(before) - CAL.day_start(before) == timedelta(hours=71)
    # 02:30 does not exist on 2026-03-08; it must not crash (it reads as 03:30 CDT).
    gap = ct(2026, 3, 8, 2, 30)
    assert CAL.trading_day(gap) == date(2026, 3, 9)
    # Every-day resets: Sunday's trading day (Sat 17:00 CST -> Sun 17:00 CDT) is 23 h long.
    sun = ct(2026, 3, 8, 12)
    assert EVERY_DAY.trading_day(sun) == date(2026, 3, 8)
    assert EVERY_DAY.day_start(sun) == utc(2026, 3, 7, 23)
    assert EVERY_DAY.next_reset(sun) == utc(2026, 3, 8, 22)
    assert EVERY_DAY.next_reset(sun) - EVERY_DAY.day_start(sun) == timedelta(hours=23)
    monday = ct(2026, 3, 9, 12)
    assert EVERY_DAY.next_reset(monday) - EVERY_DAY.day_start(monday) == timedelta(hours=24)


def test_fall_back_2026_11_01() -> None:
    before = ct(2026, 10, 30, 18)  # Friday evening, CDT
    assert CAL.trading_day(before) == date(2026, 11, 2)
    assert CAL.day_start(before) == utc(2026, 10, 30, 22)
    assert CAL.next_reset(before) == utc(2026, 11, 2, 23)  # Monday 17:00 CST
    assert CAL.next_reset(before) - CAL.day_start(before) == timedelta(hours=73)
    # 01:30 happens twice on 2026-11-01; both readings are inside Monday's trading day.
    for fold in (0, 1):
        assert CAL.trading_day(ct(2026, 11, 1, 1, 30, fold=fold)) == date(2026, 11, 2)
    sun = ct(2026, 11, 1, 12)
    assert EVERY_DAY.trading_day(sun) == date(2026, 11, 1)
    assert EVERY_DAY.day_start(sun) == utc(2026, 10, 31, 22)
    assert EVERY_DAY.next_reset(sun) == utc(2026, 11, 1, 23)
    assert EVERY_DAY.next_reset(sun) - EVERY_DAY.day_start(sun) == timedelta(hours=25)


def test_next_reset_is_strictly_after_at() -> None:
    reset = ct(2026, 3, 10, 17)
    assert CAL.next_reset(reset) == ct(2026, 3, 11, 17).astimezone(UTC)
    assert CAL.day_start(reset) == reset.astimezone(UTC)
    assert CAL.next_reset(reset - timedelta(microseconds=1)) == reset.astimezone(UTC)


def test_week_label_and_next_weekly_reset() -> None:
    wed = ct(2026, 3, 4, 10)
    assert CAL.week_label(wed) == date(2026, 3, 8)
    assert CAL.week_start(wed) == utc(2026, 3, 1, 23)  # Sunday 17:00 CST
    assert CAL.next_weekly_reset(wed) == utc(2026, 3, 8, 22)  # Sunday 17:00 CDT
    at_reset = ct(2026, 3, 8, 17)
    assert CAL.week_label(at_reset) == date(2026, 3, 15)
    assert CAL.week_start(at_reset) == at_reset.astimezone(UTC)
    assert CAL.week_label(ct(2026, 3, 8, 16, 59)) == date(2026, 3, 8)
    # The week across the November change is 169 h long.
    nov = ct(2026, 10, 28, 10)
    assert CAL.next_weekly_reset(nov) - CAL.week_start(nov) == timedelta(hours=169)


def test_weekly_reset_day_and_time_are_configurable() -> None:
    cal = TradingCalendar(weekly_reset_day=4, weekly_reset_time=time(16, 0))  # Friday 16:00
    assert cal.next_weekly_reset(ct(2026, 3, 4, 10)) == ct(2026, 3, 6, 16).astimezone(UTC)
    assert cal.week_label(ct(2026, 3, 6, 16)) == date(2026, 3, 13)


def test_other_time_zone_and_reset_hour() -> None:
    ny = ZoneInfo("America/New_York")
    cal = TradingCalendar(tz=ny, daily_reset=time(18, 0))
    at = datetime(2026, 6, 2, 12, tzinfo=ny)
    assert cal.next_reset(at) == utc(2026, 6, 2, 22)
    assert cal.trading_day(at) == date(2026, 6, 2)


@pytest.mark.parametrize(
    "method",
    [
        "trading_day",
        "day_start",
        "next_reset",
        "week_label",
        "week_start",
        "next_weekly_reset",
        "session_at",
        "next_session_start",
        "current_or_next_session",
        "is_open",
    ],
)
def test_naive_datetime_is_rejected(method: str) -> None:
    with pytest.raises(ValueError, match="naive"):
        getattr(CAL, method)(datetime(2026, 3, 2, 12))


def test_results_are_utc_so_subtraction_is_exact() -> None:
    assert CAL.next_reset(ct(2026, 3, 2, 12)).tzinfo is UTC
    assert CAL.day_start(ct(2026, 3, 2, 12)).tzinfo is UTC


def test_bad_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="weekly_reset_day"):
        TradingCalendar(weekly_reset_day=7)
    with pytest.raises(ValueError, match="without tzinfo"):
        TradingCalendar(daily_reset=time(17, tzinfo=UTC))
