"""Work over every account done a bounded slice per loop callback, never hundreds of accounts
in one (docs/PERFORMANCE.md "Capacity", docs/RUNTIME.md "Quotes to hundreds of accounts").

One callback that touches 500 accounts holds the event loop for tens of milliseconds: a
breach's user-hub event waits behind it. Between two slices the loop polls its sockets, so an
enforcement waits behind at most one slice. Used by the quote fan-out's size, the sweep's
comparison and its reads, the lock gauges, the P&L snapshots' views, the read side's views
and the API's snapshots and account reads (api/server.py ``dumps_views``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import TypeVar

SLICE = 8  # accounts per loop callback (about 1 ms of engines at 500 accounts)

T = TypeVar("T")


async def in_slices(items: Sequence[T], size: int = SLICE) -> AsyncIterator[Sequence[T]]:
    """Yield ``items`` ``size`` at a time (``size`` >= 1, else ValueError), handing the loop
    back (``asyncio.sleep(0)``: one loop iteration) before every slice but the first, so the
    caller's work on one slice runs in one callback and the loop polls its sockets between."""
    if size < 1:
        raise ValueError("size must be >= 1")
    for start in range(0, len(items), size):
        if start:
            await asyncio.sleep(0)
        yield items[start : start + size]
