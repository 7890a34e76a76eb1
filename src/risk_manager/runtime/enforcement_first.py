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
hold is bounded twice: a quote waits at most ``HOLD_CAP`` from when it was queued (the caller
says when: ``wait(queued_at=…)``), however many enforcements start meanwhile (each of its
slices may meet a new one: a storm of breaches, one account's enforcements back to back); and
once writes have been in flight for ``HOLD_CAP`` without a break (a stuck store), nothing is
held until they are all done.
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
    the start of the busy spell, and at most that from when the held work was queued. One per
    daemon, shared by its enforcers and its quote fan-out; loop-bound (call it from the event
    loop's thread only)."""

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

    def now(self) -> float:
        """The hold's clock (``time.monotonic`` by default), for ``wait``'s ``queued_at``."""
        return self._clock()

    async def wait(self, queued_at: float | None = None) -> None:
        """Return once no enforcement's journal write is in flight, once the busy spell has
        lasted ``cap`` seconds, or ``cap`` seconds after ``queued_at`` (on ``now()``'s clock:
        when the held work was queued, so it waits ``cap`` at most however many spells it
        meets); at once when none is in flight. Raises only ``CancelledError``."""
        if not self.busy:
            return
        now = self._clock()
        left = self._cap - (now - self._since)
        if queued_at is not None:
            left = min(left, self._cap - (now - queued_at))
        if left <= 0:
            return
        self.holds += 1
        if self._clear is None:
            self._clear = asyncio.Event()
        # at the cap, quotes flow again while the writes go on
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._clear.wait(), left)
