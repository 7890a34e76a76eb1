"""Turning local wall-clock times into exact instants, safely across DST.

Every public function of the calendar works on instants (aware datetimes). Wall-clock
arithmetic (dates, "17:00") is done in the calendar's zone and converted here, once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def require_aware(at: datetime, what: str = "at") -> datetime:
    """Return ``at`` in UTC; raise ValueError if it carries no time zone."""
    if at.tzinfo is None or at.tzinfo.utcoffset(at) is None:
        raise ValueError(
            f"{what}={at.isoformat()} is a naive datetime; pass a timezone-aware instant "
            "(e.g. datetime.now(UTC) or a ZoneInfo-aware datetime)"
        )
    return at.astimezone(UTC)


def local_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``wall`` on ``day`` in ``tz``.

    Ambiguous times (the repeated hour when clocks go back) take the first occurrence
    (fold=0). Non-existent times (the skipped hour when clocks go forward) resolve, with
    fold=0, to the instant one gap later: 02:30 on a spring-forward day is 03:30 local.
    """
    naive = datetime.combine(day, wall.replace(tzinfo=None, fold=0))
    return naive.replace(tzinfo=tz).astimezone(UTC)


def local_date(at_utc: datetime, tz: ZoneInfo) -> date:
    """The calendar date of an instant in ``tz``."""
    return at_utc.astimezone(tz).date()
