"""Session specs (weekly wall-clock windows) and their concrete occurrences.

A :class:`SessionSpec` says "from ``start`` to ``end`` local time, starting on ``days``"; when
``end <= start`` the session runs past midnight and ends on the next local date. An occurrence
is identified by its start date; holidays are keyed by the date on which it *ends* (see
:mod:`risk_manager.calendar.holidays`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from risk_manager.calendar.holidays import HolidayCalendar
from risk_manager.calendar.instants import local_instant, require_aware

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class SessionSpec:
    """A weekly session window in the calendar's zone.

    ``days`` are the weekdays (0=Mon..6=Sun) on which a session *starts*.
    """

    start: time
    end: time
    days: frozenset[int]

    def __post_init__(self) -> None:
        bad = [d for d in self.days if not 0 <= d <= 6]
        if bad:
            raise ValueError(f"session days {bad} out of range; use 0=Mon .. 6=Sun")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("session start/end are wall-clock times; give them without tzinfo")

    @property
    def wraps(self) -> bool:
        """True when the session runs past midnight (end is not after start)."""
        return self.end <= self.start

    def end_weekdays(self) -> frozenset[int]:
        """Weekdays on which an occurrence of this spec ends."""
        shift = 1 if self.wraps else 0
        return frozenset((d + shift) % 7 for d in self.days)

    @classmethod
    def parse(cls, start: str, end: str, days: Iterable[str]) -> SessionSpec:
        """From config strings: ``SessionSpec.parse("17:00", "15:10", ["sun", "mon"])``."""
        try:
            nums = frozenset(DAY_NAMES.index(d.strip().lower()[:3]) for d in days)
        except ValueError as exc:
            raise ValueError(f"bad session days {list(days)}; use {list(DAY_NAMES)}") from exc
        return cls(time.fromisoformat(start), time.fromisoformat(end), nums)


@dataclass(frozen=True)
class Session:
    """One concrete session occurrence, ``start <= t < end`` (aware instants, UTC)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        require_aware(self.start, "start")
        require_aware(self.end, "end")

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end


# Topstep / CME equity index futures: Sunday-Thursday 17:00 CT to 15:10 CT the next day.
TOPSTEP_SESSIONS: tuple[SessionSpec, ...] = (
    SessionSpec(time(17, 0), time(15, 10), frozenset({SUN, MON, TUE, WED, THU})),
)


def occurrence(
    spec: SessionSpec, start_day: date, tz: ZoneInfo, holidays: HolidayCalendar | None
) -> Session | None:
    """The occurrence of ``spec`` starting on local ``start_day``, after holidays; or None."""
    if start_day.weekday() not in spec.days:
        return None
    end_day = start_day + timedelta(days=1) if spec.wraps else start_day
    end_wall = spec.end
    if holidays is not None:
        if holidays.is_closed(end_day):
            return None
        early = holidays.early_close(end_day)
        # An early close only shortens: an early-close time past the normal end is ignored.
        if early is not None and early < end_wall:
            end_wall = early
    start = local_instant(start_day, spec.start, tz)
    end = local_instant(end_day, end_wall, tz)
    if end <= start:  # an early close before the session even began
        return None
    return Session(start, end)


def occurrences(
    specs: Iterable[SessionSpec],
    first_day: date,
    last_day: date,
    tz: ZoneInfo,
    holidays: HolidayCalendar | None,
) -> Iterator[Session]:
    """Every occurrence starting on a local date in ``[first_day, last_day]``, by start."""
    found: list[Session] = []
    day = first_day
    specs = tuple(specs)
    while day <= last_day:
        for spec in specs:
            occ = occurrence(spec, day, tz, holidays)
            if occ is not None:
                found.append(occ)
        day += timedelta(days=1)
    found.sort(key=lambda s: (s.start, s.end))
    return iter(found)
