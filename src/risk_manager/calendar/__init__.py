"""Trading calendar: trading day, week, sessions, holidays, DST (RULES.md §1, RULE-009).

Pure code: every function takes the instant; nothing reads the clock. See docs/CALENDAR.md.
"""

from risk_manager.calendar.holidays import HolidayCalendar, available_calendars
from risk_manager.calendar.sessions import (
    DAY_NAMES,
    TOPSTEP_SESSIONS,
    Session,
    SessionSpec,
)
from risk_manager.calendar.trading_day import CHICAGO, TradingCalendar

__all__ = [
    "CHICAGO",
    "DAY_NAMES",
    "TOPSTEP_SESSIONS",
    "HolidayCalendar",
    "Session",
    "SessionSpec",
    "TradingCalendar",
    "available_calendars",
]
