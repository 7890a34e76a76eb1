"""The enforcer against a fake broker and a real SQLite journal."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from risk_manager.domain.actions import CancelOrder, ClosePosition, Flatten
from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
from risk_manager.domain.errors import BrokerRefused
from risk_manager.domain.models import Order, Position
from risk_manager.projectx.rate_limit import Priority, current_priority, request_priority
from risk_manager.runtime.enforcer import SENT_KEPT, Book, Enforcer
from risk_manager.store import Store
from risk_manager.store import db as db_module
from risk_manager.store.records import JournalOutcome
from support.polling import eventually

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
ACCT = 7
MNQ = "CON.F.US.MNQ.H26"
ES = "CON.F.US.EP.H26"


def _position(contract: str, size: int = 2) -> Position:
    return Position(1, ACCT, contract, PositionType.LONG, size, Decimal("21000"))


def _order(order_id: int) -> Order:
    return Order(
        order_id,
        ACCT,
        MNQ,
        OrderStatus.OPEN,
        OrderType.LIMIT,
        OrderSide.BID,
        1,
        limit_price=Decimal("20990"),
    )


class FakeBroker:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: list[tuple[Any, ...]] = []
        self.positions: list[Position] = []
        self.orders: list[Order] = []
        self.refuse: BrokerRefused | None = None
        self.journal_seen: list[int] = []

    def _record(self, *call: Any) -> None:
        # The intent must already be in the journal when the broker hears of it.
        self.journal_seen.append(len(self.store.journal(ACCT)))
        self.calls.append(call)
        if self.refuse is not None:
            raise self.refuse

    async def search_open_positions(self, account_id: int) -> list[Position]:
        self.calls.append(("read_positions",))
        return self.positions

    async def search_open_orders(self, account_id: int) -> list[Order]:
        self.calls.append(("read_orders",))
        return self.orders

    async def cancel_order(self, account_id: int, order_id: int) -> None:
        self._record("cancel", order_id)

    async def close_position(self, account_id: int, contract_id: str) -> None:
        self._record("close", contract_id)

    async def partial_close_position(self, account_id: int, contract_id: str, size: int) -> None:
        self._record("partial", contract_id, size)

    async def place_order(self, *args: Any, **kwargs: Any) -> int:
        self._record("place", *args)
        return 1

    async def modify_order(self, *args: Any, **kwargs: Any) -> None:
        self._record("modify", *args)

    async def search_orders(
        self, account_id: int, start: datetime, end: datetime | None = None
    ) -> list[Order]:
        self.calls.append(("read_day_orders",))
        return self.orders


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "rm.sqlite")


@pytest.fixture
def broker(store: Store) -> FakeBroker:
    return FakeBroker(store)


async def _direct(fn: Any, *args: Any) -> Any:
    return fn(*args)


def _enforcer(broker: FakeBroker, store: Store, outcomes: list[Any] | None = None) -> Enforcer:
    def on_outcome(action: Any, outcome: JournalOutcome, detail: str) -> None:
        if outcomes is not None:
            outcomes.append((action.kind, outcome, detail))

    return Enforcer(broker, store, lambda: NOW, on_outcome=on_outcome, run_blocking=_direct)


def _flatten() -> Flatten:
    return Flatten(at=NOW, account_id=ACCT, rule="daily_realized_loss", reason="r")


async def test_flatten_cancels_orders_before_closing_positions(
    broker: FakeBroker, store: Store
) -> None:
    book = Book(positions=[_position(MNQ), _position(ES)], orders=[_order(11), _order(12)])
    await _enforcer(broker, store).execute(_flatten(), book)
    kinds = [c[0] for c in broker.calls]
    assert kinds == ["cancel", "cancel", "close", "close"]
    assert {c[1] for c in broker.calls[2:]} == {MNQ, ES}
    (entry,) = store.journal(ACCT)
    assert entry.outcome is JournalOutcome.CONFIRMED
    assert entry.sent_at is not None
    assert all(seen == 1 for seen in broker.journal_seen)  # journalled before every send


async def test_a_retry_reads_the_broker_first_and_never_closes_a_flat_position(
    broker: FakeBroker, store: Store
) -> None:
    enforcer = _enforcer(broker, store)
    close = ClosePosition(
        at=NOW, account_id=ACCT, rule="daily_unrealized_loss", reason="r", contract_id=MNQ
    )
    await enforcer.execute(close, Book(positions=[_position(MNQ)]))
    assert broker.calls == [("close", MNQ)]
    broker.calls.clear()
    broker.positions = []  # the first close went through: the broker shows it flat
    await enforcer.execute(close, Book(positions=[_position(MNQ)]))  # stale book on retry
    assert broker.calls == [("read_positions",)]
    latest = store.journal(ACCT)[0]
    assert latest.outcome is JournalOutcome.CONFIRMED
    assert latest.sent_at is None
    assert "already flat" in (latest.outcome_detail or "")


async def test_position_not_found_counts_as_done(broker: FakeBroker, store: Store) -> None:
    broker.refuse = BrokerRefused("Position/closeContract", 2, "POSITION_NOT_FOUND", None)
    close = ClosePosition(at=NOW, account_id=ACCT, rule="r", reason="r", contract_id=MNQ)
    await _enforcer(broker, store).execute(close, Book(positions=[_position(MNQ)]))
    assert store.journal(ACCT)[0].outcome is JournalOutcome.CONFIRMED


async def test_a_refusal_is_failed_and_reported(broker: FakeBroker, store: Store) -> None:
    broker.refuse = BrokerRefused("Order/cancel", 3, "REJECTED", "nope")
    outcomes: list[Any] = []
    cancel = CancelOrder(at=NOW, account_id=ACCT, rule="symbol_blocks", reason="r", order_id=11)
    enforcer = _enforcer(broker, store, outcomes)
    enforcer.forget_settled(set())  # the engine no longer needs it: no retry
    await enforcer.execute(cancel, Book(orders=[_order(11)]))
    assert outcomes and outcomes[0][1] is JournalOutcome.FAILED
    assert "REJECTED" in outcomes[0][2]
    assert store.journal(ACCT)[0].outcome is JournalOutcome.FAILED
    assert len(store.journal(ACCT)) == 1


async def test_partial_close_sends_the_size(broker: FakeBroker, store: Store) -> None:
    close = ClosePosition(
        at=NOW, account_id=ACCT, rule="max_contracts", reason="r", contract_id=MNQ, size=1
    )
    await _enforcer(broker, store).execute(close, Book(positions=[_position(MNQ, 3)]))
    assert broker.calls == [("partial", MNQ, 1)]


async def test_the_sends_kept_are_bounded_and_all_are_counted(
    broker: FakeBroker, store: Store
) -> None:
    enforcer = _enforcer(broker, store)
    for _ in range(SENT_KEPT + 20):  # a daemon that runs for weeks enforces without end
        close = ClosePosition(
            at=NOW, account_id=ACCT, rule="max_contracts", reason="r", contract_id=MNQ, size=1
        )
        await enforcer.execute(close, Book(positions=[_position(MNQ, 3)]))
        enforcer.forget_settled(())  # done: the next breach is a first attempt again
    assert enforcer.sends == SENT_KEPT + 20
    assert len(enforcer.sent) == SENT_KEPT  # the latest only: memory stays flat


async def test_flatten_of_a_flat_account_sends_nothing(broker: FakeBroker, store: Store) -> None:
    await _enforcer(broker, store).execute(_flatten(), Book())
    assert broker.calls == []
    assert store.journal(ACCT)[0].outcome is JournalOutcome.CONFIRMED


async def test_a_task_that_fails_outside_enforcement_is_logged_not_lost(
    store: Store, broker: FakeBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """A kept task (fill write, follow-up carry-out) ends with an exception nobody awaits: it
    must reach the log, not vanish."""
    enforcer = Enforcer(broker, store, lambda: NOW)

    async def fill_write() -> None:
        raise RuntimeError("disk full")

    enforcer.keep(asyncio.ensure_future(fill_write()))
    await enforcer.drain(5)
    failed = [r for r in caplog.records if r.name.startswith("risk_manager") and r.exc_info]
    assert {type(r.exc_info[1]).__name__ for r in failed if r.exc_info} >= {"RuntimeError"}


async def test_an_unwritable_journal_never_holds_an_enforcement_back(
    store: Store, broker: FakeBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """RULES.md §5 records before sending; when the store cannot take the record, the close
    goes out all the same (a guard that fails open is worse), loudly."""

    class Broker(FakeBroker):
        def _record(self, *call: Any) -> None:  # the store cannot be read either
            self.calls.append(call)

    broker = Broker(store)
    enforcer = Enforcer(broker, store, lambda: NOW)
    store.close()  # every journal write now fails
    task = enforcer.submit(
        ClosePosition(at=NOW, account_id=ACCT, rule="r", reason="x", contract_id=MNQ),
        Book(positions=(_position(MNQ),)),
    )
    await asyncio.wait_for(task, 5)
    assert ("close", MNQ) in broker.calls
    assert enforcer.durable.failing
    assert any(
        r.levelname == "CRITICAL" and "cannot be written" in r.getMessage() for r in caplog.records
    )
    await enforcer.cancel_all()  # the journal retries would go on until the store is back


async def test_a_place_refused_because_an_earlier_attempt_took_its_tag_is_done_not_retried(
    broker: FakeBroker, store: Store
) -> None:
    """The first place went through but its reply was lost; the stop then filled. The retry is
    refused (the tag is taken): the broker's orders show ours, so it is done."""
    from risk_manager.domain.actions import PlaceOrder

    placed = Order(
        31, ACCT, MNQ, OrderStatus.FILLED, OrderType.STOP, OrderSide.ASK, 1,
        stop_price=Decimal("20900"), custom_tag="rm-stop-1",
    )  # fmt: skip
    searched: list[datetime] = []

    async def search_orders(account_id: int, start: datetime, end: Any = None) -> list[Order]:
        searched.append(start)
        return [placed]

    broker.search_orders = search_orders  # type: ignore[method-assign]  # records the window
    broker.refuse = BrokerRefused("Order/place", 2, "OrderRejected", None)
    outcomes: list[Any] = []
    stop = PlaceOrder(
        at=NOW, account_id=ACCT, rule="trade_management", reason="r", contract_id=MNQ,
        type=OrderType.STOP, side=OrderSide.ASK, size=1, price=Decimal("20900"),
        custom_tag="rm-stop-1",
    )  # fmt: skip
    await _enforcer(broker, store, outcomes).execute(stop, Book())
    assert searched and searched[0] < NOW
    assert outcomes[-1][1] is JournalOutcome.CONFIRMED
    assert "placed earlier as order 31 (filled)" in outcomes[-1][2]
    outcomes.clear()
    stop2 = PlaceOrder(
        at=NOW, account_id=ACCT, rule="trade_management", reason="r", contract_id=MNQ,
        type=OrderType.STOP, side=OrderSide.ASK, size=1, price=Decimal("20900"),
        custom_tag="rm-stop-2",
    )  # fmt: skip
    # No order of ours under that tag: a real refusal, tried again (the backoff starts at 0.25 s).
    trying = asyncio.create_task(_enforcer(broker, store, outcomes).execute(stop2, Book()))
    broker.calls.clear()
    for _ in range(100):
        await asyncio.sleep(0.02)
        if sum(1 for c in broker.calls if c[0] == "place") >= 2:
            break
    trying.cancel()
    assert sum(1 for c in broker.calls if c[0] == "place") >= 2
    assert not outcomes or outcomes[-1][1] is not JournalOutcome.CONFIRMED


async def test_every_request_of_an_enforcement_goes_first_in_the_rest_budget(
    store: Store,
) -> None:
    """Its writes and the reads that verify them, in the tasks a flatten gathers too, are
    ``Priority.ENFORCEMENT``, even when a reconciliation (the lowest class) found the breach."""

    class Recording(FakeBroker):
        def __init__(self, store: Store) -> None:
            super().__init__(store)
            self.classes: list[Priority] = []

        def _record(self, *call: Any) -> None:
            self.classes.append(current_priority())
            super()._record(*call)

        async def search_open_positions(self, account_id: int) -> list[Position]:
            self.classes.append(current_priority())
            return await super().search_open_positions(account_id)

        async def search_open_orders(self, account_id: int) -> list[Order]:
            self.classes.append(current_priority())
            return await super().search_open_orders(account_id)

    broker = Recording(store)
    enforcer = _enforcer(broker, store)
    book = Book(positions=[_position(MNQ)], orders=[_order(11)])
    with request_priority(Priority.RECONCILE):
        await enforcer.submit(_flatten(), book)  # first attempt: on the book
        broker.positions = [_position(MNQ)]  # still open at the broker
        await enforcer.submit(_flatten(), book)  # a retry: reads the broker, then closes
        assert current_priority() is Priority.RECONCILE  # nothing leaked into the caller
    kinds = [c[0] for c in broker.calls]
    assert kinds == ["cancel", "close", "read_orders", "read_positions", "close"]
    assert broker.classes == [Priority.ENFORCEMENT] * 5


async def test_an_outcome_rides_the_next_journal_intents_commit(
    broker: FakeBroker, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outcome of one enforcement is written grouped (store/db.py ``grouped``): it waits
    for the next breach's journal intent and lands in its commit, one fsync for both, so that
    intent never queues behind the outcome's own fsync (docs/PERFORMANCE.md)."""
    # Long enough that only the next intent commits it; under the enforcer's wait for a
    # write (durable.WAIT, 0.5 s), so the last outcome still lands by itself in time.
    monkeypatch.setattr(db_module, "GROUP_WINDOW", 0.4)
    enforcer = Enforcer(broker, store, lambda: NOW)  # real worker threads, as the daemon's
    before = store.commits
    first = enforcer.submit(
        ClosePosition(at=NOW, account_id=ACCT, rule="r", reason="r", contract_id=MNQ),
        Book(positions=[_position(MNQ)]),
    )
    # the outcome's statements ran: it waits in an open transaction for a commit
    await eventually(lambda: store._db._group is not None)
    assert not first.done()
    second = enforcer.submit(
        ClosePosition(at=NOW, account_id=ACCT, rule="r", reason="r", contract_id=ES),
        Book(positions=[_position(ES)]),
    )
    async with asyncio.timeout(5.0):
        await first
    assert store.commits == before + 2  # intent 1; intent 2 with outcome 1 (3 ungrouped)
    await enforcer.drain(5.0)
    assert second.done()
    assert [e.outcome for e in store.journal(ACCT)] == [JournalOutcome.CONFIRMED] * 2


async def test_a_breach_journal_write_never_waits_behind_the_default_executor(
    broker: FakeBroker, store: Store
) -> None:
    """The journal intent before a send is an urgent write: it runs in a thread of its own
    (runtime/durable.py ``_Urgent``), so the default executor busy with other work (a burst
    of reads, grouped writes waiting for their commit) never holds the send back."""
    loop = asyncio.get_running_loop()
    busy = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    release = threading.Event()
    loop.set_default_executor(busy)
    try:
        blocked = loop.run_in_executor(None, release.wait, 10.0)  # its one thread, held
        enforcer = Enforcer(broker, store, lambda: NOW)  # the daemon's: writes in threads
        close = ClosePosition(
            at=NOW, account_id=ACCT, rule="max_contracts", reason="r", contract_id=MNQ, size=1
        )
        await asyncio.wait_for(enforcer.execute(close, Book(positions=[_position(MNQ, 3)])), 5.0)
        assert broker.calls == [("partial", MNQ, 1)]
        assert broker.journal_seen == [1]  # journalled before it was sent, as ever
        assert not blocked.done()
    finally:
        release.set()
        busy.shutdown(wait=True)
