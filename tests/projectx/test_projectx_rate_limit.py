"""The limiter never lets more than ``limit`` requests start in any ``window``."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from projectx.px_fakes import FakeClock
from risk_manager.projectx.backoff import backoff_delay, parse_retry_after
from risk_manager.projectx.rate_limit import GatewayRateLimiter, SlidingWindowLimiter


def max_in_any_window(starts: list[float], window: float) -> int:
    best = 0
    for i, start in enumerate(starts):
        best = max(best, sum(1 for s in starts[i:] if s - start < window))
    return best


async def test_limiter_never_exceeds_the_window(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(180, 60.0, monotonic=clock.monotonic, sleep=clock.sleep)
    starts: list[float] = []
    for _ in range(500):
        await limiter.acquire()
        starts.append(clock.mono)
    assert max_in_any_window(starts, 60.0) == 180
    assert starts[-1] - starts[0] >= 120  # it waited rather than exceeding


@settings(max_examples=30, deadline=None)
@given(
    limit=st.integers(1, 8),
    gaps=st.lists(st.floats(0, 3, allow_nan=False), min_size=1, max_size=40),
)
def test_limiter_property(limit: int, gaps: list[float]) -> None:
    clock = FakeClock()

    async def run() -> list[float]:
        limiter = SlidingWindowLimiter(limit, 5.0, monotonic=clock.monotonic, sleep=clock.sleep)
        starts = []
        for gap in gaps:
            clock.advance(gap)
            await limiter.acquire()
            starts.append(clock.mono)
        return starts

    starts = asyncio.run(run())
    assert max_in_any_window(starts, 5.0) <= limit


async def test_concurrent_callers_are_all_held_to_the_limit(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(5, 10.0, monotonic=clock.monotonic, sleep=clock.sleep)
    starts: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        starts.append(clock.mono)

    await asyncio.gather(*(one() for _ in range(23)))
    assert len(starts) == 23
    assert max_in_any_window(sorted(starts), 10.0) <= 5


async def test_history_has_its_own_bucket(clock: FakeClock) -> None:
    limiter = GatewayRateLimiter((3, 60.0), (2, 30.0), monotonic=clock.monotonic, sleep=clock.sleep)
    await limiter.acquire("History/retrieveBars")
    await limiter.acquire("History/retrieveBars")
    for _ in range(3):
        await limiter.acquire("Order/search")
    assert clock.mono == 1000.0  # nothing had to wait yet
    await limiter.acquire("History/retrieveBars")
    assert clock.mono == 1030.0
    assert limiter.general.in_window() == 3  # History does not use the general bucket


async def test_penalty_holds_every_caller(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(100, 60.0, monotonic=clock.monotonic, sleep=clock.sleep)
    limiter.penalize(12.0)
    await limiter.acquire()
    assert clock.mono == 1012.0


def test_parse_retry_after_seconds_and_http_date(clock: FakeClock) -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Mon, 02 Mar 2026 14:30:30 GMT", clock.now) == 30.0
    assert parse_retry_after("Mon, 02 Mar 2026 14:00:00 GMT", clock.now) == 0.0


def test_backoff_is_capped_and_jittered() -> None:
    assert backoff_delay(0, base=1, cap=10, rand=lambda: 0.0) == 0.5
    assert backoff_delay(0, base=1, cap=10, rand=lambda: 1.0) == 1.0
    assert backoff_delay(20, base=1, cap=10, rand=lambda: 1.0) == 10.0
    assert backoff_delay(20, base=1, cap=10, rand=lambda: 0.0) == 5.0
