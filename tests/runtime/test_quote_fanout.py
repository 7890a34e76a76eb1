"""A quote for hundreds of accounts is handed over a bounded slice per loop callback, never
dropped nor reordered per account, and a user-hub event reaches its account ahead of the
quotes still owed to the others (runtime/quote_fanout.py; docs/PERFORMANCE.md "Capacity").
Counted in loop callbacks and in processing order, never timed."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import pytest

from risk_manager.domain.events import Event, QuoteEvent
from risk_manager.domain.models import Quote
from risk_manager.projectx.hub_connection import HubMessage
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.quote_fanout import SLICE, QuoteFanout
from support.loop import LoopIterations
from support.sessions import bare_session

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
MNQ = "CON.F.US.MNQ.H26"
ACCOUNTS = 500


def _quote(price: int) -> QuoteEvent:
    return QuoteEvent(NOW, Quote(MNQ, last_price=Decimal(price)))


async def test_a_quote_for_500_accounts_is_handed_over_a_slice_per_loop_callback() -> None:
    ticks = LoopIterations()
    tasks: set[asyncio.Task[None]] = set()
    handed: list[tuple[int, QuoteEvent, str, int]] = []  # account, quote, by which task, when

    def deliver(account_id: int, quote: QuoteEvent) -> None:
        task = asyncio.current_task()
        handed.append((account_id, quote, task.get_name() if task else "-", ticks.n))

    def spawn(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        tasks.add(task)
        return task

    fanout = QuoteFanout(deliver, spawn)
    counter = asyncio.create_task(ticks.run())
    first, second = _quote(1), _quote(2)
    fanout.fan_out(first, range(ACCOUNTS))
    assert len(handed) == SLICE  # inline: the first slice only, the hub's reader goes on
    fanout.fan_out(second, range(ACCOUNTS))
    assert len(handed) == SLICE  # queued behind the first quote's backlog, none inline
    async with asyncio.timeout(10):  # a deadline, not a measure
        await asyncio.gather(*tasks)  # the hand-over ends with its backlog
    counter.cancel()
    assert fanout.pending == 0 and len(tasks) == 1

    per_callback = Counter((task, tick) for _, _, task, tick in handed)
    assert max(per_callback.values()) <= SLICE
    assert fanout.slices >= (2 * ACCOUNTS - SLICE) // SLICE
    # every account got both quotes, in the hub's order: nothing dropped or coalesced
    got: dict[int, list[QuoteEvent]] = {}
    for account_id, quote, _, _ in handed:
        got.setdefault(account_id, []).append(quote)
    assert got == {a: [first, second] for a in range(ACCOUNTS)}


async def test_a_cancelled_hand_over_starts_again_with_the_next_quote() -> None:
    """Cancelled before its first step (its ``finally`` never runs): the next quote still
    finds the backlog and starts a new hand-over, which delivers it first."""
    handed: list[int] = []
    tasks: list[asyncio.Task[None]] = []

    def spawn(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        tasks.append(asyncio.create_task(coro, name=name))
        return tasks[-1]

    fanout = QuoteFanout(lambda account_id, _: handed.append(account_id), spawn, slice_size=4)
    fanout.fan_out(_quote(1), range(10))
    tasks[0].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert fanout.pending == 6
    fanout.fan_out(_quote(2), range(2))  # behind the backlog: a new task hands both over
    assert len(tasks) == 2
    async with asyncio.timeout(10):
        await tasks[1]
    assert handed == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


def test_a_slice_holds_at_least_one_account() -> None:
    def spawn(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        raise AssertionError("never started")

    with pytest.raises(ValueError):
        QuoteFanout(lambda *_: None, spawn, slice_size=0)


@dataclass
class _Consumer:
    """An actor that takes its queue in a task of its own, one event per step (as
    ``AccountActor.run`` does), writing what it took to a log shared by every account."""

    account_id: int
    log: list[tuple[int, str]]
    all_in: asyncio.Event
    queue: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)
    contracts_unread: bool = True

    def contracts(self) -> frozenset[str]:
        return frozenset({MNQ})

    def offer(self, event: Event) -> None:
        self.queue.put_nowait(event)

    async def run(self) -> None:
        while True:
            event = await self.queue.get()
            self.log.append((self.account_id, type(event).__name__))
            if len(self.log) == ACCOUNTS + 1:
                self.all_in.set()


def _position(account_id: int) -> HubMessage:
    record = {
        "id": 1,
        "accountId": account_id,
        "contractId": MNQ,
        "type": 1,
        "size": 2,
        "averagePrice": 21000.25,
        "creationTimestamp": "2026-03-10T15:00:00Z",
    }
    return HubMessage("user", "GatewayUserPosition", [record], NOW)


async def test_a_user_event_is_taken_before_the_quotes_owed_to_500_other_accounts() -> None:
    """A quote frame for 500 accounts, then a position update (over the limit, say) for the
    account the fan-out reaches last: that account takes it after at most two slices of the
    others' quotes, not after all 500 (each actor one step of the loop, as the real ones)."""
    session = bare_session(lambda: NOW)
    log: list[tuple[int, str]] = []
    all_in = asyncio.Event()
    actors = [_Consumer(account_id, log, all_in) for account_id in range(1, ACCOUNTS + 1)]
    for actor in actors:
        session.carry(cast(AccountActor, actor))
        session.changed(actor.account_id)
    running = [asyncio.create_task(a.run()) for a in actors]
    await asyncio.sleep(0)  # every actor waits on its empty queue
    try:
        session._on_hub_message(HubMessage("market", "GatewayQuote", [MNQ, {"lastPrice": 1}], NOW))
        session._on_hub_message(_position(ACCOUNTS))
        async with asyncio.timeout(10):  # a deadline, not a measure
            await all_in.wait()
    finally:
        await session.stop()
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    assert log.index((ACCOUNTS, "PositionEvent")) <= 2 * SLICE
    assert sorted(a for a, kind in log if kind == "QuoteEvent") == list(range(1, ACCOUNTS + 1))
