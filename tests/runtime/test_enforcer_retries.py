"""The enforcer never gives up while the engine still requires an action, and it is idempotent
against the broker (RULES.md §5): backoff with jitter, Retry-After, one task per cause, one
close per position at a time, reductions recomputed from the broker's size, RULE-008's stop
re-check. A fake broker, a real SQLite journal, and a fake sleep that records each wait."""

from __future__ import annotations

import asyncio
from typing import Any

from risk_manager.domain.actions import AnyAction, ClosePosition, Flatten
from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType
from risk_manager.domain.errors import RetryLater
from risk_manager.domain.models import Order
from risk_manager.engine.inflight import Key, cause_key
from risk_manager.runtime.enforcer import Book, Enforcer
from risk_manager.store import Store
from risk_manager.store.records import JournalOutcome
from runtime.test_enforcer import ACCT, MNQ, NOW, FakeBroker, _direct, _position, broker, store

__all__ = ["broker", "store"]  # fixtures


class FlakyBroker(FakeBroker):
    """Fails the first ``failures`` writes with ``error``; a close takes the position away."""

    def __init__(self, store: Store, failures: int = 0, error: Exception | None = None) -> None:
        super().__init__(store)
        self.failures = failures
        self.error = error or RetryLater("Position/closeContract: HTTP 500")
        self.gate: asyncio.Event | None = None  # set: writes wait for it (a slow broker)

    def _record(self, *call: Any) -> None:
        self.calls.append(call)
        if self.failures > 0:
            self.failures -= 1
            raise self.error

    async def close_position(self, account_id: int, contract_id: str) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self._record("close", contract_id)
        self.positions = [p for p in self.positions if p.contract_id != contract_id]

    async def partial_close_position(self, account_id: int, contract_id: str, size: int) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self._record("partial", contract_id, size)
        self.positions = [
            _position(p.contract_id, p.size - size) if p.contract_id == contract_id else p
            for p in self.positions
        ]


def enforcer(broker: FakeBroker, store: Store, waits: list[float]) -> Enforcer:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return Enforcer(broker, store, lambda: NOW, run_blocking=_direct, sleep=sleep)


def close_all() -> ClosePosition:
    return ClosePosition(
        at=NOW, account_id=ACCT, rule="daily_net_loss", reason="r", contract_id=MNQ
    )


def cause_of(action: AnyAction) -> Key:
    """The engine's cause of a tracked action (closes, cancels...: never None)."""
    key = cause_key(action)
    assert key is not None
    return key


def writes(broker: FakeBroker) -> list[tuple[Any, ...]]:
    return [c for c in broker.calls if not c[0].startswith("read")]


async def test_a_close_refused_eight_times_is_retried_with_capped_backoff_until_it_lands(
    store: Store,
) -> None:
    broker = FlakyBroker(store, failures=8)
    broker.positions = [_position(MNQ, 2)]
    waits: list[float] = []
    guard = enforcer(broker, store, waits)
    guard.forget_settled({cause_of(close_all())})  # the engine still wants it
    await guard.execute(close_all(), Book(positions=broker.positions))
    assert writes(broker) == [("close", MNQ)] * 9
    assert broker.positions == []
    assert len(waits) == 8 and max(waits) <= 5.0 and waits[-1] >= 2.5  # capped, not spent
    assert all(w >= 0.125 for w in waits)
    reads = [c for c in broker.calls if c[0] == "read_positions"]
    assert len(reads) == 8  # the broker is read before every retry
    outcomes = [e.outcome for e in store.journal(ACCT)]
    assert outcomes[0] is JournalOutcome.CONFIRMED and outcomes.count(JournalOutcome.FAILED) == 8


async def test_retry_after_is_obeyed(store: Store) -> None:
    broker = FlakyBroker(store, failures=1, error=RetryLater("429", retry_after=7.0))
    broker.positions = [_position(MNQ, 2)]
    waits: list[float] = []
    await enforcer(broker, store, waits).execute(close_all(), Book(positions=broker.positions))
    assert waits == [7.0] and broker.positions == []


async def test_retries_stop_when_the_engine_sees_it_done(store: Store) -> None:
    broker = FlakyBroker(store, failures=100)
    broker.positions = [_position(MNQ, 2)]
    waits: list[float] = []
    guard = enforcer(broker, store, waits)
    guard.forget_settled({cause_of(close_all())})

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            guard.forget_settled(set())  # the position went flat: the engine settled it

    guard._sleep = sleep
    await guard.execute(close_all(), Book(positions=broker.positions))
    assert len(writes(broker)) == 3


async def test_a_re_proposal_joins_the_running_task(store: Store) -> None:
    flaky = FlakyBroker(store)
    flaky.positions = [_position(MNQ, 2)]
    flaky.gate = asyncio.Event()
    guard = enforcer(flaky, store, [])
    first = guard.submit(close_all(), Book(positions=flaky.positions))
    again = guard.submit(close_all(), Book(positions=flaky.positions))
    assert again is first
    flaky.gate.set()
    await first
    assert writes(flaky) == [("close", MNQ)]


async def test_a_retried_reduction_sends_only_what_the_broker_still_has_too_much_of(
    store: Store,
) -> None:
    """limit 2, the trader bought 4: "reduce by 2 to 2", retried when the broker shows 2."""
    broker = FlakyBroker(store)
    broker.positions = [_position(MNQ, 2)]  # the first partial close already went through
    reduce = ClosePosition(
        at=NOW,
        account_id=ACCT,
        rule="max_contracts",
        reason="r",
        contract_id=MNQ,
        size=2,
        keep=2,
    )
    guard = enforcer(broker, store, [])
    guard._attempted.add(cause_of(reduce))  # a retry: reads the broker first
    await guard.execute(reduce, Book(positions=[_position(MNQ, 4)]))
    assert writes(broker) == []
    assert broker.positions == [_position(MNQ, 2)]
    broker.positions = [_position(MNQ, 3)]
    await guard.execute(reduce, Book(positions=[_position(MNQ, 4)]))
    assert writes(broker) == [("partial", MNQ, 1)]


async def test_two_closes_of_one_position_are_never_in_flight_together(store: Store) -> None:
    broker = FlakyBroker(store)
    broker.positions = [_position(MNQ, 2)]
    broker.gate = asyncio.Event()
    guard = enforcer(broker, store, [])
    flatten = Flatten(at=NOW, account_id=ACCT, rule="daily_net_loss", reason="r")
    lock_close = ClosePosition(
        at=NOW, account_id=ACCT, rule="cooldown_after_loss", reason="r", contract_id=MNQ
    )
    book = Book(positions=list(broker.positions))
    a = guard.submit(flatten, book)
    b = guard.submit(lock_close, book)
    await asyncio.sleep(0)
    broker.gate.set()
    await asyncio.gather(a, b)
    assert writes(broker) == [("close", MNQ)]  # the second waited, read the broker: flat


async def test_rule_008_close_is_called_off_by_a_working_stop_at_the_broker(
    store: Store,
) -> None:
    broker = FlakyBroker(store)
    broker.positions = [_position(MNQ, 1)]
    broker.orders = [
        Order(9, ACCT, MNQ, OrderStatus.OPEN, OrderType.STOP, OrderSide.ASK, 1, stop_price=1)  # type: ignore[arg-type]
    ]
    close = ClosePosition(
        at=NOW,
        account_id=ACCT,
        rule="no_stop_loss_grace",
        reason="r",
        contract_id=MNQ,
        unless_stop=True,
    )
    await enforcer(broker, store, []).execute(close, Book(positions=broker.positions))
    assert writes(broker) == []
    assert "working stop" in (store.journal(ACCT)[0].outcome_detail or "")
    broker.orders = []
    await enforcer(broker, store, []).execute(close, Book(positions=broker.positions))
    assert writes(broker) == [("close", MNQ)]
