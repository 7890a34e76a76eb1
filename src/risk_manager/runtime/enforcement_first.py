"""Enforcement first: work that can wait a few milliseconds waits while an enforcement's
journal write is on its way to disk (docs/RUNTIME.md "Quotes to hundreds of accounts").

An enforcement is journalled before it is sent (RULES.md §5): its write runs on a worker
thread, which needs the interpreter's lock between SQLite's steps. With hundreds of accounts,
the event loop is rarely idle (each quote runs an engine per account holding the contract), so
that thread waits a switch interval for the lock at each step, and a 1 ms commit took 10 –
15 ms (docs/PERFORMANCE.md "Capacity"). While any enforcement's journal write is in flight,
the quote fan-out holds its backlog (``QuoteFanout``): the actors finish the quotes already
handed to them, the loop goes idle, and the write gets the lock at once.

Nothing is dropped: quotes held are handed over, in order, once the writes have landed. The
hold is bounded twice: a quote is held at most ``HOLD_CAP`` in all (the caller keeps its count
and says what is left: ``wait(at_most=…)``), however many enforcements start meanwhile (each of
its slices may meet a new one: a storm of breaches, one account's enforcements back to back);
and once writes have been in flight for ``HOLD_CAP`` without a break (a stuck store), nothing
is held until they are all done. The bound counts the time held, not the quote's age: a quote
whose hand-over to 500 accounts has taken longer than the cap already (its own slices, other
work on the loop) is still held for a breach's write, or the write would meet the very quotes
this hold is for (docs/PERFORMANCE.md "Capacity", sixth session).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

HOLD_CAP = 0.01  # seconds: the longest a quote, or one busy spell, is held back


class EnforcementFirst:
    """Counts enforcements whose journal write is in flight (``begin`` / ``end``, from the
    enforcer); ``wait`` holds a caller while there are any, at most ``HOLD_CAP`` seconds from
    the start of the busy spell, and at most what the caller says is left of its own bound
    (``at_most``). One per daemon, shared by its enforcers, its quote fan-out and its read
    side; loop-bound (call it from the event loop's thread only)."""

    def __init__(
        self, *, cap: float = HOLD_CAP, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._cap = cap
        self._clock = clock
        self._writing = 0
        self._since = 0.0  # when the current busy spell began (``clock``)
        self._clear: asyncio.Event | None = None
        self.holds = 0  # times ``wait`` held its caller (a figure for tests and benchmarks)

    @property
    def busy(self) -> bool:
        """A journal write is in flight and the spell is younger than the cap."""
        return self._writing > 0 and self._clock() - self._since < self._cap

    def begin(self) -> None:
        """An enforcement hands its journal write to the store."""
        if self._writing == 0:
            self._since = self._clock()
        self._writing += 1

    def end(self) -> None:
        """That write landed (or was left to the background: ``DurableWrites``)."""
        if self._writing <= 0:
            raise RuntimeError("EnforcementFirst.end() without a begin()")
        self._writing -= 1
        if self._writing == 0 and self._clear is not None:
            self._clear.set()
            self._clear = None

    async def wait(self, at_most: float | None = None) -> None:
        """Return once no enforcement's journal write is in flight, once the busy spell has
        lasted ``cap`` seconds, or after ``at_most`` seconds (what is left of the held work's
        own bound: ``cap`` less what it was held already, so it waits ``cap`` in all however
        many spells it meets); at once when none is in flight or nothing is left. Raises
        only ``CancelledError``."""
        if not self.busy:
            return
        left = self._cap - (self._clock() - self._since)
        if at_most is not None:
            left = min(left, at_most)
        if left <= 0:
            return
        self.holds += 1
        if self._clear is None:
            self._clear = asyncio.Event()
        # at the cap, quotes flow again while the writes go on. asyncio.timeout, not
        # wait_for: on 3.11 wait_for drops a cancel that races the wake-up (gh-86296), and a
        # dashboard's refresh held here would outlive the daemon's stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(left):
                await self._clear.wait()

    async def held_for(self, held: float) -> float:
        """For work already held ``held`` seconds: ``wait`` with what is left of its cap
        (``at_most=cap - held``); returns ``held`` plus the time this wait held it (the work's
        new count, on the hold's clock). At once, ``held`` unchanged, when nothing is in
        flight. Raises only ``CancelledError``."""
        if not self.busy:
            return held
        started = self._clock()
        await self.wait(at_most=self._cap - held)
        return held + self._clock() - started
