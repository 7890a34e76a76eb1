"""The limiter never lets more than ``limit`` requests start in any ``window``; waiting requests
start by class (enforcement first), in arrival order within a class, and only enforcement
fills the reserve."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from projectx.px_fakes import FakeClock
from risk_manager.projectx.backoff import backoff_delay, parse_retry_after
from risk_manager.projectx.rate_limit import (
    GatewayRateLimiter,
    Priority,
    SlidingWindowLimiter,
    request_priority,
)


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


# -- priority classes (docs/RUNTIME.md "The REST budget") --------------------------------------


class ManualClock:
    """Monotonic time that moves only when the test says; sleepers wake when it passes them."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, future))
        await future

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        for due, future in self._sleepers:
            if due <= self.now and not future.done():
                future.set_result(None)
        self._sleepers = [(d, f) for d, f in self._sleepers if not f.done()]
        await settle()


async def settle() -> None:
    """Let every ready task run until nothing more happens."""
    for _ in range(50):
        await asyncio.sleep(0)


class Recorder:
    """Starts requests as tasks and records (label, class, start time) in start order."""

    def __init__(self, limiter: SlidingWindowLimiter, clock: ManualClock) -> None:
        self.limiter = limiter
        self.clock = clock
        self.started: list[tuple[str, Priority, float]] = []
        self.tasks: list[asyncio.Task[None]] = []

    def request(self, label: str, priority: Priority) -> asyncio.Task[None]:
        async def one() -> None:
            with request_priority(priority):  # the class comes from the context
                await self.limiter.acquire()
            self.started.append((label, priority, self.clock.now))

        task = asyncio.create_task(one())
        self.tasks.append(task)
        return task

    def labels(self) -> list[str]:
        return [label for label, _, _ in self.started]


async def test_an_enforcement_request_queued_behind_many_reconcile_requests_starts_first() -> None:
    clock = ManualClock()
    limiter = SlidingWindowLimiter(5, 60.0, monotonic=clock.monotonic, sleep=clock.sleep)
    for _ in range(5):
        await limiter.acquire()  # the window is full until t=60
    rec = Recorder(limiter, clock)
    for i in range(30):
        rec.request(f"r{i}", Priority.RECONCILE)
    await settle()
    rec.request("close", Priority.ENFORCEMENT)
    await settle()
    assert rec.started == []  # nothing fits yet
    await clock.advance(60.0)
    assert rec.labels() == ["close", "r0", "r1", "r2", "r3"]
    await clock.advance(60.0)
    assert rec.labels()[5:] == ["r4", "r5", "r6", "r7", "r8"]
    for task in rec.tasks:
        task.cancel()


async def test_each_class_keeps_its_arrival_order_and_the_classes_go_in_order() -> None:
    clock = ManualClock()
    limiter = SlidingWindowLimiter(3, 10.0, monotonic=clock.monotonic, sleep=clock.sleep)
    for _ in range(3):
        await limiter.acquire()
    rec = Recorder(limiter, clock)
    classes = [Priority.RECONCILE, Priority.DEFAULT, Priority.RECONCILE_HOT, Priority.ENFORCEMENT]
    for i in range(24):  # interleaved arrivals: 6 of each class
        rec.request(f"{i:02d}", classes[i % 4])
        await settle()
    for _ in range(8):
        await clock.advance(10.0)
    assert len(rec.started) == 24
    by_class = [p for _, p, _ in rec.started]
    assert by_class == sorted(by_class)  # every enforcement, then default, then hot, then cold
    for cls in classes:
        mine = [label for label, p, _ in rec.started if p is cls]
        assert mine == sorted(mine), cls  # first come, first served within the class


async def test_the_reserve_is_enforcements_alone() -> None:
    clock = ManualClock()
    limiter = SlidingWindowLimiter(
        10, 60.0, reserve=3, monotonic=clock.monotonic, sleep=clock.sleep
    )
    rec = Recorder(limiter, clock)
    for i in range(9):
        rec.request(f"r{i}", Priority.RECONCILE)
    await settle()
    assert rec.labels() == [f"r{i}" for i in range(7)]  # 10 - 3: the rest waits for the window
    rec.request("close", Priority.ENFORCEMENT)
    rec.request("cancel", Priority.ENFORCEMENT)
    await settle()
    assert rec.labels()[7:] == ["close", "cancel"]  # at once: no time passed
    assert clock.now == 0.0 and limiter.in_window() == 9
    rec.request("verify", Priority.ENFORCEMENT)
    rec.request("beyond", Priority.ENFORCEMENT)
    await settle()
    assert rec.labels()[9:] == ["verify"]  # the whole limit, never more
    await clock.advance(60.0)
    assert rec.labels()[10:] == ["beyond", "r7", "r8"]
    for task in rec.tasks:
        task.cancel()


async def test_a_cancelled_waiter_lets_the_next_one_go() -> None:
    clock = ManualClock()
    limiter = SlidingWindowLimiter(1, 10.0, monotonic=clock.monotonic, sleep=clock.sleep)
    await limiter.acquire()
    rec = Recorder(limiter, clock)
    first = rec.request("first", Priority.RECONCILE)
    rec.request("second", Priority.RECONCILE)
    await settle()
    first.cancel()  # the head, napping until t=10
    await settle()
    await clock.advance(10.0)
    assert rec.labels() == ["second"]


async def test_admitted_requests_start_together_and_count_once() -> None:
    clock = ManualClock()
    limiter = GatewayRateLimiter(
        (10, 60.0), (5, 30.0), reserve=2, monotonic=clock.monotonic, sleep=clock.sleep
    )
    for _ in range(5):
        await limiter.acquire("Order/search")
    admitting = asyncio.create_task(limiter.admit(4))
    await settle()
    assert not admitting.done()  # 5 + 4 > 10 - 2: it waits for room for all four
    await clock.advance(60.0)
    admission = await admitting
    assert limiter.general.in_window() == 4
    with admission:
        # the batch's reads, in tasks of their own: none waits, none is counted again
        await asyncio.gather(*(limiter.acquire("Position/searchOpen") for _ in range(4)))
    assert admission.left == 0 and limiter.general.in_window() == 4 and clock.now == 60.0


async def test_admitted_requests_left_unsent_are_given_back() -> None:
    """A batch whose reads fail fast (an open circuit breaker) must not burn the window."""
    clock = ManualClock()
    limiter = GatewayRateLimiter(
        (10, 60.0), (5, 30.0), reserve=2, monotonic=clock.monotonic, sleep=clock.sleep
    )
    await limiter.acquire("Order/search")
    admission = await limiter.admit(7)
    waiting = asyncio.create_task(limiter.acquire("Trade/search"))
    await settle()
    assert limiter.general.in_window() == 8 and not waiting.done()  # 8 = 10 - 2: full
    with admission:
        await limiter.acquire("Account/search")  # one sent, six never were
    await settle()
    assert waiting.done() and limiter.general.in_window() == 3 and clock.now == 0.0


async def test_auth_is_served_as_enforcement() -> None:
    """Every request waits on the session token, enforcement's too: its renewal never queues
    behind reconciliation."""
    clock = ManualClock()
    limiter = GatewayRateLimiter(
        (10, 60.0), (5, 30.0), reserve=2, monotonic=clock.monotonic, sleep=clock.sleep
    )
    for _ in range(8):
        await limiter.acquire("Order/search")
    waiting = asyncio.create_task(limiter.acquire("Trade/search"))
    await settle()
    await asyncio.wait_for(limiter.acquire("Auth/validate"), 1)
    assert not waiting.done() and clock.now == 0.0
    waiting.cancel()


@settings(max_examples=40, deadline=None)
@given(
    arrivals=st.lists(
        st.tuples(st.sampled_from(list(Priority)), st.floats(0, 2, allow_nan=False)),
        min_size=1,
        max_size=40,
    ),
)
def test_mixed_classes_never_exceed_the_window_nor_their_cap(
    arrivals: list[tuple[Priority, float]],
) -> None:
    clock = FakeClock()
    limit, reserve, window = 6, 2, 5.0

    async def run() -> list[tuple[float, Priority]]:
        limiter = SlidingWindowLimiter(
            limit, window, reserve=reserve, monotonic=clock.monotonic, sleep=clock.sleep
        )
        starts: list[tuple[float, Priority]] = []

        async def one(priority: Priority) -> None:
            await limiter.acquire(priority)
            starts.append((clock.mono, priority))

        tasks = []
        for priority, gap in arrivals:  # concurrent callers arriving over time
            clock.advance(gap)
            tasks.append(asyncio.create_task(one(priority)))
            await asyncio.sleep(0)
        await asyncio.gather(*tasks)
        return starts

    starts = asyncio.run(run())
    assert len(starts) == len(arrivals)
    times = sorted(t for t, _ in starts)
    assert max_in_any_window(times, window) <= limit
    for i, (t, priority) in enumerate(starts):  # in start order
        if priority is not Priority.ENFORCEMENT:  # with it, at most limit - reserve started
            in_window = sum(1 for s, _ in starts[: i + 1] if t - window < s)
            assert in_window <= limit - reserve, (t, priority, starts)


async def test_a_request_counts_from_its_answer_not_its_send() -> None:
    """The gateway counts a request somewhere between the send and the answer; a burst whose
    slots came back a minute after the send was answered 429 by a gateway that counted it a
    moment later (seen with 200 accounts at a window's turn)."""
    clock = ManualClock()
    limiter = SlidingWindowLimiter(2, 60.0, monotonic=clock.monotonic, sleep=clock.sleep)
    sent = await limiter.acquire()
    await limiter.acquire()
    await clock.advance(0.5)  # the first answer takes half a second
    limiter.settle(sent)
    await clock.advance(59.6)  # 60.1 s after the send, 59.6 s after the answer
    assert limiter.in_window() == 1
    third = asyncio.create_task(limiter.acquire())
    await settle()
    assert third.done()  # the second's slot came back at 60 s: it was answered at once
    fourth = asyncio.create_task(limiter.acquire())
    await settle()
    assert not fourth.done()
    await clock.advance(0.4)  # 60 s after the first's answer
    assert fourth.done()


async def test_acquire_some_takes_what_fits_when_its_turn_comes() -> None:
    clock = ManualClock()
    limiter = SlidingWindowLimiter(
        10, 60.0, reserve=2, monotonic=clock.monotonic, sleep=clock.sleep
    )
    for _ in range(5):
        await limiter.acquire(Priority.RECONCILE)
    await clock.advance(10.0)
    assert (await limiter.acquire_some(2, 6, Priority.RECONCILE))[1] == 3  # 8 - 5 fit
    later = asyncio.create_task(limiter.acquire_some(4, 6, Priority.RECONCILE))
    await settle()
    assert not later.done()  # not even 4 fit
    await clock.advance(50.0)  # the first five leave: 5 fit, under the 6 asked for
    assert later.done() and later.result() == (60.0, 5)
    assert limiter.in_window() == 8
