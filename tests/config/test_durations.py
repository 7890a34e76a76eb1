from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from risk_manager.config.durations import (
    Duration,
    LockDuration,
    UntilSentinel,
    format_duration,
    parse_duration,
)


class Holder(BaseModel):
    wait: Duration
    lock: LockDuration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("0s", timedelta(0)),
        ("1d2h", timedelta(days=1, hours=2)),
        ("1.5s", timedelta(seconds=1.5)),
        (" 90S ", timedelta(seconds=90)),
    ],
)
def test_duration_strings_parse_to_timedeltas(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(seconds=5400), "1h30m"),
        (timedelta(0), "0s"),
        (timedelta(seconds=60), "1m"),
        (timedelta(seconds=1.25), "1.25s"),
        (timedelta(days=1, seconds=1), "1d1s"),
    ],
)
def test_durations_format_to_their_shortest_string(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)))
def test_duration_round_trips_through_its_string(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize("bad", ["", "abc", "10", "1x", "-5s", "5m1h", "1.5m"])
def test_bad_duration_strings_are_refused_naming_the_input(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(bad)


def test_numbers_are_not_durations() -> None:
    with pytest.raises(ValidationError, match="strings with a unit") as info:
        Holder.model_validate({"wait": 30, "lock": "1m"})
    assert info.value.errors()[0]["loc"] == ("wait",)


def test_lock_durations_take_every_sentinel_and_dump_them_back() -> None:
    for sentinel in UntilSentinel:
        holder = Holder.model_validate({"wait": "1s", "lock": sentinel.value})
        assert holder.lock is sentinel
        assert holder.model_dump()["lock"] == sentinel.value
        assert holder.model_dump(mode="json")["lock"] == sentinel.value


def test_unknown_sentinel_lists_the_known_ones() -> None:
    with pytest.raises(ValidationError, match="until_week_reset"):
        Holder.model_validate({"wait": "1s", "lock": "until_tomorrow"})


def test_model_dump_round_trip_keeps_durations() -> None:
    holder = Holder.model_validate({"wait": "1h30m", "lock": "45s"})
    dumped = holder.model_dump(mode="json")
    assert dumped == {"wait": "1h30m", "lock": "45s"}
    assert Holder.model_validate(dumped) == holder
