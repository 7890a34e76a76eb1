"""The actor's contract set (asked by the hub's receive loop for every quote)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from risk_manager.config.models import Config
from risk_manager.domain.enums import PositionType
from risk_manager.domain.events import PositionEvent, QuoteEvent
from risk_manager.domain.models import Position, Quote
from risk_manager.engine.engine import Engine
from risk_manager.engine.factory import calendar_for
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.enforcer import Enforcer
from risk_manager.runtime.metrics import Metrics
from risk_manager.store import Store

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
ACCT = 7
MNQ = "CON.F.US.MNQ.H26"


async def test_contracts_follow_positions_and_a_quote_builds_no_view(
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
        assert actor.contracts() == {MNQ}
        before = views
        for _ in range(3):
            await actor.handle(QuoteEvent(NOW, Quote(MNQ, last_price=Decimal(2))))
            assert actor.contracts() == {MNQ}
        assert views == before
        await actor.handle(position(0))
        assert actor.contracts() == set()
