"""Sessions: the Sunday open, midnight wrap, holidays, early closes, next session start."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from risk_manager.calendar import (
    TOPSTEP_SESSIONS,
    HolidayCalendar,
    Session,
    SessionSpec,
    TradingCalendar,
)

CT = ZoneInfo("America/Chicago")
PLAIN = TradingCalendar()  # no holidays
EQUITY = TradingCalendar(holidays=HolidayCalendar.load("equity"))
ENERGY = TradingCalendar(
    sessions=(SessionSpec(time(17, 0), time(16, 0), frozenset({6, 0, 1, 2, 3})),),
    holidays=HolidayCalendar.load("energy"),
)


def ct(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CT)


def session(start: datetime, end: datetime) -> Session:
    return Session(start.astimezone(UTC), end.astimezone(UTC))


def test_default_sessions_are_topsteps() -> None:
    assert PLAIN.sessions == TOPSTEP_SESSIONS
    (spec,) = TOPSTEP_SESSIONS
    assert (spec.start, spec.end, spec.days) == (time(17), time(15, 10), frozenset({6, 0, 1, 2, 3}))


def test_sunday_open_at_17_ct_and_closed_before() -> None:
    assert not PLAIN.is_open(ct(2026, 3, 7, 12))  # Saturday
    assert not PLAIN.is_open(ct(2026, 3, 8, 16, 59))  # Sunday before the open
    assert PLAIN.is_open(ct(2026, 3, 8, 17, 0))
    assert PLAIN.session_at(ct(2026, 3, 8, 17, 0)) == session(
        ct(2026, 3, 8, 17), ct(2026, 3, 9, 15, 10)
    )
    assert PLAIN.next_session_start(ct(2026, 3, 7, 12)) == ct(2026, 3, 8, 17).astimezone(UTC)


def test_session_wraps_midnight_and_has_a_daily_break() -> None:
    tue = session(ct(2026, 3, 9, 17), ct(2026, 3, 10, 15, 10))
    for at in (ct(2026, 3, 9, 23, 59), ct(2026, 3, 10, 0, 0), ct(2026, 3, 10, 15, 9)):
        assert PLAIN.session_at(at) == tue
    assert PLAIN.session_at(ct(2026, 3, 10, 15, 10)) is None  # end is exclusive
    assert PLAIN.session_at(ct(2026, 3, 10, 16, 59)) is None
    assert PLAIN.next_session_start(ct(2026, 3, 10, 15, 10)) == ct(2026, 3, 10, 17).astimezone(UTC)


def test_friday_close_then_next_start_is_sunday() -> None:
    assert not PLAIN.is_open(ct(2026, 3, 13, 15, 10))
    assert not PLAIN.is_open(ct(2026, 3, 13, 17, 30))  # no Friday evening session
    assert PLAIN.next_session_start(ct(2026, 3, 13, 15, 10)) == ct(2026, 3, 15, 17).astimezone(UTC)
    nxt = PLAIN.current_or_next_session(ct(2026, 3, 14, 9))
    assert nxt == session(ct(2026, 3, 15, 17), ct(2026, 3, 16, 15, 10))


def test_current_or_next_session_returns_the_current_one_when_open() -> None:
    at = ct(2026, 3, 11, 3)
    assert EQUITY.current_or_next_session(at) == EQUITY.session_at(at)


def test_good_friday_closed_for_equity() -> None:
    # No session ends on 2026-04-03: Thursday 17:00 stays closed until Sunday 17:00.
    assert EQUITY.is_open(ct(2026, 4, 2, 15, 0))
    assert not EQUITY.is_open(ct(2026, 4, 2, 18, 0))
    assert not EQUITY.is_open(ct(2026, 4, 3, 9, 0))
    assert EQUITY.next_session_start(ct(2026, 4, 2, 15, 10)) == ct(2026, 4, 5, 17).astimezone(UTC)
    # Without holidays that Friday trades.
    assert PLAIN.is_open(ct(2026, 4, 3, 9, 0))


def test_thanksgiving_friday_early_close_at_12_15() -> None:
    fri = EQUITY.session_at(ct(2026, 11, 27, 9))
    assert fri == session(ct(2026, 11, 26, 17), ct(2026, 11, 27, 12, 15))
    assert not EQUITY.is_open(ct(2026, 11, 27, 12, 15))
    assert EQUITY.next_session_start(ct(2026, 11, 27, 12, 15)) == ct(2026, 11, 29, 17).astimezone(
        UTC
    )
    # Thanksgiving itself: halt at 12:00, reopen at 17:00.
    assert EQUITY.session_at(ct(2026, 11, 26, 11, 59)) == session(
        ct(2026, 11, 25, 17), ct(2026, 11, 26, 12)
    )
    assert not EQUITY.is_open(ct(2026, 11, 26, 12, 30))


def test_next_session_start_across_christmas_weekend() -> None:
    # Christmas 2026 is a Friday: Thu 24th closes 12:15, Friday is closed, Sunday reopens.
    assert EQUITY.session_at(ct(2026, 12, 24, 10)) == session(
        ct(2026, 12, 23, 17), ct(2026, 12, 24, 12, 15)
    )
    assert EQUITY.next_session_start(ct(2026, 12, 24, 12, 15)) == ct(2026, 12, 27, 17).astimezone(
        UTC
    )


def test_energy_has_its_own_holiday_times() -> None:
    assert ENERGY.session_at(ct(2026, 1, 19, 9)) == session(
        ct(2026, 1, 18, 17), ct(2026, 1, 19, 13, 30)
    )
    assert ENERGY.session_at(ct(2026, 1, 20, 15, 30)) == session(
        ct(2026, 1, 19, 17), ct(2026, 1, 20, 16)
    )


def test_early_close_never_lengthens_a_session() -> None:
    rth = SessionSpec(time(8, 30), time(11, 0), frozenset({0, 1, 2, 3, 4}))
    hol = HolidayCalendar(early_closes={datetime(2026, 11, 27).date(): time(12, 15)})
    cal = TradingCalendar(sessions=(rth,), holidays=hol)
    assert cal.session_at(ct(2026, 11, 27, 9)) == session(
        ct(2026, 11, 27, 8, 30), ct(2026, 11, 27, 11)
    )


def test_early_close_before_the_start_removes_the_session() -> None:
    pm = SessionSpec(time(13, 0), time(15, 0), frozenset({4}))
    hol = HolidayCalendar(early_closes={datetime(2026, 11, 27).date(): time(12, 15)})
    cal = TradingCalendar(sessions=(pm,), holidays=hol)
    assert not cal.is_open(ct(2026, 11, 27, 13, 30))
    assert cal.next_session_start(ct(2026, 11, 27, 9)) == ct(2026, 12, 4, 13).astimezone(UTC)


def test_session_starting_in_the_spring_forward_gap_does_not_crash() -> None:
    spec = SessionSpec(time(2, 30), time(4, 0), frozenset({6}))
    cal = TradingCalendar(sessions=(spec,))
    s = cal.current_or_next_session(ct(2026, 3, 8, 0))
    assert s.start == ct(2026, 3, 8, 3, 30).astimezone(UTC)  # 02:30 never happens: 03:30 CDT
    assert s.end == ct(2026, 3, 8, 4).astimezone(UTC)


def test_no_sessions_means_never_open_and_no_next_start() -> None:
    cal = TradingCalendar(sessions=())
    assert not cal.is_open(ct(2026, 3, 10, 10))
    with pytest.raises(ValueError, match="no session starts"):
        cal.next_session_start(ct(2026, 3, 10, 10))


def test_parse_from_config_strings() -> None:
    spec = SessionSpec.parse("17:00", "15:10", ["sun", "mon", "tue", "wed", "thu"])
    assert spec == TOPSTEP_SESSIONS[0]
    with pytest.raises(ValueError, match="bad session days"):
        SessionSpec.parse("17:00", "15:10", ["funday"])
    with pytest.raises(ValueError, match="out of range"):
        SessionSpec(time(1), time(2), frozenset({7}))
