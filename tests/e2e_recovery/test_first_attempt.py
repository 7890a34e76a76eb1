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
