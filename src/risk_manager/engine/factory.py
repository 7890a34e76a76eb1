"""Build an engine from the config: the trading-day calendar, the catalog and the rules."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from risk_manager.calendar import HolidayCalendar, TradingCalendar
from risk_manager.config.models import Config
from risk_manager.config.sections import TradingDayConfig
from risk_manager.engine.engine import Engine


def calendar_for(trading_day: TradingDayConfig) -> TradingCalendar:
    """Resets at ``daily_reset`` on the days the default (CME equity) sessions end."""
    return TradingCalendar(
        tz=ZoneInfo(trading_day.timezone),
        daily_reset=trading_day.daily_reset,
        weekly_reset_day=trading_day.weekly_reset.day.number,
        weekly_reset_time=trading_day.weekly_reset.time,
        holidays=HolidayCalendar.load("equity"),
    )


def engine_for(config: Config) -> Engine:
    """Per-account rules come from ``config.rules_for``."""
    return Engine(config.rules_for, calendar_for(config.trading_day), config.catalog())
