"""The REST budget with many accounts (issue 10 kind 8), on the product's own limits: the
client's 180 / 60 s limiter with its enforcement reserve, the simulator's 200 / 60 s.

Enforcement goes first in the budget: a breach 2 s after a user-hub reconnect is enforced while
the reconnect's reconciliation still waits for budget. At start-up, an account with a stored
lock is reconciled first and guarded (its actor running, its breach enforced) while the other
accounts still wait for theirs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from risk_manager.config.loader import parse_config
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.runtime.bootstrap import bootstrap
from risk_manager.runtime.daemon import Daemon
from risk_manager.sim.server import SimServer, SimSettings, running_sim
from risk_manager.store import Store

from .conftest import HUB_OPTIONS, Guard
from .helpers import BUY, SimTrader, config_text, wait_for

MAX_ONE = "  max_contracts: {enabled: true, limit: 1}"
LOCKED = "  daily_realized_loss: {enabled: true, limit: 500}"


def accounts(n: int) -> tuple[tuple[str, Decimal], ...]:
    return tuple((f"PRIO-{i:03d}", Decimal(50_000)) for i in range(n))


@pytest.fixture
async def sim(request: pytest.FixtureRequest) -> AsyncIterator[SimServer]:
    """The simulator with ``request.param`` accounts and its default limits (200 / 60 s)."""
    async with running_sim(SimSettings(port=0, accounts=accounts(request.param))) as server:
        yield server


def reconnect_settled(daemon: Daemon) -> bool:
    return daemon.session.reconciles.waiting() == 0 and not any(
        t.get_name() == "reconcile-after-connect" for t in daemon.tasks
    )


@pytest.mark.parametrize("sim", [50], indirect=True)
async def test_a_breach_2s_after_a_reconnect_is_enforced_within_1s_with_50_accounts(
    guard: Guard, trader: SimTrader
) -> None:
    daemon = await guard.start(MAX_ONE)
    budget = daemon.session.client.limiter.general
    assert (budget.limit, budget.window, budget.reserve) == (180, 60.0, 20)  # the product's own
    assert len(daemon.actors) == 50 and all(a.reconciled for a in daemon.actors.values())
    await wait_for(lambda: _now(reconnect_settled(daemon)), "the start's reconciliation")
    hub = daemon.session.user_hub
    assert hub is not None
    connects = hub.connects
    await trader.control("fault", {"kind": "drop_connections"})
    await wait_for(lambda: _now(hub.connects > connects and hub.connected.is_set()), "reconnect")
    # The start spent most of the window: the reconnect's reads wait for budget.
    await wait_for(
        lambda: _now(daemon.session.reconciles.waiting() > 0), "the reconnect's reconcile"
    )
    await asyncio.sleep(2.0)  # the scenario: the breach 2 s after the reconnect
    assert daemon.session.reconciles.waiting() > 0, (
        "the reconciliation no longer waits: no contention"
    )
    breached = time.monotonic()
    await trader.market("MNQ", BUY, 2)  # one over the limit

    async def reduced() -> bool:
        return await trader.size("MNQ") == 1

    await wait_for(reduced, "the excess contract closed", within=1.0)
    took = time.monotonic() - breached
    assert daemon.session.reconciles.waiting() > 0  # it went ahead of the waiting reconciliation
    entries = [(e.rule, e.kind) for e in daemon.store.journal(trader.account_id)]
    assert ("max_contracts", "close_position") in entries, (entries, took)


@pytest.mark.parametrize("sim", [200], indirect=True)
async def test_at_start_an_account_with_a_stored_lock_is_guarded_before_the_others(
    sim: SimServer, trader: SimTrader, tmp_path: Path
) -> None:
    ids = sorted(int(a["id"]) for a in (await trader.state())["accounts"])
    trader.account_id = hot = ids[-1]  # the last: first only because it is hot
    await trader.open_position("MNQ", BUY, 1)
    db = tmp_path / "rm.sqlite"
    now = datetime.now(UTC)
    with Store.open(db) as store:
        lock = Lock(
            account_id=hot,
            rule="daily_realized_loss",
            kind=LockKind.HARD,
            reason="a previous run's lock",
            created_at=now,
            ends_at=now + timedelta(days=1),
        )
        store.add_lock(lock)
    config = parse_config(config_text(sim.url, db, LOCKED), env={})
    daemon = bootstrap(config, hub_options=HUB_OPTIONS)
    starting = asyncio.create_task(daemon.start())
    try:
        await trader.wait_flat("MNQ", "the stored lock enforced on the broker's position")
        actor = daemon.actors[hot]
        assert actor.reconciled and any(t.get_name() == f"actor-{hot}" for t in daemon.tasks), (
            "guarded means its actor runs"
        )
        await trader.market("MNQ", BUY, 1)  # a breach of the lock, seen on the hub
        await trader.wait_flat("MNQ", "the new position closed while locked")
        waiting = [a for a in daemon.actors.values() if not a.reconciled]
        assert len(waiting) > 100, "the other accounts' reconciles should still be under way"
        assert not starting.done()
    finally:
        starting.cancel()  # the start stops what it started (200 reconciles take minutes)
        with pytest.raises(asyncio.CancelledError):
            await starting


async def _now(value: bool) -> bool:
    return value
