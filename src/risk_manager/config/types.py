"""Small value types the config models share: money, fractions, clock times, days, time zones."""

from __future__ import annotations

from datetime import time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer


class Frozen(BaseModel):
    """Base of every config model: frozen, unknown keys rejected (DESIGN.md style 10)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def to_decimal(value: object) -> Decimal:
    """YAML ints, floats and strings → Decimal; floats go through ``str`` so 0.1 stays 0.1."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(str(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip().replace("_", ""))
        except InvalidOperation:
            raise ValueError(f"must be a number, got {value!r}") from None
    else:
        raise ValueError(f"must be a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError("must be a finite number")
    return result


MAX_MONEY = Decimal(10_000_000)  # USD: far above any Topstep account or limit (CONFIG.md)


def _at_most_max_money(value: Decimal) -> Decimal:
    if value > MAX_MONEY:
        raise ValueError(f"{value} is more than the allowed {MAX_MONEY:,} (USD)")
    return value


Money = Annotated[
    Decimal, BeforeValidator(to_decimal), Field(gt=0), AfterValidator(_at_most_max_money)
]
"""A positive amount in account currency (USD), at most 10,000,000."""

NonNegativeMoney = Annotated[
    Decimal, BeforeValidator(to_decimal), Field(ge=0), AfterValidator(_at_most_max_money)
]
"""An amount in account currency that may be zero, at most 10,000,000."""

PositiveDecimal = Annotated[Decimal, BeforeValidator(to_decimal), Field(gt=0)]

Fraction = Annotated[float, Field(gt=0, lt=1)]
"""A share strictly between 0 and 1 (``warn_at: 0.8``)."""


def _parse_clock(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 17:00 as the base-60 integer 1020; our loader prevents
        # that, but a hand-built dict may still carry one.
        raise ValueError('write clock times as quoted "HH:MM" strings, e.g. "17:00"')
    if not isinstance(value, str):
        raise ValueError(f'must be a clock time "HH:MM", got {type(value).__name__}')
    try:
        hours, minutes = value.strip().split(":")
        if len(minutes) != 2:
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f'must be a clock time "HH:MM" (00:00-23:59), got {value!r}') from None


ClockTime = Annotated[
    time,
    BeforeValidator(_parse_clock),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
]
"""A wall-clock time written ``"HH:MM"`` (24-hour)."""


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}: use an IANA name such as America/Chicago"
        ) from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_zone)]
"""An IANA time zone name checked against the zoneinfo database."""


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        """Monday = 0 … Sunday = 6, as :meth:`datetime.date.weekday`."""
        return _WEEKDAY_ORDER.index(self.value)


_WEEKDAY_ORDER = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


Day = Annotated[Weekday, BeforeValidator(_lower)]
"""A weekday written ``mon`` … ``sun`` (case-insensitive)."""


Tighter = Literal["lower", "higher", "on", "off", "fewer_each", "more_items"] | tuple[str, ...]
"""Which way a setting tightens its rule (config/tightening.py, admin.loosen_delay):
``lower`` a smaller number (None, no limit, is the loosest), ``higher`` a larger one,
``on``/``off`` true/false, ``fewer_each`` a mapping whose every old key keeps a value no
larger (new keys only add limits), ``more_items`` a list keeping every old item; a tuple
orders a setting's choices tightest first. A setting without an entry never tightens."""
