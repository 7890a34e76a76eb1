"""Quotes handed to the accounts holding their contract in bounded slices, never hundreds in
one callback (docs/RUNTIME.md "Quotes to hundreds of accounts").

The market hub reads a quote inline in its receive loop. Handing it to 500 actors there
wakes 500 actors at once: the event loop then runs 500 engines before it next polls a socket,
and a breach's own user-hub event waits behind them all (docs/PERFORMANCE.md "Capacity"). So
the first ``SLICE`` accounts get the quote inline (a contract held by a few accounts costs
nothing more than before), and the rest are handed over by a task of their own, ``SLICE``
accounts per loop callback: between two slices the loop polls its sockets, so a user-hub
event (taken inline, never queued here) reaches its actor ahead of the backlog, and each
actor's turn comes with at most ``SLICE`` others.

Nothing is dropped or coalesced here: every account gets every quote routed to it, in the
order the hub sent them (a mark that would breach is still evaluated; the actor's own bounded
queue is the one place a quote may be dropped, and a newer one follows). The backlog has no
bound of its own: it holds what the loop has not yet had the time to hand over, which the
actors' queues would otherwise hold.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Collection, Coroutine
from typing import Any

from risk_manager.domain.events import QuoteEvent
from risk_manager.runtime.enforcement_first import EnforcementFirst
from risk_manager.runtime.slices import SLICE

__all__ = ["SLICE", "QuoteFanout"]


class QuoteFanout:
    """Hands each quote to its accounts, ``slice_size`` accounts per loop callback.

    ``deliver(account_id, quote)`` enqueues the quote for one account (the actor's ``offer``:
    never awaits); ``spawn(coro, name)`` runs the task that hands over the backlog and returns
    it (the session's, so its stop cancels it). Per account, quotes arrive in the order
    :meth:`fan_out` was called. ``first``: while an enforcement's journal write is in flight,
    the backlog waits (at most its cap: runtime/enforcement_first.py)."""

    def __init__(
        self,
        deliver: Callable[[int, QuoteEvent], None],
        spawn: Callable[[Coroutine[Any, Any, None], str], asyncio.Task[Any]],
        *,
        slice_size: int = SLICE,
        first: EnforcementFirst | None = None,
    ) -> None:
        if slice_size < 1:
            raise ValueError("slice_size must be >= 1")
        self._deliver = deliver
        self._spawn = spawn
        self._slice = slice_size
        self.first = first or EnforcementFirst()
        self._backlog: deque[_Owed] = deque()
        self._pump_task: asyncio.Task[Any] | None = None
        self.slices = 0  # slices handed over by the task (each one loop callback)

    @property
    def pending(self) -> int:
        """Deliveries not yet made (accounts still owed a quote, summed over quotes)."""
        return sum(len(owed.accounts) for owed in self._backlog)

    def fan_out(self, quote: QuoteEvent, accounts: Collection[int]) -> None:
        """Hand ``quote`` to ``accounts`` (called inline in the hub's receive loop): the first
        slice now when nothing is waiting, the rest by the task, after the quotes before it."""
        todo = sorted(accounts)  # a stable order: tests and logs read the same each time
        if not self._backlog and not self.first.busy:
            now, todo = todo[: self._slice], todo[self._slice :]
            for account_id in now:
                self._deliver(account_id, quote)
        if not todo:
            return
        todo.reverse()  # popped from the end: the order above
        self._backlog.append(_Owed(quote, todo))
        # A task cancelled (the session stops) or dead leaves its backlog: the next quote
        # starts another, which hands the backlog over first.
        if self._pump_task is None or self._pump_task.done():
            self._pump_task = self._spawn(self._pump(), "quote-fanout")

    async def _pump(self) -> None:
        """Hand over the backlog, one slice per loop callback, until it is empty; held while
        an enforcement's journal write is in flight."""
        first = self.first
        while self._backlog:
            await asyncio.sleep(0)  # the loop polls its sockets before each slice
            if first.busy:
                # a quote is held for journal writes at most the cap in all: the head has
                # waited through every hold a later quote met, so its count bounds theirs
                head = self._backlog[0].held
                waited = await first.held_for(head) - head
                for owed in self._backlog:
                    owed.held += waited
            self._hand_slice()
            self.slices += 1

    def _hand_slice(self) -> None:
        left = self._slice
        while left and self._backlog:
            owed = self._backlog[0]
            todo = owed.accounts
            while left and todo:
                self._deliver(todo.pop(), owed.quote)
                left -= 1
            if not todo:
                self._backlog.popleft()


class _Owed:
    """A quote in the backlog: the accounts still owed it (popped from the end) and how long
    it was held for journal writes so far, seconds (``EnforcementFirst``'s clock)."""

    __slots__ = ("accounts", "held", "quote")

    def __init__(self, quote: QuoteEvent, accounts: list[int]) -> None:
        self.quote = quote
        self.accounts = accounts
        self.held = 0.0
