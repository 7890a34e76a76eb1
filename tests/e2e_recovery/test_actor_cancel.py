"""Stopping an actor while an event arrives must stop it (found by ``bench e2e`` hanging at
shutdown): on Python 3.11, ``asyncio.wait_for`` returns the inner result and drops a
cancellation that lands in the same loop step as the item (gh-86296), so ``Daemon.stop``
waited forever on an actor that kept running."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import cast

from risk_manager.config.models import Config
from risk_manager.domain.events import ClockTick
from risk_manager.engine.engine import Engine
from risk_manager.engine.factory import calendar_for
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.enforcer import Broker, Enforcer
from risk_manager.runtime.metrics import Metrics
from risk_manager.store import Store

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


async def test_cancel_racing_an_event_stops_the_actor() -> None:
    config = Config()
    engine = Engine(config.rules_for(1), calendar_for(config.trading_day), config.catalog())
    with Store.open(":memory:") as store:
        no_broker = cast(Broker, None)  # nothing is enforced: ticks only
        actor = AccountActor(1, engine, Enforcer(no_broker, store, clock), store, clock, Metrics())
        for _ in range(20):  # every round is the race; one lost cancel fails the test
            task = asyncio.create_task(actor.run())
            await asyncio.sleep(0)  # the actor now waits for its next event
            actor.offer(ClockTick(NOW))
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=2)
            assert done, "the actor ignored its cancellation and kept running"
            assert task.cancelled()
