"""The actor's contract set (asked by the hub's receive loop for every quote), and its first
snapshot before any broker event."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from risk_manager.config.models import Config
from risk_manager.domain.actions import Alert, Flatten, LockAccount, Severity
from risk_manager.domain.enums import OrderSide, PositionType
from risk_manager.domain.events import (
    AccountEvent,
    ClockTick,
    ConnectionEvent,
    Event,
    PositionEvent,
    QuoteEvent,
    SnapshotEvent,
    TradeEvent,
)
from risk_manager.domain.locks import LockKind
from risk_manager.domain.models import Account, Position, Quote, Trade
from risk_manager.engine.engine import Engine
from risk_manager.engine.factory import calendar_for
from risk_manager.runtime import actor as actor_module
from risk_manager.runtime.actor import IDLE_SPREAD, MAX_IDLE_TICK, AccountActor
from risk_manager.runtime.enforcer import Enforcer
from risk_manager.runtime.metrics import Metrics
from risk_manager.runtime.slices import SLICE
from risk_manager.store import Store
from runtime.test_enforcer import FakeBroker
from support.polling import eventually

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
ACCT = 7
MNQ = "CON.F.US.MNQ.H26"


async def test_contracts_follow_positions_and_a_quote_or_tick_builds_no_view(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = Config.model_validate({})
    engine = Engine(config.rules_for(ACCT), calendar_for(config.trading_day), config.catalog())
    views = 0
    view = engine.view

    def counted_view(*args: Any) -> Any:
        nonlocal views
        views += 1
        return view(*args)

    monkeypatch.setattr(engine, "view", counted_view)
    with Store.open(":memory:") as store:
        enforcer = Enforcer(None, store, lambda: NOW)  # type: ignore[arg-type]  # never sends
        actor = AccountActor(ACCT, engine, enforcer, store, lambda: NOW, Metrics())

        def position(size: int) -> PositionEvent:
            return PositionEvent(NOW, Position(1, ACCT, MNQ, PositionType.LONG, size, Decimal(1)))

        assert actor.contracts() == set()
        await actor.handle(position(1))
        assert actor.contracts_unread
        assert actor.contracts() == {MNQ}
        assert not actor.contracts_unread
        before = views
        for _ in range(3):
            await actor.handle(QuoteEvent(NOW, Quote(MNQ, last_price=Decimal(2))))
            assert not actor.contracts_unread
            assert actor.contracts() == {MNQ}
            await actor.handle(ClockTick(NOW))  # time moves no position either
            assert not actor.contracts_unread
            assert actor.contracts() == {MNQ}
        assert views == before
        await actor.handle(position(0))
        assert actor.contracts() == set()


async def test_the_first_snapshot_goes_first_and_drops_only_what_its_reads_hold() -> None:
    """Before its first snapshot an engine knows nothing of the account (a lone fill would be
    the day's P&L): broker events from before the reads started are dropped (the reads hold
    them), those that came during the reads are handled after the snapshot, in order."""
    config = Config.model_validate({})
    engine = Engine(config.rules_for(ACCT), calendar_for(config.trading_day), config.catalog())
    with Store.open(":memory:") as store:
        actor = AccountActor(
            ACCT,
            engine,
            Enforcer(None, store, lambda: NOW),  # type: ignore[arg-type]
            store,
            lambda: NOW,
            Metrics(),
            reconciled=False,
        )
        handled: list[object] = []
        handle = actor.handle

        async def recorded(event: Any, **kw: Any) -> Any:
            handled.append(event)
            return await handle(event, **kw)

        actor.handle = recorded  # type: ignore[method-assign]

        def position(size: int) -> PositionEvent:
            return PositionEvent(NOW, Position(1, ACCT, MNQ, PositionType.LONG, size, Decimal(1)))

        def account(balance: int) -> AccountEvent:
            return AccountEvent(NOW, Account(ACCT, "A", Decimal(balance), True))

        stale = position(3)
        actor.offer(stale)  # no read under way yet: the coming one holds it
        down = ConnectionEvent(NOW, "user", False)
        actor.offer(down)  # not broker state: kept
        mark = actor.reads_admitted()
        during: list[Event] = [position(2), account(49_900)]
        for event in during:
            actor.offer(event)
        assert actor.broker_events_since(mark) == 2
        first = SnapshotEvent(NOW, Account(ACCT, "A", Decimal(50_000), True), (), (), ())
        await actor.first_snapshot(first, mark)
        assert actor.reconciled and handled == [first]
        queued = [actor.queue.get_nowait() for _ in range(actor.queue.qsize())]
        assert queued == [down, *during]  # the stale size 3 never reaches the engine


def _ticking_actor(
    store: Store,
    wakeup: datetime | None,
    ticked: asyncio.Event | None = None,
    *,
    account_id: int = ACCT,
) -> tuple[AccountActor, list[str]]:
    """An actor whose engine says its next wakeup is ``wakeup``; returns the kinds of the
    events its engine processed (``ticked`` is set at a ``ClockTick``)."""
    config = Config.model_validate({})
    engine = Engine(
        config.rules_for(account_id), calendar_for(config.trading_day), config.catalog()
    )
    processed: list[str] = []
    process = engine.process

    def recorded(event: Event, now: datetime) -> Any:
        processed.append(type(event).__name__)
        if ticked is not None and isinstance(event, ClockTick):
            ticked.set()
        return process(event, now)

    engine.process = recorded  # type: ignore[method-assign]
    engine.next_wakeup = lambda: wakeup  # type: ignore[method-assign]
    enforcer = Enforcer(None, store, lambda: NOW)  # type: ignore[arg-type]  # never sends
    actor = AccountActor(account_id, engine, enforcer, store, lambda: NOW, Metrics())
    return actor, processed


@pytest.mark.parametrize("quotes", [0, 3])
async def test_an_idle_actor_ticks_its_engine_when_its_wakeup_is_due(quotes: int) -> None:
    """Due in 0.1 s: ticked once the queue has been idle that long, also when quotes came
    first and moved the idle time later (the timer, set for the first wait, is set again)."""
    with Store.open(":memory:") as store:
        ticked = asyncio.Event()
        actor, processed = _ticking_actor(store, NOW + timedelta(seconds=0.1), ticked)
        task = asyncio.create_task(actor.run())
        try:
            for price in range(quotes):
                await asyncio.sleep(0.05)
                actor.offer(QuoteEvent(NOW, Quote(MNQ, last_price=Decimal(price + 1))))
            async with asyncio.timeout(5):  # a deadline, not a measure
                await ticked.wait()
            assert processed[:quotes] == ["QuoteEvent"] * quotes
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_busy_actor_keeps_one_idle_timer_and_is_not_ticked() -> None:
    """Events faster than the idle time: no tick, and the same timer all along (not one made
    and cancelled per event, the loop's cost at 500 accounts)."""
    with Store.open(":memory:") as store:
        actor, processed = _ticking_actor(store, wakeup=None)  # MAX_IDLE_TICK
        task = asyncio.create_task(actor.run())
        try:
            await asyncio.sleep(0)
            timer = actor._idle_timer
            assert timer is not None
            for price in range(50):
                actor.offer(QuoteEvent(NOW, Quote(MNQ, last_price=Decimal(price + 1))))
                await asyncio.sleep(0)
                await asyncio.sleep(0)
            assert actor._idle_timer is timer
            assert processed == ["QuoteEvent"] * 50
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize("due_in", [None, 0.1], ids=["nothing-due", "timer-due"])
async def test_500_actors_waiting_since_one_iteration_do_not_tick_in_one(
    due_in: float | None,
) -> None:
    """500 actors start waiting in one loop iteration (as after a batch of events): their idle
    ticks ("nothing due") are spread by a phase per account, so no 2 ms of loop time holds
    more than a slice of them (all 500 within a few ms before, ticked in one iteration: ~100 ms
    at 500 accounts, PERFORMANCE.md "Capacity"). A timer that is due is not moved: each actor's
    tick is at its wakeup, never later."""
    with Store.open(":memory:") as store:
        wakeup = None if due_in is None else NOW + timedelta(seconds=due_in)
        actors = [_ticking_actor(store, wakeup, account_id=i)[0] for i in range(1, 501)]
        loop = asyncio.get_running_loop()
        started = loop.time()
        tasks = [asyncio.create_task(actor.run()) for actor in actors]
        try:
            await asyncio.sleep(0)  # every actor's first step: each sets its idle timer
            when = [a._idle_timer.when() - started for a in actors if a._idle_timer is not None]
            ended = loop.time() - started
            assert len(when) == 500
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    if due_in is not None:  # the due timer fires at its time for every account, whatever phase
        assert all(due_in <= w <= due_in + ended for w in when)
        return
    per_2ms = Counter(int(w / 0.002) for w in when)
    assert max(per_2ms.values()) <= SLICE
    assert all(w <= MAX_IDLE_TICK + ended for w in when)  # never later than 1 s idle
    assert all(w >= MAX_IDLE_TICK - IDLE_SPREAD for w in when)


async def test_a_breach_is_sent_before_the_actors_bookkeeping_and_the_events_behind_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The actor waits for the journal write of the enforcement it submitted (the fsync
    before the send, in a worker thread) before its own bookkeeping (the listeners here) and
    the events queued behind the breach: that loop work runs while the request is on its
    way, not between the commit and the send (docs/PERFORMANCE.md, end-to-end latency)."""
    monkeypatch.setattr(actor_module, "JOURNAL_HOLD", 5.0)  # a slow disk: still the order
    config = Config.model_validate({"rules": {"max_contracts": {"enabled": True, "limit": 1}}})
    engine = Engine(config.rules_for(ACCT), calendar_for(config.trading_day), config.catalog())
    order: list[str] = []

    class Broker:
        async def partial_close_position(self, account_id: int, contract: str, size: int) -> None:
            order.append(f"sent: close {size}")

    with Store.open(tmp_path / "rm.sqlite") as store:
        enforcer = Enforcer(Broker(), store, lambda: NOW)  # type: ignore[arg-type]
        actor = AccountActor(
            ACCT,
            engine,
            enforcer,
            store,
            lambda: NOW,
            Metrics(),
            on_change=lambda _acct: order.append("listeners"),
        )

        def position(size: int) -> PositionEvent:
            return PositionEvent(NOW, Position(1, ACCT, MNQ, PositionType.LONG, size, Decimal(1)))

        await actor.handle(position(1))
        order.clear()
        await actor.handle(position(2))  # over the limit of 1: a partial close of 1
        assert order == ["sent: close 1", "listeners"]
        await enforcer.drain(5.0)
        (entry,) = store.journal(ACCT)
        assert entry.sent_at is not None  # journalled before it was sent, as ever


class _Counted(Metrics):
    """Metrics that also note each event counted in ``order``."""

    def __init__(self, order: list[str]) -> None:
        super().__init__()
        self.order = order

    def event_processed(self, kind: str, n: int = 1) -> None:
        self.order.append(f"counted {kind}" + (f" ×{n}" if n != 1 else ""))
        super().event_processed(kind, n)


def _queued_breach(
    store: Store, order: list[str], heard: asyncio.Event
) -> tuple[AccountActor, list[Event]]:
    """An actor at its limit of 1 contract and the frame of a buy of 1 more: the fill, an
    account update and the size-2 position (which breaches), as queued by the hub. The
    listeners note themselves in ``order`` and set ``heard``."""
    config = Config.model_validate({"rules": {"max_contracts": {"enabled": True, "limit": 1}}})
    engine = Engine(config.rules_for(ACCT), calendar_for(config.trading_day), config.catalog())

    class Broker:
        async def partial_close_position(self, account_id: int, contract: str, size: int) -> None:
            order.append(f"sent: close {size}")

    def listeners(_acct: int) -> None:
        order.append("listeners")
        heard.set()

    enforcer = Enforcer(Broker(), store, lambda: NOW)  # type: ignore[arg-type]
    actor = AccountActor(
        ACCT, engine, enforcer, store, lambda: NOW, _Counted(order), on_change=listeners
    )
    record_fills = actor._record_fills

    def noted(event: Event) -> None:
        if isinstance(event, TradeEvent):
            order.append("fill to its writer")
        record_fills(event)

    actor._record_fills = noted  # type: ignore[method-assign]

    def position(size: int) -> PositionEvent:
        return PositionEvent(NOW, Position(1, ACCT, MNQ, PositionType.LONG, size, Decimal(1)))

    fill = Trade(11, ACCT, MNQ, NOW, Decimal(1), OrderSide.BID, 1, 21)
    account = AccountEvent(NOW, Account(ACCT, "A", Decimal(50_000), True))
    return actor, [position(1), TradeEvent(NOW, fill), account, position(2)]


async def test_the_bookkeeping_of_the_events_queued_before_a_breach_follows_its_send(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A breach's frame queues the events before the breaching one (the fill, the account):
    each goes through the engine in order, but their bookkeeping (the fill handed to its
    writer, metrics, the listeners) waits until the breach's enforcement is journalled and
    sent, done once for the batch: the fills in the events' order, then one count a kind
    (docs/PERFORMANCE.md, end-to-end latency)."""
    monkeypatch.setattr(actor_module, "JOURNAL_HOLD", 5.0)  # a slow disk: still the order
    order: list[str] = []
    heard = asyncio.Event()
    with Store.open(tmp_path / "rm.sqlite") as store:
        actor, (held, *frame) = _queued_breach(store, order, heard)
        await actor.handle(held)
        order.clear()
        heard.clear()
        for event in frame:
            actor.offer(event)
        task = asyncio.create_task(actor.run())
        await asyncio.wait_for(heard.wait(), 5.0)
        assert order == [
            "sent: close 1",
            "fill to its writer",
            "counted TradeEvent",
            "counted AccountEvent",
            "counted PositionEvent",
            "listeners",
        ]
        assert actor.engine.view(ACCT, NOW).positions[0].position.size == 2  # every event in
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await actor.enforcer.drain(5.0)
        assert [t.id for t in store.fills(ACCT)] == [11]  # the fill still written


def _refusing_a_bad_event(actor: AccountActor) -> PositionEvent:
    """A position event (another account's) that ``actor``'s engine now raises on."""
    bad = PositionEvent(NOW, Position(1, ACCT + 1, MNQ, PositionType.LONG, 1, Decimal(1)))
    process = actor.engine.process

    def refusing(event: Event, now: datetime) -> Any:
        if event is bad:
            raise ValueError("a bad event")
        return process(event, now)

    actor.engine.process = refusing  # type: ignore[method-assign]
    return bad


async def test_bookkeeping_owed_by_queued_events_is_done_when_the_queue_drains_or_it_stops(
    tmp_path: Path,
) -> None:
    """Without a breach the owed bookkeeping is done once the queue is drained (a bad event
    last included), and a stopped actor (cancelled while its breach's journal write is under
    way) still hands its owed fills to their writer, which shutdown drains."""
    order: list[str] = []
    heard = asyncio.Event()
    with Store.open(tmp_path / "rm.sqlite") as store:
        actor, (held, fill, account, breach) = _queued_breach(store, order, heard)
        await actor.handle(held)
        order.clear()
        heard.clear()
        bad = _refusing_a_bad_event(actor)
        for event in (fill, account, bad):
            actor.offer(event)
        task = asyncio.create_task(actor.run())
        await asyncio.wait_for(heard.wait(), 5.0)
        assert order == [
            "fill to its writer",
            "counted TradeEvent",
            "counted AccountEvent",
            "listeners",
        ]
        order.clear()
        started = threading.Event()
        release = threading.Event()
        intent = store.journal_intent

        def slow_intent(*args: Any, **kw: Any) -> Any:
            started.set()
            release.wait(5.0)
            return intent(*args, **kw)

        store.journal_intent = slow_intent  # type: ignore[method-assign]
        assert isinstance(fill, TradeEvent)
        for event in (TradeEvent(NOW, replace(fill.trade, id=12)), breach):
            actor.offer(event)
        assert await asyncio.to_thread(started.wait, 5.0)
        task.cancel()  # the daemon's stop: intake first
        with pytest.raises(asyncio.CancelledError):
            await task
        assert order == ["fill to its writer", "counted TradeEvent", "listeners"]
        release.set()
        await actor.enforcer.drain(5.0)
        assert sorted(t.id for t in store.fills(ACCT)) == [11, 12]


async def test_a_failing_listener_in_owed_bookkeeping_never_stops_the_actor(
    tmp_path: Path,
) -> None:
    """Owed bookkeeping runs outside the event that owed it (after a bad event, on a drained
    queue): a part of it that raises is logged, the fills of every owed event still reach
    their writer, and the actor goes on guarding the account."""
    order: list[str] = []
    heard = asyncio.Event()
    with Store.open(tmp_path / "rm.sqlite") as store:
        actor, (held, fill, account, breach) = _queued_breach(store, order, heard)
        await actor.handle(held)
        calls = 0

        def flaky(_acct: int) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise KeyError("a listener's bug")
            order.append("listeners")

        actor._on_change = flaky
        bad = _refusing_a_bad_event(actor)
        for event in (fill, account, bad):
            actor.offer(event)
        task = asyncio.create_task(actor.run())
        try:
            await eventually(lambda: calls == 1)
            assert not task.done()
            assert "fill to its writer" in order  # the owed fill went to its writer
            actor.offer(breach)
            await eventually(lambda: "sent: close 1" in order)
            assert not task.done()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_a_lock_is_told_once_its_row_and_its_enforcements_journal_are_written() -> None:
    """``on_lock`` hears of a lock the actor carries out once its row is in the store and the
    enforcement it starts is journalled (the dashboards show it at once:
    runtime/read_side.py ``mark_lock``; its refresh must not compete with that journal
    write), and of no other action."""
    config = Config.model_validate({})
    engine = Engine(config.rules_for(ACCT), calendar_for(config.trading_day), config.catalog())
    told: list[tuple[int, int, bool]] = []  # (account, its lock rows, its flatten journalled)
    with Store.open(":memory:") as store:
        enforcer = Enforcer(FakeBroker(store), store, lambda: NOW)

        def tell(account_id: int) -> None:
            locks = store.active_locks(NOW, account_id=account_id)
            kinds = {entry.kind for entry in store.journal(account_id)}
            told.append((account_id, len(locks), "flatten" in kinds))

        actor = AccountActor(ACCT, engine, enforcer, store, lambda: NOW, Metrics(), on_lock=tell)
        alert = Alert(at=NOW, account_id=ACCT, rule="r", reason="r", severity=Severity.INFO)
        await actor.carry_out([alert], NOW)
        assert told == []
        lock = LockAccount(
            at=NOW, account_id=ACCT, rule="daily_net_loss", reason="net -400",
            until=NOW + timedelta(hours=2), lock_kind=LockKind.HARD,
        )  # fmt: skip
        flatten = Flatten(at=NOW, account_id=ACCT, rule="daily_net_loss", reason="net -400")
        await actor.carry_out([lock, flatten], NOW)
        assert told == [(ACCT, 1, True)]
