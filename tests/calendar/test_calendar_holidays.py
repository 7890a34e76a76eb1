"""The shipped CME holiday data file and its loader."""

from __future__ import annotations

import json
from datetime import date, time
from importlib import resources

import pytest

from risk_manager.calendar import HolidayCalendar, available_calendars


def test_shipped_calendars_load() -> None:
    assert available_calendars() == ("energy", "equity")
    eq = HolidayCalendar.load("equity")
    assert date(2026, 4, 3) in eq.closed  # Good Friday
    assert eq.early_close(date(2026, 11, 27)) == time(12, 15)
    assert eq.early_close(date(2026, 1, 19)) == time(12, 0)  # MLK
    assert HolidayCalendar.load() == eq
    assert HolidayCalendar.load("energy").early_close(date(2026, 1, 19)) == time(13, 30)


def test_data_covers_2025_to_2027_and_says_where_it_comes_from() -> None:
    raw = json.loads(
        resources.files("risk_manager.calendar").joinpath("data", "cme_holidays.json").read_text()
    )
    assert "CME" in raw["source"] and "every year" in raw["note"]
    eq = HolidayCalendar.load("equity")
    assert eq.covers(date(2025, 1, 1)) and eq.covers(date(2027, 12, 31))
    assert not eq.covers(date(2028, 1, 3))
    for name in available_calendars():
        cal = HolidayCalendar.load(name)
        days = cal.closed | cal.early_closes.keys()
        assert {d.year for d in days} == {2025, 2026, 2027}
        assert all(d.weekday() < 5 for d in days), "a holiday on a weekend changes nothing"
        # New Year's Day, Good Friday and Christmas closed in each year.
        assert sum(1 for d in cal.closed if d.year == 2026) == 3


def test_unknown_calendar_name_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="'equity'"):
        HolidayCalendar.load("metals")
    with pytest.raises(ValueError, match="unknown"):
        HolidayCalendar.load("note")


def test_bad_data_is_rejected_with_the_format() -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        HolidayCalendar.from_dict({"closed": ["26-4-3"]})
    with pytest.raises(ValueError, match="both closed and early-close"):
        HolidayCalendar.from_dict(
            {"closed": ["2026-04-03"], "early_close": {"2026-04-03": "12:00"}}
        )


def test_holiday_calendar_is_immutable_and_hashable() -> None:
    eq = HolidayCalendar.load("equity")
    with pytest.raises(TypeError):
        eq.early_closes[date(2026, 1, 2)] = time(12)  # type: ignore[index]
    assert hash(eq) == hash(HolidayCalendar.load("equity"))
