"""CME Globex trading hours for the simulator: when orders are taken and bars exist (§8.5).

Built on the product's trading calendar (``risk_manager.calendar``): one Globex session,
Sunday-Thursday 17:00 CT to 16:00 CT the next day (the daily 16:00-17:00 CT maintenance halt
and the weekend are closed), with the CME holiday data the package ships. A contract uses the
holiday list its catalog entry names; the data file has equity and energy lists only, so
metals and rates contracts use the equity list.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta

from risk_manager.calendar import CHICAGO, HolidayCalendar, Session, SessionSpec, TradingCalendar
from risk_manager.calendar import available_calendars as holiday_lists
from risk_manager.calendar.instants import local_date, require_aware
from risk_manager.calendar.sessions import occurrences
from risk_manager.domain.contracts import ContractSpec

SUN, MON, TUE, WED, THU = 6, 0, 1, 2, 3
CME_GLOBEX: tuple[SessionSpec, ...] = (
    SessionSpec(time(17, 0), time(16, 0), frozenset({SUN, MON, TUE, WED, THU})),
)
DEFAULT_HOLIDAYS = "equity"
_CHUNK = timedelta(days=14)  # local days of sessions computed at a time when walking back


class TradingHours:
    """Open/closed per contract and instant, and a contract's sessions walking back in time."""

    def __init__(self) -> None:
        self._known = set(holiday_lists())
        self._calendars: dict[str, TradingCalendar] = {}

    def calendar(self, spec: ContractSpec) -> TradingCalendar:
        """The Globex calendar with ``spec``'s holiday list (equity when the data lacks it)."""
        name = spec.calendar if spec.calendar in self._known else DEFAULT_HOLIDAYS
        found = self._calendars.get(name)
        if found is None:
            found = TradingCalendar(
                tz=CHICAGO, sessions=CME_GLOBEX, holidays=HolidayCalendar.load(name)
            )
            self._calendars[name] = found
        return found

    def is_open(self, spec: ContractSpec, at: datetime) -> bool:
        """True when ``at`` (aware) lies inside a Globex session of ``spec``'s market."""
        return self.calendar(spec).is_open(at)

    def sessions_before(
        self, spec: ContractSpec, at: datetime, since: datetime
    ) -> Iterator[Session]:
        """``spec``'s sessions that start before ``at``, newest first, down to ``since``.

        Sessions are computed a fortnight of local dates at a time, so a long window costs
        only the part of it a caller walks through. Both instants must be aware.
        """
        cal = self.calendar(spec)
        at, since = require_aware(at, "at"), require_aware(since, "since")
        last_day, floor = local_date(at, cal.tz), local_date(since, cal.tz) - timedelta(days=2)
        newest: datetime | None = None
        while last_day >= floor:
            first_day = last_day - _CHUNK + timedelta(days=1)
            chunk = list(occurrences(cal.sessions, first_day, last_day, cal.tz, cal.holidays))
            for session in reversed(chunk):
                if session.start < at and (newest is None or session.start < newest):
                    newest = session.start
                    yield session
            last_day = first_day - timedelta(days=1)
