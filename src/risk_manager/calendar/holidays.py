"""Exchange holidays: closed days and early closes, and the CME data file the package ships.

Semantics (applied by :mod:`risk_manager.calendar.sessions`): a ``closed`` date D means the
session that would *end* on local date D does not happen; an early close on D at T means the
session that would end on D ends at T instead (never later than it normally would). Holidays
do not move trading-day resets: a closed day is a trading day with no trading.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from importlib import resources
from types import MappingProxyType
from typing import Any

DATA_FILE = "cme_holidays.json"
# Top-level keys of the data file that are not calendars.
_META_KEYS = frozenset({"source", "note", "covers"})


@dataclass(frozen=True)
class HolidayCalendar:
    """Closed dates and early closes, as local dates/times of the trading calendar's zone."""

    closed: frozenset[date] = frozenset()
    early_closes: Mapping[date, time] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    # Inclusive range of dates the data was compiled for; None = unknown.
    coverage: tuple[date, date] | None = None

    def __post_init__(self) -> None:
        # Freeze the mapping so the frozen dataclass really is immutable.
        object.__setattr__(self, "early_closes", MappingProxyType(dict(self.early_closes)))

    def is_closed(self, day: date) -> bool:
        return day in self.closed

    def early_close(self, day: date) -> time | None:
        return self.early_closes.get(day)

    def covers(self, day: date) -> bool:
        """True when ``day`` lies inside the compiled data's range (callers may alert if not)."""
        return self.coverage is not None and self.coverage[0] <= day <= self.coverage[1]

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], coverage: tuple[date, date] | None = None
    ) -> HolidayCalendar:
        """Build from ``{"closed": [dates], "early_close": {date: "HH:MM"}}`` (ISO dates)."""
        try:
            closed = frozenset(date.fromisoformat(d) for d in data.get("closed", []))
            early = {
                date.fromisoformat(d): time.fromisoformat(t)
                for d, t in data.get("early_close", {}).items()
            }
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"bad holiday data ({exc}); dates must be YYYY-MM-DD and times HH:MM"
            ) from exc
        both = closed & early.keys()
        if both:
            raise ValueError(
                f"dates both closed and early-close in holiday data: {sorted(both)}; keep one"
            )
        return cls(closed=closed, early_closes=early, coverage=coverage)

    @classmethod
    def load(cls, name: str = "equity") -> HolidayCalendar:
        """The shipped CME calendar ``name`` ("equity" or "energy")."""
        raw = _read_data()
        if name in _META_KEYS or name not in raw:
            raise ValueError(
                f"unknown holiday calendar {name!r}; choose one of {list(available_calendars())}"
            )
        cover = raw.get("covers")
        coverage = (
            (date.fromisoformat(cover["from"]), date.fromisoformat(cover["to"])) if cover else None
        )
        return cls.from_dict(raw[name], coverage)


def available_calendars() -> tuple[str, ...]:
    """Names of the calendars in the shipped data file."""
    return tuple(sorted(k for k in _read_data() if k not in _META_KEYS))


def _read_data() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
