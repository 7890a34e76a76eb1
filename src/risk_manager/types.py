"""The type aliases every layer writes: injected clocks and sleeps, JSON objects.

Standard library only, so any package may import it (the simulator and the dashboards too).
Parts take their clock, monotonic clock and sleep as arguments so tests can drive time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

Clock = Callable[[], datetime]
"""Wall-clock time: returns a timezone-aware ``datetime`` (``utc_now`` in production)."""

Monotonic = Callable[[], float]
"""Monotonic seconds for measuring intervals (``time.monotonic`` in production)."""

Sleep = Callable[[float], Awaitable[None]]
"""Waits the given seconds (``asyncio.sleep`` in production)."""

JSON = dict[str, Any]
"""A JSON object as ``json`` reads or writes it: a REST body, a read view, a stream message."""


def utc_now() -> datetime:
    """The current instant, timezone-aware in UTC: the default :data:`Clock`."""
    return datetime.now(UTC)
