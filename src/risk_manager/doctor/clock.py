"""How far this machine's clock is from the gateway's, from timestamps with one-second
resolution (the HTTP ``Date`` header, a JWT's ``iat``).

A server stamp ``s`` (whole seconds, truncated) taken while our request was in flight, between
our local ``sent`` and ``received``, means the true offset (server − local) lies in
``[s − received, s + 1 − sent]``. The smallest offset consistent with that interval is the
evidence: 0 when it contains 0, else its bound nearer to 0. Two stamps narrow it further.
The trading day and every lock's end are computed from this machine's clock, so an offset
over 1 s warns and over 5 s fails (docs/OPERATIONS.md)."""

from __future__ import annotations

from collections.abc import Iterable

WARN_S = 1.0
FAIL_S = 5.0


def offset_bounds(stamp: float, sent: float, received: float) -> tuple[float, float]:
    """``(low, high)`` of server − local in seconds, for a whole-second ``stamp`` (epoch
    seconds) taken between local epoch times ``sent`` and ``received``."""
    return stamp - received, stamp + 1.0 - sent


def least_offset(bounds: Iterable[tuple[float, float]]) -> float:
    """The smallest offset (signed, seconds) every interval in ``bounds`` allows: their
    intersection's point nearest 0 (when they do not intersect, the largest low if it is
    above 0, else the smallest high)."""
    items = list(bounds)
    if not items:
        raise ValueError("no clock evidence")
    low = max(b[0] for b in items)
    high = min(b[1] for b in items)
    if low <= 0.0 <= high:
        return 0.0
    return low if low > 0.0 else high
