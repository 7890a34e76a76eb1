"""Trading days, trading weeks and sessions on one exchange calendar.

Definitions (RULES.md §1):

* A **daily reset** happens at ``daily_reset`` local time (default 17:00 America/Chicago) on
  every local date on which a configured session can end. For the default Topstep sessions
  (Sunday-Thursday 17:00 -> 15:10 next day) that is Monday-Friday, so resets are Mon-Fri 17:00
  CT. With no sessions configured, every date has a reset.
* A **trading day** runs from one reset to the next and is labelled with the local date on
  which it ends: Sunday 17:00 CT .. Monday 17:00 CT is Monday's (Monday 16:59 CT -> Monday,
  Monday 17:00 CT -> Tuesday).
* **Weekend choice.** There is no reset on Saturday or Sunday (no session ends then), so every
  instant from Friday 17:00 CT to Monday 17:00 CT belongs to *Monday's* trading day: a
  Saturday instant's label is the following Monday, its ``day_start`` is Friday 17:00 and its
  ``next_reset`` Monday 17:00. Consequence: the trading day that contains a DST change
  (always a Sunday 02:00 in the US) is Friday 17:00 -> Monday 17:00, 71 h in March and 73 h
  in November; a calendar with a reset every day has 23 h / 25 h days instead.
* A **trading week** runs from one weekly reset (default Sunday 17:00 CT) to the next and is
  labelled with the local date on which it ends. The weekly reset is independent of daily
  resets, so the (tradeless) weekend stretch Friday 17:00 -> Sunday 17:00 belongs to Monday's
  trading day but to the week that ends that Sunday.
* Holidays never move resets: a closed day is a trading day with no session.

All arithmetic is done in local wall time and converted with zoneinfo, so the reset is 17:00
Chicago in both CST (23:00 UTC) and CDT (22:00 UTC). Every method takes the instant, rejects
naive datetimes with ValueError and returns aware datetimes **in UTC** (subtracting two
instants in the same ZoneInfo ignores DST; UTC does not). Convert with ``.astimezone(cal.tz)``
for display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from risk_manager.calendar.holidays import HolidayCalendar
from risk_manager.calendar.instants import local_date, local_instant, require_aware
from risk_manager.calendar.sessions import TOPSTEP_SESSIONS, Session, SessionSpec, occurrences

CHICAGO = ZoneInfo("America/Chicago")
_ONE_DAY = timedelta(days=1)
# How far ahead to look for the next session before declaring the config has none.
_SESSION_SEARCH_DAYS = 370


@dataclass(frozen=True)
class TradingCalendar:
    """Trading day / week / session arithmetic for one time zone (pure; no clock reads)."""

    tz: ZoneInfo = CHICAGO
    daily_reset: time = time(17, 0)
    weekly_reset_day: int = 6  # 0=Mon .. 6=Sun
    weekly_reset_time: time = time(17, 0)
    sessions: tuple[SessionSpec, ...] = TOPSTEP_SESSIONS
    holidays: HolidayCalendar | None = field(default=None)  # None = no holidays

    def __post_init__(self) -> None:
        if not isinstance(self.tz, ZoneInfo):
            raise ValueError(f"tz must be a zoneinfo.ZoneInfo, got {self.tz!r}")
        if not 0 <= self.weekly_reset_day <= 6:
            raise ValueError(f"weekly_reset_day={self.weekly_reset_day}; use 0=Mon .. 6=Sun")
        for name in ("daily_reset", "weekly_reset_time"):
            if getattr(self, name).tzinfo is not None:
                raise ValueError(f"{name} is a wall-clock time in tz; give it without tzinfo")
        object.__setattr__(self, "sessions", tuple(self.sessions))

    @cached_property
    def reset_weekdays(self) -> frozenset[int]:
        """Weekdays with a daily reset: those on which some session ends (all if none)."""
        days = frozenset().union(*(s.end_weekdays() for s in self.sessions))
        return days or frozenset(range(7))

    # -- trading day ---------------------------------------------------------------------

    def trading_day(self, at: datetime) -> date:
        """Label of ``at``'s trading day: the local date of the first reset after ``at``."""
        return self._next_boundary_day(require_aware(at), self.reset_weekdays, self.daily_reset)

    def day_start(self, at: datetime) -> datetime:
        """The reset instant that began ``at``'s trading day (<= at)."""
        day = self.trading_day(at) - _ONE_DAY
        while day.weekday() not in self.reset_weekdays:
            day -= _ONE_DAY
        return local_instant(day, self.daily_reset, self.tz)

    def next_reset(self, at: datetime) -> datetime:
        """The first daily reset strictly after ``at`` (the end of its trading day)."""
        return local_instant(self.trading_day(at), self.daily_reset, self.tz)

    # -- trading week --------------------------------------------------------------------

    def week_label(self, at: datetime) -> date:
        """Local date on which ``at``'s trading week ends (the next weekly reset's date)."""
        return self._next_boundary_day(
            require_aware(at), frozenset({self.weekly_reset_day}), self.weekly_reset_time
        )

    def week_start(self, at: datetime) -> datetime:
        """The weekly reset that began ``at``'s trading week (<= at)."""
        return local_instant(
            self.week_label(at) - timedelta(days=7), self.weekly_reset_time, self.tz
        )

    def next_weekly_reset(self, at: datetime) -> datetime:
        """The first weekly reset strictly after ``at``."""
        return local_instant(self.week_label(at), self.weekly_reset_time, self.tz)

    # -- sessions ------------------------------------------------------------------------

    def session_at(self, at: datetime) -> Session | None:
        """The session containing ``at`` (start <= at < end), after holidays; None if closed.

        Overlapping or back-to-back specs are not merged: of the occurrences containing
        ``at`` the one ending last is returned.
        """
        at_utc = require_aware(at)
        today = local_date(at_utc, self.tz)
        # A session lasts at most 24 h, so one containing at started today or yesterday
        # (one more day of slack for DST gaps).
        found = [
            s
            for s in occurrences(self.sessions, today - 2 * _ONE_DAY, today, self.tz, self.holidays)
            if s.contains(at_utc)
        ]
        return max(found, key=lambda s: s.end) if found else None

    def next_session_start(self, at: datetime) -> datetime:
        """The first session start strictly after ``at``, skipping holidays."""
        return self._next_session(require_aware(at)).start

    def current_or_next_session(self, at: datetime) -> Session:
        """The session containing ``at``, or else the next one to start."""
        return self.session_at(at) or self._next_session(require_aware(at))

    def is_open(self, at: datetime) -> bool:
        """True when ``at`` lies inside a session."""
        return self.session_at(at) is not None

    # -- helpers -------------------------------------------------------------------------

    def _next_boundary_day(self, at_utc: datetime, weekdays: frozenset[int], wall: time) -> date:
        # Start a day early: a boundary's instant can fall on the next local date in a DST gap.
        day = local_date(at_utc, self.tz) - _ONE_DAY
        for _ in range(10):
            if day.weekday() in weekdays and local_instant(day, wall, self.tz) > at_utc:
                return day
            day += _ONE_DAY
        raise AssertionError("unreachable: a boundary weekday recurs within 7 days")

    def _next_session(self, at_utc: datetime) -> Session:
        first = local_date(at_utc, self.tz) - _ONE_DAY
        for offset in range(0, _SESSION_SEARCH_DAYS, 7):
            lo = first + timedelta(days=offset)
            later = [
                s
                for s in occurrences(
                    self.sessions, lo, lo + timedelta(days=6), self.tz, self.holidays
                )
                if s.start > at_utc
            ]
            if later:
                return min(later, key=lambda s: (s.start, -s.end.timestamp()))
        raise ValueError(
            f"no session starts within {_SESSION_SEARCH_DAYS} days after {at_utc.isoformat()}; "
            "check the calendar's sessions and holidays"
        )
