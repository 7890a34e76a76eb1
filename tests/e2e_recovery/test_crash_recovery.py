"""Crash recovery across real processes (issue 5): the simulator and ``risk-manager run`` are
child processes; the daemon is SIGKILLed while its flatten is in flight at the simulator and
restarted on the same SQLite file.

After the restart: the lock is still in the store, the account is flat with no opposite
position, each fill is stored once, the realized P&L the daemon reports equals the sum of the
simulator's trades, and no second close was sent. SIGTERM ends the daemon with code 0 in 10 s.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from risk_manager.sim.process import SimProcess, spawned_sim
from risk_manager.store import Store

from .daemon_process import DaemonProcess, free_port, query
from .harness import BUY, SELL, TIMEOUT, SimClient, eventually, write_config

LATENCY_MS = 1500  # long enough for the close to be caught in flight
LIMIT = Decimal(50)
ENTRY = Decimal("20000.00")
DROP = Decimal(30)  # MNQ: 30 points x $2 = $60 realized on one contract > LIMIT
RULES: dict[str, Any] = {"daily_realized_loss": {"enabled": True, "limit": str(LIMIT)}}


@pytest.fixture
async def sim() -> AsyncIterator[SimProcess]:
    async with spawned_sim(extra=["--rate-limit", "10000/60", "--timings"]) as sim:
        yield sim


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        yield session


@pytest.fixture
async def daemons() -> AsyncIterator[list[DaemonProcess]]:
    """Daemons a test starts; any still running at the end (a failed test) is killed."""
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        if daemon.proc is not None and daemon.proc.returncode is None:
            daemon.kill()
            await daemon.wait(10)


def _unfinished_sent(db: Path) -> list[tuple[Any, ...]]:
    return query(
        db,
        "SELECT id, kind FROM journal WHERE sent_at IS NOT NULL AND outcome IS NULL "
        "AND kind IN ('flatten', 'close_position')",
    )


@pytest.mark.parametrize(
    "restart",
    [
        # killed once the simulator holds the close; restarted once it has landed
        "after_close_landed",
        # killed as soon as the journal says sent (the request may not have left); restarted
        # at once, while the close may still sit in the simulator's latency
        "while_close_in_flight",
    ],
)
async def test_sigkill_during_flatten_then_restart(
    sim: SimProcess,
    session: aiohttp.ClientSession,
    daemons: list[DaemonProcess],
    tmp_path: Path,
    restart: str,
) -> None:
    trader = SimClient(sim.url, session)
    await trader.login()
    (acct,) = await trader.accounts()
    mnq = await trader.contract("MNQ")
    db = tmp_path / "rm.sqlite"
    api_port = free_port()
    config = write_config(tmp_path / "config.yaml", sim.url, db=db, api_port=api_port, rules=RULES)
    first = DaemonProcess(config, api_port, tmp_path / "a.log")
    daemons.append(first)
    await first.start(session, acct)

    await trader.price(mnq, ENTRY)
    trader_orders = {await trader.market(acct, mnq, BUY, 2)}
    await trader.price(mnq, ENTRY - DROP)
    await trader.fault(kind="latency", ms=LATENCY_MS)
    # The losing exit: the daemon sees the realized loss, locks, and flattens the other contract
    # — its close sits in the simulator's latency when the daemon is killed.
    exit_order = asyncio.create_task(trader.market(acct, mnq, SELL, 1))
    await eventually(lambda: asyncio.to_thread(_unfinished_sent, db), 10, "a close in flight")
    if restart == "after_close_landed":
        await eventually(lambda: _close_received(trader), 10, "the simulator to hold the close")
    first.kill()
    assert await first.wait(10) != 0
    trader_orders.add(await exit_order)
    assert query(db, "SELECT count(*) FROM locks WHERE cleared_at IS NULL")[0][0] == 1
    await trader.fault(kind="latency", ms=0)

    async def flat() -> bool:
        return not (await trader.state())["positions"]

    if restart == "after_close_landed":
        # The killed daemon's close still lands (the simulator finishes the request).
        await eventually(flat, 10, "the in-flight close to land")
        assert len(_closes(await trader.state(), trader_orders)) == 1

    second = DaemonProcess(config, api_port, tmp_path / "b.log")
    daemons.append(second)
    await second.start(session, acct)
    await eventually(flat, 10, "the account to be flat")

    async def settled() -> dict[str, Any] | None:
        view = await second.account(session, acct)
        state = await trader.state()
        return view if Decimal(view["pnl"]["day_realized"]) == _net_realized(state) else None

    view = await eventually(settled, 10, "the daemon's realized P&L to match the simulator's")
    assert view["locked"] is True
    assert Decimal(view["pnl"]["day_realized"]) < -LIMIT

    # SIGTERM: a clean, prompt exit — and a barrier: anything the daemon sent is finished.
    second.terminate()
    assert await second.wait(10) == 0, second.log_text()

    state = await trader.state()
    assert state["positions"] == []  # flat, no opposite position
    closes = _closes(state, trader_orders)
    assert len(closes) == 1, closes  # the killed run's close; none sent onto a flat position
    assert closes[0]["size"] == 1 and closes[0]["side"] == SELL

    sim_trades = {int(t["id"]) for t in state["trades"]}
    assert len(sim_trades) == 3  # buy 2, the losing sell 1, the close 1
    stored = query(db, "SELECT id FROM fills WHERE account_id = ?", acct)
    assert sorted(r[0] for r in stored) == sorted(sim_trades)  # each fill once
    with Store.open(db) as store:
        locks = store.active_locks(datetime.now(UTC), acct)
    assert [lock.rule for lock in locks] == ["daily_realized_loss"]
    assert not store_unfinished(db)


def _net_realized(state: dict[str, Any]) -> Decimal:
    """The day's realized P&L as the daemon counts it: P&L less fees and commissions, each
    simulator trade once (an opening fill has no P&L but has costs)."""
    total = Decimal(0)
    for t in state["trades"]:
        pnl = t["profitAndLoss"]
        total += Decimal(str(pnl)) if pnl is not None else 0
        total -= Decimal(str(t["fees"])) + Decimal(str(t["commissions"]))
    return total


async def _close_received(trader: SimClient) -> bool:
    timings = await trader.control("timings")
    return any(r["path"] == "Position/closeContract" for r in timings["requests"])


def _closes(state: dict[str, Any], trader_orders: set[int]) -> list[dict[str, Any]]:
    """Filled orders the trader did not place: the daemon's closes."""
    return [o for o in state["orders"] if o["id"] not in trader_orders and o["status"] == 2]


def store_unfinished(db: Path) -> list[tuple[Any, ...]]:
    return query(db, "SELECT id, kind FROM journal WHERE outcome IS NULL")
