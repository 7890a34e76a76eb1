"""Client-side rate limiting under the documented gateway limits (API doc §4).

A sliding-window log per bucket: a request may start only when fewer than ``limit`` requests
started in the last ``window`` seconds. Callers await instead of exceeding, so 429 should never
happen in normal running; when it does, ``penalize`` makes every caller wait out ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from risk_manager.types import Monotonic, Sleep

HISTORY_ENDPOINT = "History/retrieveBars"
MIN_WAIT = 0.001


class SlidingWindowLimiter:
    def __init__(
        self,
        limit: int,
        window: float,
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("rate limit needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._monotonic = monotonic
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()

    def _prune(self, now: float) -> None:
        while self._starts and now - self._starts[0] >= self.window:
            self._starts.popleft()

    def in_window(self) -> int:
        """How many requests started within the current window."""
        self._prune(self._monotonic())
        return len(self._starts)

    def penalize(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` (after a 429)."""
        self._blocked_until = max(self._blocked_until, self._monotonic() + seconds)

    async def acquire(self) -> None:
        # One waiter at a time keeps the order fair and the arithmetic simple.
        async with self._lock:
            while True:
                now = self._monotonic()
                if now < self._blocked_until:
                    await self._sleep(max(self._blocked_until - now, MIN_WAIT))
                    continue
                self._prune(now)
                if len(self._starts) < self.limit:
                    self._starts.append(now)
                    return
                # A floor on the wait: float rounding could leave the oldest start a hair
                # inside the window and spin on zero-length sleeps.
                await self._sleep(max(self._starts[0] + self.window - now, MIN_WAIT))


class GatewayRateLimiter:
    """Routes each endpoint to its bucket: History has its own, everything else shares one."""

    def __init__(
        self,
        general: tuple[int, float] = (180, 60.0),
        history: tuple[int, float] = (45, 30.0),
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        # Defaults leave 10% headroom under the documented 200/60 s and 50/30 s.
        self.general = SlidingWindowLimiter(*general, monotonic=monotonic, sleep=sleep)
        self.history = SlidingWindowLimiter(*history, monotonic=monotonic, sleep=sleep)

    def bucket(self, endpoint: str) -> SlidingWindowLimiter:
        return self.history if endpoint == HISTORY_ENDPOINT else self.general

    async def acquire(self, endpoint: str) -> None:
        await self.bucket(endpoint).acquire()

    def penalize(self, endpoint: str, seconds: float) -> None:
        self.bucket(endpoint).penalize(seconds)
