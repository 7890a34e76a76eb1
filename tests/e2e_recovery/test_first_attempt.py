"""A breach of a cause already enforced and settled earlier is a new first attempt: the
enforcer acts on the engine's book at once. Only a re-proposal of an action still in flight
reads the broker first (found by ``bench e2e``: every breach after the first read first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from risk_manager.config.models import Config
from risk_manager.domain.enums import PositionType
from risk_manager.domain.events import AccountEvent, ClockTick, PositionEvent
from risk_manager.domain.models import Account, Position
from risk_manager.engine.engine import Engine
from risk_manager.engine.factory import calendar_for
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.enforcer import Enforcer
from risk_manager.runtime.metrics import Metrics
from risk_manager.store import Store

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
ACCT = 7
MNQ = "CON.F.US.MNQ.H26"


class Broker:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.size = 2

    async def search_open_positions(self, account_id: int) -> list[Position]:
        self.calls.append(("read_positions",))
        return [_position(self.size)]

    async def search_open_orders(self, account_id: int) -> list[Any]:
        self.calls.append(("read_orders",))
        return []

    async def partial_close_position(self, account_id: int, contract_id: str, size: int) -> None:
        self.calls.append(("partial", contract_id, size))

    async def close_position(self, account_id: int, contract_id: str) -> None:
        self.calls.append(("close", contract_id))


def _position(size: int) -> Position:
    return Position(1, ACCT, MNQ, PositionType.LONG, size, Decimal("20000"))


async def test_a_settled_cause_breached_again_acts_on_the_book_and_a_retry_reads() -> None:
    config = Config.model_validate({"rules": {"max_contracts": {"enabled": True, "limit": 1}}})
    engine = Engine(config.rules_for(ACCT), calendar_for(config.trading_day), config.catalog())
    broker = Broker()
    now = NOW

    def clock() -> datetime:
        return now

    with Store.open(":memory:") as store:
        enforcer = Enforcer(broker, store, clock)  # type: ignore[arg-type]
        actor = AccountActor(ACCT, engine, enforcer, store, clock, Metrics())
        enforcer.on_outcome = actor.on_outcome
        await actor.handle(AccountEvent(now, Account(ACCT, "A", Decimal(50_000), True)))

        async def event(size: int) -> None:
            await actor.handle(PositionEvent(now, _position(size)))
            await enforcer.drain(5)

        await event(2)  # breach: partial close on the book, no read
        assert broker.calls == [("partial", MNQ, 1)]
        await event(1)  # the close is seen: settled
        await event(2)  # a new breach of the same cause: again on the book
        assert broker.calls == [("partial", MNQ, 1)] * 2

        # Not settled this time: the re-proposal after retry_after reads the broker first.
        now += config.rules_for(ACCT).retry_after + timedelta(milliseconds=1)
        await actor.handle(ClockTick(now))
        await enforcer.drain(5)
        assert broker.calls[2:] == [("read_positions",), ("partial", MNQ, 1)]


async def test_first_attempt_journals_intent_and_send_in_one_write_only_when_it_sends() -> None:
    from risk_manager.domain.actions import ClosePosition
    from risk_manager.runtime.enforcer import Book

    broker = Broker()
    with Store.open(":memory:") as store:
        writes: list[str] = []
        sent, intent = store.journal_sent, store.journal_intent

        def journal_sent(*args: Any, **kwargs: Any) -> None:
            writes.append("sent")
            sent(*args, **kwargs)

        def journal_intent(*args: Any, **kwargs: Any) -> int:
            writes.append("intent")
            return intent(*args, **kwargs)

        store.journal_sent = journal_sent  # type: ignore[method-assign]
        store.journal_intent = journal_intent  # type: ignore[method-assign]
        enforcer = Enforcer(broker, store, lambda: NOW)  # type: ignore[arg-type]

        def close() -> ClosePosition:
            return ClosePosition(at=NOW, account_id=ACCT, rule="r", reason="x", contract_id=MNQ)

        await enforcer.execute(close(), Book(positions=(_position(2),)))
        flat = ClosePosition(at=NOW, account_id=ACCT, rule="r", reason="x", contract_id="OTHER")
        await enforcer.execute(flat, Book(positions=(_position(2),)))
        entries = sorted(store.journal(ACCT), key=lambda e: e.id)
    assert writes == ["intent", "intent"]  # no separate sent write
    assert broker.calls == [("close", MNQ)]
    assert entries[0].sent_at == NOW and entries[1].sent_at is None  # nothing went out
