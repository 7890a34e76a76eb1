"""Fixtures of the end-to-end tests: the simulator on a free port, a trader logged in to it, and
a ``guard`` that starts the real daemon against it (real sockets: REST, both hubs)."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from risk_manager.config.loader import load_config, parse_config
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.bootstrap import bootstrap
from risk_manager.runtime.daemon import Daemon
from risk_manager.sim.server import SimServer, SimSettings, running_sim
from risk_manager.types import Clock, utc_now
from support.daemons import serving

from .helpers import BUY, SimTrader, config_text, wait_for

# Reconnect fast: a dropped hub is back within a fraction of a second.
HUB_OPTIONS = {"backoff_base": 0.05, "backoff_cap": 0.2, "healthy_after": 0.5}


STOP_WITHIN = 15.0  # seconds; shutdown drains enforcement for up to 5 s


def stacks() -> str:
    """Where every unfinished task of the loop is waiting."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        if not task.done():
            task.print_stack(limit=8, file=out)
    return out.getvalue()


class ShiftedClock:
    """The wall clock moved on by ``advance`` (time still runs): a daemon's delays end
    without waiting for them."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift

    def advance(self, **kw: float) -> None:
        self.shift += timedelta(**kw)


class Guard:
    """The daemon under test, started on demand with the test's rules."""

    def __init__(self, sim: SimServer, trader: SimTrader, db: Path) -> None:
        self.sim = sim
        self.trader = trader
        self.db = db
        self.config_path = db.parent / "risk-manager.yaml"  # with from_file=True
        self.clock: Clock = utc_now
        self._daemon: Daemon | None = None
        self._api: contextlib.AsyncExitStack | None = None
        self.api_url: str | None = None
        self._running = False

    async def start(
        self,
        rules: str,
        *,
        serve_api: bool = False,
        extra: str = "",
        from_file: bool = False,
        clock: Clock | None = None,
        **hub_options: float,
    ) -> Daemon:
        """``extra``: top-level YAML sections besides the rules (``alerts:``, say);
        ``from_file``: the config written to ``config_path`` and read from it, as the command
        does (a reload re-reads it); ``clock``: the daemon's (kept for the next start)."""
        text = config_text(self.sim.url, self.db, rules, extra)
        path: Path | None = None
        if from_file:
            path = self.config_path
            path.write_text(text, encoding="utf-8")
            config = load_config(path, env={})
        else:
            config = parse_config(text, env={})
        if clock is not None:
            self.clock = clock
        options = HUB_OPTIONS | hub_options
        daemon = self._daemon = bootstrap(
            config, hub_options=options, clock=self.clock, config_path=path
        )
        self._running = True
        if serve_api:  # as the command serves it: before the start
            self._api = contextlib.AsyncExitStack()
            self.api_url = await self._api.enter_async_context(serving(daemon, config))
        await daemon.start()
        await wait_for(self._hubs_up, "both hubs connected")
        return self._daemon

    async def stop(self) -> None:
        """Stop the daemon (a restart is another ``start`` on the same store file)."""
        if not self._running:
            return
        self._running = False
        stopping = asyncio.create_task(self.daemon.stop(), name="e2e-daemon-stop")
        done, _ = await asyncio.wait({stopping}, timeout=STOP_WITHIN)
        if not done:  # name what hangs rather than waiting for pytest's timeout
            raise AssertionError(f"the daemon did not stop within {STOP_WITHIN}s:\n{stacks()}")
        stopping.result()
        if self._api is not None:
            api, self._api, self.api_url = self._api, None, None
            await api.aclose()

    async def _hubs_up(self) -> bool:
        d = self.daemon
        hubs = (d.session.user_hub, d.session.market_hub)
        return all(h is not None and h.connected.is_set() for h in hubs)

    @property
    def daemon(self) -> Daemon:
        assert self._daemon is not None, "call guard.start(rules) first"
        return self._daemon

    @property
    def actor(self) -> AccountActor:
        return self.daemon.actors[self.trader.account_id]

    def locks(self) -> list[Lock]:
        return self.daemon.store.active_locks(self.clock(), self.trader.account_id)

    async def wait_lock(self, rule: str, kind: LockKind = LockKind.HARD) -> Lock:
        async def held() -> Lock | None:
            return next((k for k in self.locks() if k.rule == rule and k.kind is kind), None)

        return await wait_for(held, f"an active {kind} lock by {rule}")

    def rule_locks(self, rule: str) -> list[Lock]:
        return [lock for lock in self.locks() if lock.rule == rule]

    async def wait_quoted(self, symbol: str, price: str) -> None:
        """Set the price until the daemon values the open position at it: after this, every
        price move reaches the daemon (its market subscription is in place)."""
        cid = await self.trader.contract(symbol)

        async def marked() -> bool:
            await self.trader.set_price(symbol, price)
            view = self.actor.engine.view(self.trader.account_id, datetime.now(UTC))
            marks = [p.mark for p in view.positions if p.position.contract_id == cid]
            return marks == [Decimal(price)]

        await wait_for(marked, f"the daemon marking {symbol} at {price}")

    async def api(self, path: str) -> Any:
        """GET ``/api/v1/<path>`` from the daemon's local API (started with serve_api=True)."""
        assert self.api_url is not None, "start the guard with serve_api=True"
        async with self.trader.session.get(f"{self.api_url}/api/v1/{path}") as r:
            assert r.status == 200, (path, r.status, await r.text())
            return await r.json()

    async def hold_and_move(self, symbol: str, side: int, size: int, price: str) -> None:
        """Open a position, make sure the daemon sees its quotes, then move the market."""
        await self.trader.open_position(symbol, side, size)
        last = self.sim.exchange.markets.market(await self.trader.contract(symbol)).last
        await self.wait_quoted(symbol, str(last))
        await self.trader.set_price(symbol, price)

    async def wait_closed_only(self, symbol: str, why: str, *, kept: str) -> None:
        """``symbol`` closed by a rule that does not lock; the one lot in ``kept`` untouched."""
        await self.trader.wait_flat(symbol, why)
        assert await self.trader.positions() == {await self.trader.contract(kept): 1}
        assert not self.locks()

    async def assert_locked_out(self, symbol: str, price: str) -> None:
        """While locked: a new working order is cancelled, a new position is closed."""
        trader = self.trader
        order = await trader.limit(symbol, BUY, 1, price)
        await trader.wait_cancelled(order)
        await trader.market(symbol, BUY, 1)
        await trader.wait_flat(symbol, f"the {symbol} position opened while locked closed")
        assert not await trader.working_orders()


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with running_sim(SimSettings(port=0)) as server:
        yield server


@pytest.fixture
async def trader(sim: SimServer) -> AsyncIterator[SimTrader]:
    async with aiohttp.ClientSession() as session:
        trader = SimTrader(session, sim.url)
        await trader.login()
        yield trader


@pytest.fixture
async def guard(sim: SimServer, trader: SimTrader, tmp_path: Path) -> AsyncIterator[Guard]:
    guard = Guard(sim, trader, tmp_path / "rm.sqlite")
    try:
        yield guard
    finally:
        await guard.stop()
