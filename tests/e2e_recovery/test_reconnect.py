"""A breach made while the user hub is down is enforced within 1 s of the reconnect.

The simulator runs as a child process (with its wall-clock request log); the daemon runs in
this process with a short hub watchdog and backoff. The trader's losing exit goes through REST
while the daemon's user hub is disconnected (``drop_connections``) or silenced (``silence``),
so the hub events are lost: only the reconciliation after the reconnect can see the loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from risk_manager.config.loader import load_config
from risk_manager.projectx.hubs import UserHub
from risk_manager.runtime.bootstrap import bootstrap
from risk_manager.sim.process import SimProcess, spawned_sim

from .harness import BUY, SELL, TIMEOUT, SimClient, eventually, write_config

RULES: dict[str, Any] = {"daily_realized_loss": {"enabled": True, "limit": "50"}}
ENTRY = Decimal("20000.00")
DROP = Decimal(30)  # MNQ: $60 realized on the one contract sold
STALE_AFTER = 1.0


@pytest.fixture
async def sim() -> AsyncIterator[SimProcess]:
    async with spawned_sim(extra=["--rate-limit", "10000/60", "--timings"]) as sim:
        yield sim


class ConnectTimes:
    """Wall-clock ns of each user-hub connect, sampled every 2 ms (the hub counts connects)."""

    def __init__(self, hub: UserHub) -> None:
        self.hub = hub
        self.at: list[int] = []
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        seen = self.hub.connects
        while True:
            await asyncio.sleep(0.002)
            if self.hub.connects != seen:
                seen = self.hub.connects
                self.at.append(time.time_ns())

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def _close_request_ns(trader: SimClient) -> int | None:
    timings = await trader.control("timings")
    closes = [r["t_ns"] for r in timings["requests"] if r["path"] == "Position/closeContract"]
    return closes[0] if closes else None


@pytest.mark.parametrize("fault", ["drop_connections", "silence"])
async def test_breach_during_hub_gap_is_enforced_within_1s_of_reconnect(
    sim: SimProcess, tmp_path: Path, fault: str
) -> None:
    config = load_config(
        write_config(
            tmp_path / "config.yaml", sim.url, db=tmp_path / "rm.sqlite", api_port=0, rules=RULES
        )
    )
    hub_options = {
        "stale_after": STALE_AFTER,
        # a drop leaves a 0.5-1 s gap before the reconnect: time for the trader's REST exit
        "backoff_base": 1.0,
        "backoff_cap": 1.0,
        "healthy_after": 0.0,
    }
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
        bootstrap(config, hub_options=hub_options) as daemon,
    ):
        trader = SimClient(sim.url, session)
        await trader.login()

        async def settled() -> bool:
            # The reconciliation after the first connect must be over: one still reading REST
            # when the trader exits would see the loss without any reconnect.
            assert daemon.session.user_hub is not None
            return daemon.session.user_hub.connected.is_set() and not any(
                t.get_name() == "reconcile-after-connect" for t in daemon.tasks
            )

        await eventually(settled, 10, "the first connect's reconciliation")
        (acct,) = await trader.accounts()
        mnq = await trader.contract("MNQ")
        actor = daemon.actors[acct]
        await trader.price(mnq, ENTRY)
        await trader.market(acct, mnq, BUY, 2)
        await trader.price(mnq, ENTRY - DROP)
        await eventually(
            lambda: _async(actor.engine.view(acct, daemon.clock()).positions), 5, "the position"
        )
        assert daemon.session.user_hub is not None
        connects = ConnectTimes(daemon.session.user_hub)
        try:
            if fault == "drop_connections":
                await trader.fault(kind="drop_connections")
            else:
                await trader.fault(kind="silence", hub="user", seconds=3 * STALE_AFTER)
            traded_ns = time.time_ns()
            await trader.market(acct, mnq, SELL, 1)  # the loss the hub never reports
            closed_ns = await eventually(lambda: _close_request_ns(trader), 10, "the flatten")
        finally:
            await connects.stop()
        before = [t for t in connects.at if t <= closed_ns]
        journal = [(e.rule, e.kind, e.created_at) for e in daemon.store.journal(acct)]
        seen = (fault, traded_ns, closed_ns, connects.at, journal)
        if not before:
            # While the user hub is down the sweep reads the broker every second or two
            # (runtime/sweep.py DOWN_HOT_MIN): it may find the loss before the hub is back.
            # Enforced inside the gap is the guard doing better, not a gap left untested by
            # accident: only a flatten no reconciliation explains fails.
            assert any(rule == "reconcile" for rule, _, _ in journal), (
                f"the flatten reached the simulator before any reconnect or reconciliation: {seen}"
            )
            assert actor.engine.view(acct, daemon.clock()).locked
            return
        assert before[-1] > traded_ns, "the hub reconnected before the loss: no gap was tested"
        delay_ms = (closed_ns - before[-1]) / 1e6
        assert delay_ms <= 1000, f"enforced {delay_ms:.0f} ms after the reconnect"
        assert actor.engine.view(acct, daemon.clock()).locked

        async def flat() -> bool:
            return not (await trader.state())["positions"]

        await eventually(flat, 5, "the account to be flat")


async def _async(value: Any) -> Any:
    return value
