"""Counting the event loop's iterations in a test (work per iteration, not timings)."""

from __future__ import annotations

import asyncio


class LoopIterations:
    """Counts the event loop's iterations: its ``run`` task takes one step per iteration."""

    def __init__(self) -> None:
        self.n = 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(0)
            self.n += 1
