"""The event-loop lag watcher (runtime/loop_lag.py): a blocked loop shows, and the worst
sample leaves the window after a minute."""

from __future__ import annotations

import asyncio
import time

from risk_manager.runtime.loop_lag import LoopLag, watch_loop_lag


def test_the_worst_sample_of_the_window_is_reported_until_it_ages_out() -> None:
    lag = LoopLag(window=60.0)
    assert lag.sample(0.0, 0.001) == 0.001
    assert lag.sample(1.0, 0.250) == 0.250
    assert lag.sample(30.0, 0.002) == 0.250
    assert lag.sample(61.5, 0.003) == 0.003  # the 0.25 s of t=1 is older than a minute
    assert lag.sample(62.0, -0.001) == 0.003  # an early wake-up is no lag


async def test_a_callback_that_holds_the_loop_is_seen() -> None:
    seen: list[float] = []
    held = asyncio.Event()

    def report(worst: float) -> None:
        seen.append(worst)
        if worst >= 0.15:
            held.set()

    watcher = asyncio.create_task(watch_loop_lag(report, interval=0.01))
    try:
        await asyncio.sleep(0.05)
        time.sleep(0.2)  # noqa: ASYNC251 - holds the loop, as a slow synchronous call would
        async with asyncio.timeout(5):
            await held.wait()
    finally:
        watcher.cancel()
    assert max(seen) >= 0.15
