"""Finite, generous bounds on every duration, amount and count of the rules (docs/CONFIG.md
"Bounds"). A value past them would switch its rule off in effect (a cooldown of 99999999d, a
retry every 99999999d, a limit of 1e30), so it is refused with the key and the allowed range."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, StrictInt

from risk_manager.config.durations import (
    Duration,
    LockDuration,
    UntilSentinel,
    format_duration,
)


def _duration_within(lo: timedelta, hi: timedelta) -> Callable[[timedelta], timedelta]:
    def check(value: timedelta) -> timedelta:
        if not lo <= value <= hi:
            raise ValueError(
                f"{format_duration(value)} is outside the allowed "
                f"{format_duration(lo)} to {format_duration(hi)}"
            )
        return value

    return check


def _lock_within(hi: timedelta) -> Callable[[timedelta | UntilSentinel], timedelta | UntilSentinel]:
    check = _duration_within(timedelta(seconds=1), hi)

    def lock(value: timedelta | UntilSentinel) -> timedelta | UntilSentinel:
        if isinstance(value, UntilSentinel):
            return value
        try:
            return check(value)
        except ValueError as exc:
            ends = ", ".join(s.value for s in UntilSentinel)
            raise ValueError(f"{exc}; for longer use {ends}") from None

    return lock


def _int_within(lo: int, hi: int) -> Callable[[int], int]:
    def check(value: int) -> int:
        if not lo <= value <= hi:
            raise ValueError(f"{value} is outside the allowed {lo} to {hi}")
        return value

    return check


def _d(**kw: float) -> timedelta:
    return timedelta(**kw)


Grace = Annotated[Duration, AfterValidator(_duration_within(_d(seconds=0.1), _d(hours=1)))]
"""RULE-008's grace: 0.1 s to 1 h."""
StageBefore = Annotated[Duration, AfterValidator(_duration_within(_d(), _d(hours=12)))]
"""RULE-009's stages before a session end: 0 s (off) to 12 h."""
MaxGap = Annotated[Duration, AfterValidator(_duration_within(_d(seconds=0.1), _d(hours=1)))]
"""RULE-010's hub gap: 0.1 s to 1 h."""
StaleMark = Annotated[Duration, AfterValidator(_duration_within(_d(seconds=1), _d(days=1)))]
"""How long a position may go without a live quote: 1 s to 1 day."""
RetryAfter = Annotated[Duration, AfterValidator(_duration_within(_d(seconds=0.1), _d(minutes=1)))]
"""When an unconfirmed action is proposed again: 0.1 s to 1 min."""
AdminDelay = Annotated[Duration, AfterValidator(_duration_within(_d(), _d(days=7)))]
"""``admin.unlock_delay`` / ``admin.loosen_delay``: 0 (at once) to a week."""
KeepUndelivered = Annotated[Duration, AfterValidator(_duration_within(_d(minutes=1), _d(days=7)))]
"""How long an alert the webhook has not taken is kept trying: 1 min to 7 days."""
LogRotateAge = Annotated[Duration, AfterValidator(_duration_within(_d(minutes=1), _d(days=31)))]
"""How old a log file may grow before it is rotated: 1 min to 31 days."""
BackupEvery = Annotated[Duration, AfterValidator(_duration_within(_d(hours=1), _d(days=7)))]
"""How often the daemon backs the store up: 1 h to 7 days."""
KeepHistory = Annotated[Duration, AfterValidator(_duration_within(_d(days=14), _d(days=3650)))]
"""How long journal, fill and snapshot rows are kept: 14 days (two trading weeks: the weekly
rules read back one) to 10 years."""
AlertDedupe = Annotated[Duration, AfterValidator(_duration_within(_d(), _d(days=1)))]
"""How long the same alert (rule, account, text) is sent once per channel: 0 s (off) to 1 day."""
AlertWindow = Annotated[Duration, AfterValidator(_duration_within(_d(minutes=1), _d(days=1)))]
"""The window of an alert channel's rate limit per rule: 1 min to 1 day."""
HubDownAfter = Annotated[Duration, AfterValidator(_duration_within(_d(seconds=5), _d(hours=1)))]
"""How long a hub may be down before the operator is alerted: 5 s to 1 h."""
WatchEvery = Annotated[Duration, AfterValidator(_duration_within(_d(seconds=1), _d(minutes=5)))]
"""How often the alert watch looks: 1 s to 5 min."""
HolidaysWithin = Annotated[Duration, AfterValidator(_duration_within(_d(days=1), _d(days=365)))]
"""How far ahead the holiday data must reach before the operator is alerted: 1 to 365 days."""
Cooldown = Annotated[LockDuration, AfterValidator(_lock_within(_d(days=7)))]
"""A lock's length: 1 s to 7 days, or an ``until_…`` end."""
ContractCount = Annotated[StrictInt, AfterValidator(_int_within(1, 1000))]
FillCount = Annotated[StrictInt, AfterValidator(_int_within(1, 1_000_000))]
Ticks = Annotated[StrictInt, AfterValidator(_int_within(1, 100_000))]
TicksOrZero = Annotated[StrictInt, AfterValidator(_int_within(0, 100_000))]
Retries = Annotated[StrictInt, AfterValidator(_int_within(0, 20))]
