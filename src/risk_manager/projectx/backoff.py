"""Backoff delays with equal jitter and ``Retry-After`` parsing, shared by REST and hubs."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from risk_manager.types import utc_now

MAX_DOUBLINGS = 64  # 2**64 times any base is past every cap; 2.0 ** 1024 raises OverflowError


def backoff_delay(
    attempt: int,
    *,
    base: float = 0.5,
    cap: float = 30.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Capped exponential backoff with jitter for ``attempt`` (0-based).

    Half the delay is fixed and half random ("equal jitter"), so retries never collapse to zero
    and clients that failed together spread out. Any ``attempt`` is safe: the retry loops that
    never give up (hubs, enforcement) count past 1024, where ``2.0 ** attempt`` overflows.
    """
    ceiling = min(cap, base * 2.0 ** min(max(attempt, 0), MAX_DOUBLINGS))
    return ceiling / 2 + rand() * ceiling / 2


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else utc_now()
    return max(0.0, (when - reference).total_seconds())
