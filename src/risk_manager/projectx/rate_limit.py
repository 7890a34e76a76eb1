"""Client-side rate limiting under the documented gateway limits (API doc §4), enforcement first.

A sliding-window log per bucket: a request may start only when fewer than its class's cap
started in the last ``window`` seconds. Callers await instead of exceeding, so 429 should never
happen in normal running; when it does, ``penalize`` makes every caller wait out
``Retry-After``.

The 200 requests / 60 s are shared by every account and by enforcement, so waiting requests
are served by class (:class:`Priority`: enforcement first, reconciliation last) and, within a
class, in arrival order. Every class but enforcement may fill only ``limit - reserve`` of the
window: a window that reconciliation filled still has room for a close at once
(docs/RUNTIME.md "The REST budget"). A request's class is its context's
(:func:`request_priority`, a ``contextvars`` value), so the client's method signatures stay as
they are: the enforcer marks its calls, reconciliation and the sweep theirs.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from enum import IntEnum
from types import TracebackType

from risk_manager.types import Monotonic, Sleep

HISTORY_ENDPOINT = "History/retrieveBars"
MIN_WAIT = 0.001
ENFORCEMENT_SHARE = 1 / 9  # of the general bucket only enforcement may fill: 20 of 180 / 60 s


class Priority(IntEnum):
    """Request classes, served lowest value first."""

    ENFORCEMENT = 0  # closes, cancels and the reads that verify them; token renewals
    DEFAULT = 1  # anything unmarked: the account list at start, bars, contract look-ups
    RECONCILE_HOT = 2  # reconciling an account with a position or an active lock
    RECONCILE = 3  # reconciling the other accounts
    SWEEP = 4  # the periodic sweep: re-checks accounts already reconciled


_PRIORITY: ContextVar[Priority] = ContextVar("rest_priority", default=Priority.DEFAULT)


@contextmanager
def request_priority(priority: Priority) -> Iterator[None]:
    """REST requests made inside (tasks started inside included) belong to ``priority``."""
    token = _PRIORITY.set(priority)
    try:
        yield
    finally:
        _PRIORITY.reset(token)


def current_priority() -> Priority:
    return _PRIORITY.get()


@dataclass(order=True, slots=True)
class _Waiter:
    priority: Priority
    seq: int
    slots: int = field(compare=False)
    wake: asyncio.Event = field(compare=False, default_factory=asyncio.Event)


class SlidingWindowLimiter:
    """At most ``limit`` starts per ``window`` seconds; all but :attr:`Priority.ENFORCEMENT`
    at most ``limit - reserve``. Waiters are served by class, then in arrival order."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        reserve: int = 0,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("rate limit needs limit >= 1 and window > 0")
        if not 0 <= reserve < limit:
            raise ValueError("the enforcement reserve must be >= 0 and below the limit")
        self.limit = limit
        self.window = window
        self.reserve = reserve
        self._monotonic = monotonic
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._blocked_until = 0.0
        self._waiting: list[_Waiter] = []  # a heap: the head is the next to start
        self._seq = itertools.count()

    def _prune(self, now: float) -> None:
        while self._starts and now - self._starts[0] >= self.window:
            self._starts.popleft()

    def in_window(self) -> int:
        """How many requests started within the current window."""
        self._prune(self._monotonic())
        return len(self._starts)

    def cap(self, priority: Priority) -> int:
        """How many starts per window ``priority`` may fill."""
        return self.limit if priority is Priority.ENFORCEMENT else self.limit - self.reserve

    def penalize(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` (after a 429)."""
        self._blocked_until = max(self._blocked_until, self._monotonic() + seconds)

    def _delay(self, priority: Priority, slots: int, now: float) -> float:
        """Seconds until ``slots`` requests of ``priority`` may start together (0: now)."""
        if now < self._blocked_until:
            return max(self._blocked_until - now, MIN_WAIT)
        self._prune(now)
        over = len(self._starts) + slots - self.cap(priority)
        if over <= 0:
            return 0.0
        # That start must leave the window. It is still in it (pruned by the same test), so
        # the wait is never zero, whatever float rounding makes of start + window - now.
        return max(self._starts[over - 1] + self.window - now, MIN_WAIT)

    async def acquire(self, priority: Priority | None = None, *, slots: int = 1) -> float:
        """Wait until ``slots`` requests may start, then count them as started; returns the
        monotonic instant they were counted at. ``priority`` defaults to the context's; a
        request admitted ahead (:class:`Admission`) starts at once. Raises ``ValueError`` for
        more slots than the class may ever fill."""
        if slots == 1 and (ticket := _take_ticket(self)) is not None:
            return ticket
        at, _ = await self.acquire_some(slots, slots, priority)
        return at

    async def acquire_some(
        self, least: int, most: int, priority: Priority | None = None
    ) -> tuple[float, int]:
        """Wait in line until ``least`` requests may start together, then count as many as
        fit now, up to ``most``; returns (the instant, how many). Raises ``ValueError`` when
        ``least`` exceeds ``most`` or what the class may ever fill."""
        prio = current_priority() if priority is None else priority
        if not 1 <= least <= min(most, self.cap(prio)):
            raise ValueError(f"{least} of {most} requests never fit under {self.cap(prio)}")
        now = self._monotonic()
        if not self._waiting and self._delay(prio, least, now) <= 0:
            return now, self._take(prio, least, most, now)  # no waiting, no yielding
        waiter = _Waiter(prio, next(self._seq), least)
        heapq.heappush(self._waiting, waiter)
        self._wake_head()
        try:
            while True:
                waiter.wake.clear()
                if self._waiting[0] is not waiter:
                    await waiter.wake.wait()  # set when this waiter becomes the head
                    continue
                now = self._monotonic()
                delay = self._delay(prio, least, now)
                if delay <= 0:
                    heapq.heappop(self._waiting)
                    count = self._take(prio, least, most, now)
                    self._wake_head()
                    return now, count
                await self._nap(waiter, delay)
        except BaseException:
            if waiter in self._waiting:  # cancelled while waiting: the next one goes
                self._waiting.remove(waiter)
                heapq.heapify(self._waiting)
                self._wake_head()
            raise

    def _take(self, priority: Priority, least: int, most: int, now: float) -> int:
        """Count what fits now (pruned by ``_delay`` just before), ``least`` at the least."""
        count = max(least, min(most, self.cap(priority) - len(self._starts)))
        self._record(now, count)
        return count

    def _record(self, now: float, slots: int) -> None:
        self._starts.extend([now] * slots)

    def settle(self, at: float) -> None:
        """The request counted at ``at`` was answered (or given up on): the gateway counted it
        somewhere between the two, so from now on it counts from now. A window that frees it
        a minute after the answer never frees it before the gateway's does (counted from the
        send, a burst's slots came back a moment too early and the gateway answered 429)."""
        now = self._monotonic()
        for i, start in enumerate(self._starts):
            if start == at:
                del self._starts[i]
                break
        self._starts.append(now)  # the latest instant yet: the log stays in order

    def release(self, count: int, at: float) -> None:
        """Forget ``count`` of the starts counted at ``at`` that never happened (admitted
        requests left unsent: a failed batch, an open circuit breaker)."""
        kept: deque[float] = deque()
        for start in reversed(self._starts):
            if count > 0 and start == at:
                count -= 1
                continue
            kept.appendleft(start)
        self._starts = kept
        self._wake_head()  # there may be room now

    def _wake_head(self) -> None:
        if self._waiting:
            self._waiting[0].wake.set()

    async def _nap(self, waiter: _Waiter, seconds: float) -> None:
        """Sleep ``seconds``, or less when a more urgent request arrives (it becomes the head
        and may fit where this one does not: the reserve) or the head changes."""
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        woken = asyncio.ensure_future(waiter.wake.wait())
        try:
            await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            woken.cancel()


@dataclass(slots=True)
class _Tickets:
    bucket: SlidingWindowLimiter
    left: int
    at: float  # when they were counted


_TICKETS: ContextVar[_Tickets | None] = ContextVar("rest_tickets", default=None)


def _take_ticket(bucket: SlidingWindowLimiter) -> float | None:
    """When a ticket of this context's admission was counted, or None: no ticket left."""
    tickets = _TICKETS.get()
    if tickets is None or tickets.bucket is not bucket or tickets.left <= 0:
        return None
    tickets.left -= 1
    return tickets.at


class Admission:
    """Requests already counted in the window (at ``at``): inside ``with admission:`` (and
    tasks started there) the next ``count`` requests to its bucket start without waiting. The
    ones left unsent when the block ends are given back to the window."""

    def __init__(self, bucket: SlidingWindowLimiter, count: int, at: float) -> None:
        self._tickets = _Tickets(bucket, count, at)
        self._count = count
        self._token: Token[_Tickets | None] | None = None

    @property
    def left(self) -> int:
        """Tickets not used yet."""
        return self._tickets.left

    @property
    def count(self) -> int:
        """Requests admitted."""
        return self._count

    def __enter__(self) -> Admission:
        self._token = _TICKETS.set(self._tickets)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _TICKETS.reset(self._token)
            self._token = None
        if self._tickets.left > 0:
            self._tickets.bucket.release(self._tickets.left, self._tickets.at)
            self._tickets.left = 0


class GatewayRateLimiter:
    """Routes each endpoint to its bucket: History has its own, everything else shares one.

    ``reserve`` of the general bucket's starts per window are enforcement's alone (default
    ``ENFORCEMENT_SHARE`` of its limit). ``Auth/*`` (the session token every request waits on,
    enforcement's included) is always served as enforcement."""

    def __init__(
        self,
        general: tuple[int, float] = (180, 60.0),
        history: tuple[int, float] = (45, 30.0),
        *,
        reserve: int | None = None,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        # Defaults leave 10% headroom under the documented 200/60 s and 50/30 s.
        if reserve is None:
            reserve = int(general[0] * ENFORCEMENT_SHARE)
        self.general = SlidingWindowLimiter(
            *general, reserve=reserve, monotonic=monotonic, sleep=sleep
        )
        self.history = SlidingWindowLimiter(*history, monotonic=monotonic, sleep=sleep)

    def bucket(self, endpoint: str) -> SlidingWindowLimiter:
        return self.history if endpoint == HISTORY_ENDPOINT else self.general

    async def acquire(self, endpoint: str) -> float:
        """Wait for room for one request to ``endpoint``; returns when it was counted (hand
        it to :meth:`settle` once the request is answered)."""
        priority = Priority.ENFORCEMENT if endpoint.startswith("Auth/") else None
        return await self.bucket(endpoint).acquire(priority)

    def settle(self, endpoint: str, at: float) -> None:
        self.bucket(endpoint).settle(at)

    async def admit(self, requests: int, at_least: int | None = None) -> Admission:
        """Wait, at the context's priority, until ``at_least`` (default: all ``requests``)
        general requests may start together, and count as many as fit then, up to
        ``requests`` (``Admission.count``): a snapshot's reads are then sent at once, never
        split across a full window (docs/RUNTIME.md "The REST budget")."""
        at, count = await self.general.acquire_some(at_least or requests, requests)
        return Admission(self.general, count, at)

    def penalize(self, endpoint: str, seconds: float) -> None:
        self.bucket(endpoint).penalize(seconds)
