"""Reconciliation requests (runtime/reconcile_queue.py): coalesced per account, hot accounts
first, read in batches sharing one Account/search, read again when events came meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from risk_manager.domain.errors import RetryLater
from risk_manager.domain.events import SnapshotEvent
from risk_manager.domain.models import Account
from risk_manager.projectx.rate_limit import (
    Admission,
    Priority,
    SlidingWindowLimiter,
    current_priority,
)
from risk_manager.runtime.reconcile_queue import ReconcileQueue, Result

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def snap(account_id: int) -> SnapshotEvent:
    return SnapshotEvent(NOW, Account(account_id, "A", Decimal(50_000), True), (), (), ())


class Harness:
    """The queue with a fake limiter (admissions recorded, released by the test when
    ``gated``), fake reads and the hand-overs recorded."""

    def __init__(self, hot: set[int] | None = None, *, gated: bool = False) -> None:
        self.hot = hot or set()
        self.gate = asyncio.Event()
        if not gated:
            self.gate.set()
        self.admitted: list[tuple[Priority, int]] = []
        self.asked = asyncio.Event()  # an admission was asked for
        self.reads: list[list[int]] = []
        self.read_priority: list[Priority] = []
        self.reading = asyncio.Event()
        self.delivered: list[tuple[int, Result, int]] = []
        self.events: dict[int, int] = {}  # account -> broker events so far
        self.moved_during_read: dict[int, int] = {}  # account -> reads during which one came
        self.fail: set[int] = set()
        self.read_gate = asyncio.Event()
        self.read_gate.set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.clock = 100.0
        self.admit_fails = 0
        self.room = 10_000  # requests that fit in the window when an admission's turn comes
        self.bucket = SlidingWindowLimiter(10_000, 60.0)
        self.queue = ReconcileQueue(
            self.admit,
            self.read,
            self.deliver,
            hot=lambda a: a in self.hot,
            admitted=lambda a: self.events.get(a, 0),
            moved=lambda a, mark: self.events.get(a, 0) > mark,
            spawn=self.spawn,
            max_batch=20,
            monotonic=lambda: self.clock,
        )

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def admit(self, most: int, least: int) -> Admission:
        """Like the limiter: what fits (``room``) when the gate opens, ``least`` at the least."""
        self.asked.set()
        await self.gate.wait()
        if self.admit_fails:
            self.admit_fails -= 1
            raise RuntimeError("a fault of ours")
        count = max(least, min(most, self.room))
        self.admitted.append((current_priority(), count))
        return Admission(self.bucket, count, self.clock)

    async def read(self, ids: list[int]) -> Mapping[int, Result]:
        self.reads.append(list(ids))
        self.read_priority.append(current_priority())
        self.reading.set()
        await self.read_gate.wait()
        for account_id in ids:
            left = self.moved_during_read.get(account_id, 0)
            if left:  # a broker event arrives while this read is in flight
                self.moved_during_read[account_id] = left - 1
                self.events[account_id] = self.events.get(account_id, 0) + 1
        return {a: RetryLater("down") if a in self.fail else snap(a) for a in ids}

    async def deliver(self, account_id: int, result: Result, mark: int) -> None:
        self.delivered.append((account_id, result, mark))

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.fixture
async def harness() -> Any:
    made: list[Harness] = []

    def make(hot: set[int] | None = None, *, gated: bool = False) -> Harness:
        made.append(Harness(hot, gated=gated))
        return made[-1]

    yield make
    for h in made:
        await h.close()


async def test_requests_made_while_an_account_waits_share_one_read(harness: Any) -> None:
    h = harness(gated=True)
    waiters = [asyncio.create_task(h.queue.reconcile(7)) for _ in range(3)]
    await asyncio.sleep(0)
    h.gate.set()
    await asyncio.wait_for(asyncio.gather(*waiters), 5)
    assert h.reads == [[7]]
    assert [a for a, _, _ in h.delivered] == [7]


async def test_a_request_made_while_the_reads_are_in_flight_gets_the_next_round(
    harness: Any,
) -> None:
    h = harness()
    h.read_gate.clear()
    first = asyncio.create_task(h.queue.reconcile(7))
    await asyncio.wait_for(h.reading.wait(), 5)
    second = asyncio.create_task(h.queue.reconcile(7))  # its reads must start after it
    h.clock += 1
    late = asyncio.create_task(h.queue.reconcile(7, since=h.clock - 2))  # an earlier connect
    await asyncio.sleep(0)
    h.read_gate.set()
    await asyncio.wait_for(asyncio.gather(first, second, late), 5)
    assert h.reads == [[7], [7]]  # the late-enough request rode along, the other did not


async def test_a_request_already_answered_by_a_later_read_costs_nothing(harness: Any) -> None:
    h = harness()
    connected_at = h.clock
    h.clock += 1
    await asyncio.wait_for(h.queue.reconcile(7), 5)  # the start's read, after the connect
    await asyncio.wait_for(h.queue.reconcile(7, since=connected_at), 5)
    assert h.reads == [[7]]


async def test_hot_accounts_are_read_apart_at_the_hot_priority(harness: Any) -> None:
    """The limiter serves the hot class first (tests/projectx/test_projectx_rate_limit.py)."""
    h = harness(hot={3, 9}, gated=True)
    waiters = [asyncio.create_task(h.queue.reconcile(a)) for a in range(1, 11)]
    await asyncio.sleep(0)
    h.gate.set()
    await asyncio.wait_for(asyncio.gather(*waiters), 5)
    assert sorted(h.admitted) == [(Priority.RECONCILE_HOT, 7), (Priority.RECONCILE, 25)]
    assert sorted(map(sorted, h.reads)) == [[1, 2, 4, 5, 6, 7, 8, 10], [3, 9]]
    hot_read = h.read_priority[[sorted(r) for r in h.reads].index([3, 9])]
    assert hot_read is Priority.RECONCILE_HOT  # its reads' retries wait at that class too


async def test_a_cold_account_that_turns_hot_while_waiting_moves_up(harness: Any) -> None:
    h = harness(gated=True)
    cold = asyncio.create_task(h.queue.reconcile(5))
    await asyncio.sleep(0)
    h.hot.add(5)
    hot = asyncio.create_task(h.queue.reconcile(5))
    await asyncio.sleep(0)
    h.gate.set()
    await asyncio.wait_for(asyncio.gather(cold, hot), 5)
    assert h.reads == [[5]]
    assert h.read_priority == [Priority.RECONCILE_HOT]


async def test_accounts_are_read_in_batches_sharing_one_account_search(harness: Any) -> None:
    h = harness(gated=True)
    waiters = [asyncio.create_task(h.queue.reconcile(a)) for a in range(45)]
    await asyncio.sleep(0)
    h.gate.set()
    await asyncio.wait_for(asyncio.gather(*waiters), 5)
    assert [len(b) for b in h.reads] == [20, 20, 5]
    assert [n for _, n in h.admitted] == [61, 61, 16]  # 1 + 3 per account
    assert sorted(a for a, _, _ in h.delivered) == list(range(45))


async def test_events_during_the_reads_mean_the_account_is_read_again(harness: Any) -> None:
    h = harness()
    h.moved_during_read[7] = 1
    await asyncio.wait_for(h.queue.reconcile(7), 5)
    assert h.reads == [[7], [7]]
    assert [(a, mark) for a, _, mark in h.delivered] == [(7, 1)]  # after the event: its mark


async def test_rereads_are_bounded_then_the_snapshot_is_handed_over(harness: Any) -> None:
    h = harness()
    h.moved_during_read[7] = 10  # a busy account: an event during every read
    await asyncio.wait_for(h.queue.reconcile(7), 5)
    assert len(h.reads) == 3  # the read and two more
    assert [a for a, _, _ in h.delivered] == [7]


async def test_a_failed_read_is_handed_over_as_the_failure(harness: Any) -> None:
    h = harness()
    h.fail.add(7)
    await asyncio.wait_for(asyncio.gather(h.queue.reconcile(7), h.queue.reconcile(8)), 5)
    results = {a: r for a, r, _ in h.delivered}
    assert isinstance(results[7], RetryLater)
    assert isinstance(results[8], SnapshotEvent)


async def test_a_batch_takes_what_the_window_has_room_for_when_its_turn_comes(
    harness: Any,
) -> None:
    h = harness()
    h.room = 32  # 1 + 3 x 10 fit: a full batch of 20 would wait a window for its room
    await asyncio.wait_for(asyncio.gather(*(h.queue.reconcile(a) for a in range(25))), 5)
    assert [n for _, n in h.admitted] == [32, 32, 16]  # 10 (one left unused), 10, the last 5
    assert [len(r) for r in h.reads] == [10, 10, 5]
    h.room = 0  # none: a batch waits for room for 5 accounts (16 requests) at the least
    h.clock += 1  # later requests: new rounds
    await asyncio.wait_for(asyncio.gather(*(h.queue.reconcile(a) for a in range(7))), 5)
    assert [n for _, n in h.admitted][3:] == [16, 7]
    assert sorted(a for a, _, _ in h.delivered[25:]) == list(range(7))


async def test_hot_accounts_are_admitted_before_cold_ones_asked_for_first(harness: Any) -> None:
    """At start the accounts are asked for in list order: the cold class must not fill the
    window with its batches before the hot account's read is admitted."""
    h = harness(hot={99})
    waiters = [asyncio.create_task(h.queue.reconcile(a)) for a in (*range(30), 99)]
    await asyncio.wait_for(asyncio.gather(*waiters), 5)
    assert h.admitted[0] == (Priority.RECONCILE_HOT, 4)
    assert h.reads[0] == [99]


async def test_a_fault_in_the_queue_is_logged_and_the_accounts_still_get_their_read(
    harness: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that died would leave every waiting account unguarded for good, silently."""
    h = harness()
    h.admit_fails = 1
    await asyncio.wait_for(h.queue.reconcile(7), 5)
    assert h.reads == [[7]]
    assert "reconciliation (RECONCILE) failed" in caplog.text
