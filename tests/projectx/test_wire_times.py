"""The wire's timestamps (projectx/wire_values.py ``parse_time``): the fast path
(``datetime.fromisoformat``) and the careful one read every form the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risk_manager.projectx.wire_values import WireError, parse_time


@given(
    at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    digits=st.integers(min_value=0, max_value=9),
    ticks=st.integers(min_value=0, max_value=10**9 - 1),
    offset_minutes=st.sampled_from([0, 60, -300, 330]),
    suffix=st.sampled_from(["offset", "Z", "z", "none"]),
    pad=st.booleans(),
)
def test_any_fraction_length_and_zone_form_reads_as_the_truncated_instant(
    at: datetime, digits: int, ticks: int, offset_minutes: int, suffix: str, pad: bool
) -> None:
    zone = timezone(timedelta(minutes=offset_minutes)) if suffix == "offset" else UTC
    local = at.replace(microsecond=0).astimezone(zone)
    fraction = f"{ticks:09d}"[:digits]
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if digits else "")
    if suffix == "offset":
        text += local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]
    elif suffix != "none":
        text += suffix
    if pad:
        text = f" {text} "  # the careful path strips what the fast path refuses
    micro = int((fraction + "000000")[:6]) if digits else 0
    assert parse_time(text) == local.replace(microsecond=micro)
    assert parse_time(text).tzinfo is not None  # naive times are taken as UTC


@pytest.mark.parametrize("bad", ["", "yesterday", "2026-13-01T00:00:00Z", "2026-05-06T25:00"])
def test_what_is_not_an_instant_is_a_wire_error(bad: str) -> None:
    with pytest.raises(WireError, match="not an ISO 8601 instant"):
        parse_time(bad)
