"""Event-loop lag: how late a short sleep wakes up, the worst over the last minute.

Every event, timer and enforcement of the daemon runs on one event loop, so a callback that
holds it (a slow read, a long computation) delays them all. The watcher sleeps ``INTERVAL``
seconds again and again; each wake-up's overshoot is one sample, and the worst sample of the
last ``WINDOW`` seconds is reported (``risk_manager_event_loop_lag_seconds`` on ``/metrics``).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

INTERVAL = 0.25  # seconds between samples: cheap (4 wake-ups a second), fine enough
WINDOW = 60.0  # seconds the reported worst lag looks back


class LoopLag:
    """The worst lag (seconds) of the samples of the last ``window`` seconds; ``sample``
    records one (``at`` is a ``time.monotonic()`` instant)."""

    def __init__(self, window: float = WINDOW) -> None:
        self.window = window
        self._samples: deque[tuple[float, float]] = deque()

    def sample(self, at: float, lag: float) -> float:
        """Record ``lag`` seconds observed at ``at``; the worst lag now in the window."""
        self._samples.append((at, max(0.0, lag)))
        while self._samples[0][0] < at - self.window:
            self._samples.popleft()
        return max(seen for _, seen in self._samples)


async def watch_loop_lag(report: Callable[[float], None], interval: float = INTERVAL) -> None:
    """Sample the running loop's lag forever, calling ``report`` with the worst lag of the
    window after each sample. Cancel it to stop."""
    lag = LoopLag()
    while True:
        started = time.monotonic()
        await asyncio.sleep(interval)
        woke = time.monotonic()
        report(lag.sample(woke, woke - started - interval))
