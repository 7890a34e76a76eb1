"""Durations as the rule book writes them: ``30s``, ``15m``, ``2h``, ``1h30m``, ``0s``.

Lock durations may also be a sentinel resolved by the engine when the lock is made
(RULES.md §2): ``until_reset``, ``until_week_reset``, ``until_session_start``, ``until_cleared``.
Both serialise back to the same string form, so a dumped config loads again unchanged.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_UNITS: tuple[tuple[str, int], ...] = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))
_DURATION = re.compile(
    r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?$"
)


class UntilSentinel(StrEnum):
    """A lock end the engine resolves to an instant when the lock is made."""

    RESET = "until_reset"  # the next daily reset
    WEEK_RESET = "until_week_reset"  # the next weekly reset
    SESSION_START = "until_session_start"  # the next allowed session's start
    CLEARED = "until_cleared"  # no end: an admin must clear it


def parse_duration(text: str) -> timedelta:
    """``"1h30m"`` → ``timedelta(hours=1, minutes=30)``; raises ValueError naming the input."""
    cleaned = text.strip().lower()
    match = _DURATION.match(cleaned)
    if not cleaned or match is None:
        raise ValueError(
            f"invalid duration {text!r}: write a number and a unit, e.g. 30s, 15m, 2h, 1h30m"
        )
    total = Decimal(0)
    for unit, seconds in _UNITS:
        part = match[unit]
        if part is not None:
            try:
                total += Decimal(part) * seconds
            except InvalidOperation:  # pragma: no cover - the regex only admits digits
                raise ValueError(f"invalid duration {text!r}") from None
    return timedelta(microseconds=int(total * 1_000_000))


def format_duration(value: timedelta) -> str:
    """The shortest canonical string: ``timedelta(seconds=5400)`` → ``"1h30m"``."""
    if value < timedelta(0):
        raise ValueError(f"negative duration {value}")
    whole = int(value.total_seconds())
    micros = value.microseconds
    parts: list[str] = []
    for unit, seconds in _UNITS:
        count, whole = divmod(whole, seconds)
        if unit == "s" and micros:
            frac = f"{micros / 1_000_000:.6f}".rstrip("0")[1:]  # ".5"
            parts.append(f"{count}{frac}s")
        elif count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _validate_duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise ValueError("must not be negative")
        return value
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError(
        f"durations are strings with a unit, e.g. '30s', '15m', '2h' (got {type(value).__name__})"
    )


def _validate_lock_duration(value: object) -> timedelta | UntilSentinel:
    if isinstance(value, UntilSentinel):
        return value
    if isinstance(value, str) and value.strip().lower().startswith("until_"):
        try:
            return UntilSentinel(value.strip().lower())
        except ValueError:
            allowed = ", ".join(s.value for s in UntilSentinel)
            raise ValueError(f"unknown lock end {value!r}: use a duration or {allowed}") from None
    return _validate_duration(value)


def _format_lock_duration(value: timedelta | UntilSentinel) -> str:
    if isinstance(value, UntilSentinel):
        return value.value
    return format_duration(value)


Duration = Annotated[
    timedelta,
    BeforeValidator(_validate_duration),
    PlainSerializer(format_duration, return_type=str),
]
"""A non-negative duration written as ``30s``, ``15m``, ``2h``, ``1h30m`` (``0s`` = off)."""

LockDuration = Annotated[
    timedelta | UntilSentinel,
    BeforeValidator(_validate_lock_duration),
    PlainSerializer(_format_lock_duration, return_type=str),
]
"""How long a lock lasts: a :data:`Duration` or an :class:`UntilSentinel`."""
