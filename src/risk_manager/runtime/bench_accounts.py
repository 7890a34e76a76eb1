"""Capacity: how many accounts one daemon guards at ``rate`` events/s each while the p99
breach-to-enforcement latency stays under ``TARGET_P99_MS``.

For each step's account count ``n`` (a fresh simulator in another process and a fresh daemon
in this one): every account holds 1 MNQ under ``max_contracts`` limit 1 (with the rules that
value positions on every quote, at limits the run never reaches); the simulator's random walk
moves every front month ``rate`` times a second, so each account's actor takes ``rate`` MNQ
quotes a second. While the quotes flow, breaches rotate over the accounts one at a time,
``BREACHES_PER_S`` a second (the trader buys one more; the daemon partial-closes it), timed by
the simulator as in ``bench e2e`` (runtime/bench_e2e.py). Beside each step: the floor (one
WebSocket message and one HTTP request between the same two processes, sim/echo.py) and the
fsync floor (the same with an fsync'd SQLite commit in a worker thread between them, held for
as an enforcement's journal write is: the least a journalled-before-sent enforcement costs),
a round of each in the pause after each breach (``FLOOR_DELAY`` into it), under the same
quotes (their CPU is counted in this process's: a fraction of a percent); the worst event-loop
lag (runtime/loop_lag.py); the CPU used by this process (the daemon; the trader's buys go out
from a process of their own, runtime/bench_trader.py) and by the simulator; and the 429s the
daemon met. With ``dashboard`` (``--dashboard``) the daemon's API is served on its loop and a
dashboard in another process follows its stream (runtime/bench_watcher.py), as a trader's
open dashboard does. Steps stop after two in a row miss the target (one may be a noisy moment
of a shared machine); the knee is the most accounts of a step that met it.

The REST limits are lifted (the simulator's and the client's: as in ``bench e2e``) so start-up
with hundreds of accounts takes seconds, not the gateway's minutes; what the gateway's
200 / 60 s per key allows is a separate figure (``rest_accounts_per_key``; see
docs/PERFORMANCE.md "Capacity").
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from risk_manager.api.server import running_api
from risk_manager.config.models import Config
from risk_manager.config.sections import BrokerConfig
from risk_manager.projectx.client import ProjectXClient
from risk_manager.projectx.rate_limit import SlidingWindowLimiter
from risk_manager.runtime.bench_e2e import (
    PRICE,
    BenchTrader,
    Floors,
    breach,
    latencies_ms,
    percentile,
    sim_broker,
)
from risk_manager.runtime.bench_trader import TraderProcess
from risk_manager.runtime.bench_watcher import WatcherProcess
from risk_manager.runtime.bootstrap import bootstrap, connect_gateway
from risk_manager.runtime.daemon import Daemon
from risk_manager.runtime.loop_lag import LoopLag
from risk_manager.sim.process import SimProcess, spawned_sim

TARGET_P99_MS = 10.0
DEFAULT_STEPS = (10, 25, 50, 100, 200, 400)
BREACHES_PER_S = 20.0  # one at a time, rotating over the accounts
# Seconds after a breach settles before the floors' round: the store's grouped writes commit
# within 20 ms (store/db.py GROUP_WINDOW), and the pause between breaches is 50 ms.
FLOOR_DELAY = 0.025
# When the fsync floor alone (the hop and the commit, no product) takes half the target at p99,
# the machine's own floor under that load is named as what limits the step: a breach does all
# of that and its own work besides.
FLOOR_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class CapacityStep:
    """One account count's figures (latencies in ms, CPU in % of one core)."""

    accounts: int
    events_per_s: float  # quotes per second reaching each account's actor (the walk's rate)
    breaches: int
    enforced: int
    p50_ms: float
    p99_ms: float
    floor_p99_ms: float
    fsync_floor_p99_ms: float
    loop_lag_ms: float  # the worst sample of the step
    daemon_cpu_pct: float
    sim_cpu_pct: float
    rest_429: int
    # With ``--dashboard``: what the dashboard child received over the breaches' window
    # (runtime/bench_watcher.py: messages, account views, those with a P&L curve, bytes,
    # connections made and lost, the window's seconds); None without one.
    dashboard: dict[str, float] | None = None

    @property
    def meets_target(self) -> bool:
        return self.enforced == self.breaches and self.p99_ms < TARGET_P99_MS


def bench_config(sim: SimProcess, store: Path) -> Config:
    """``max_contracts`` limit 1 (the breach) and the rules that value positions on every
    quote (their limits far from a 10-second random walk)."""
    return Config.model_validate(
        {
            "broker": sim_broker(sim),
            "rules": {
                "max_contracts": {"enabled": True, "limit": 1},
                "daily_unrealized_loss": {"enabled": True, "limit": 5000},
                "max_unrealized_profit": {"enabled": True, "target": 5000},
                "daily_net_loss": {"enabled": True, "limit": 5000},
            },
            "store": {"path": str(store)},
            "logging": {"level": "WARNING"},
        }
    )


def _lifted(broker: BrokerConfig, **kwargs: Any) -> ProjectXClient:
    """The gateway client without the client-side REST limit (the simulator's is raised)."""
    client = connect_gateway(broker, **kwargs)
    client.limiter.general = SlidingWindowLimiter(10**9, 60.0)
    return client


def limiting_factor(step: CapacityStep) -> str:
    """What the figures say set the step's latency: the daemon's core, the event loop, the
    simulator's core, the gateway's limits, the machine's own floor under that load (the fsync
    floor took at least ``FLOOR_SHARE`` of the target at p99), or nothing in particular."""
    if step.rest_429:
        return "the gateway's REST rate limit (429s met)"
    if step.daemon_cpu_pct >= 85:
        return f"the daemon's CPU: one core, {step.daemon_cpu_pct:.0f}% busy (its event loop)"
    if step.loop_lag_ms >= TARGET_P99_MS:
        return f"the daemon's event loop: held up to {step.loop_lag_ms:.0f} ms at a time"
    if step.sim_cpu_pct >= 85:
        return f"the simulator's CPU ({step.sim_cpu_pct:.0f}% of a core)"
    floors = (
        f"the floors' own p99 under the same load: {step.floor_p99_ms:g} ms, "
        f"{step.fsync_floor_p99_ms:g} ms with the journal's fsync"
    )
    if step.fsync_floor_p99_ms >= FLOOR_SHARE * TARGET_P99_MS:
        return (
            "the machine's own floor under this load (one WebSocket message, one fsync'd "
            f"commit and one HTTP request, no product): {floors}"
        )
    return (
        f"none of the daemon's own (CPU {step.daemon_cpu_pct:.0f}%, loop lag "
        f"{step.loop_lag_ms:g} ms): the machine's tail, {floors}"
    )


async def _lag_watch(lag: LoopLag, worst: list[float]) -> None:
    while True:
        started = time.monotonic()
        await asyncio.sleep(0.05)
        woke = time.monotonic()
        worst[0] = max(worst[0], lag.sample(woke, woke - started - 0.05))


async def run_step(
    accounts: int, seconds: float, rate: float, dashboard: bool = False
) -> CapacityStep:
    """One step: ``accounts`` accounts, ``rate`` quotes/s each, breaches for ``seconds``;
    with ``dashboard``, the daemon's API served on its loop and a dashboard in another
    process following its stream (runtime/bench_watcher.py) all the while."""
    names = [f"CAP-{i:04d}=50000" for i in range(accounts)]
    extra = ["--timings", "--rate-limit", "1000000/60", "--walk", f"--walk-interval={1 / rate}"]
    # One event per account: the quotes change every account five times a second, and waking
    # the breach's waiter for each of them would spend the daemon's loop on the bench itself.
    changed: dict[int, asyncio.Event] = {}

    def tell(account_id: int) -> None:
        event = changed.get(account_id)
        if event is not None:
            event.set()

    with tempfile.TemporaryDirectory(prefix="rm-bench-accounts-") as tmp:
        async with (
            spawned_sim(names, extra=extra) as sim,
            aiohttp.ClientSession() as session,
            bootstrap(
                bench_config(sim, Path(tmp) / "bench.sqlite"),
                connect=_lifted,
                listeners=[tell],
            ) as daemon,
            TraderProcess.started(sim.url) as buyer,
            _dashboard(daemon, dashboard) as watcher,
        ):
            trader = BenchTrader(sim.url, session)
            await trader.login()
            contract = await trader.contract()
            await trader.post("/sim/price", {"contractId": contract, "price": PRICE})
            actors = sorted(daemon.actors.values(), key=lambda a: a.account_id)
            changed.update((a.account_id, asyncio.Event()) for a in actors)
            for actor in actors:  # one contract each: at the limit, not over it
                await breach(buyer, daemon, actor, changed[actor.account_id], contract, 0)
            me, simproc = psutil.Process(), psutil.Process(sim.process.pid)
            me.cpu_percent(), simproc.cpu_percent()  # start both counters
            worst = [0.0]
            watch = asyncio.create_task(_lag_watch(LoopLag(), worst))
            await trader.post("/sim/timings/clear", {})
            if watcher is not None:
                watcher.start()  # its counts cover the breaches' window
            breaches = 0
            deadline = time.monotonic() + seconds
            try:
                async with Floors(
                    session, sim.url, Path(tmp) / "floor.sqlite", daemon.session.quotes.first
                ) as floors:
                    while time.monotonic() < deadline:
                        actor = actors[breaches % len(actors)]
                        sent = actor.enforcer.sends + 1
                        await breach(
                            buyer, daemon, actor, changed[actor.account_id], contract, sent
                        )
                        breaches += 1
                        # A round of each floor in the middle of the pause between breaches:
                        # side by side with them, under the same quotes, at the same pace of
                        # breaches, and past most of the breach's own writes and bookkeeping.
                        paused = time.monotonic()
                        await asyncio.sleep(FLOOR_DELAY)
                        await floors.round()
                        left = 1 / BREACHES_PER_S - (time.monotonic() - paused)
                        await asyncio.sleep(max(0.0, left))
                daemon_cpu, sim_cpu = me.cpu_percent(), simproc.cpu_percent()
                timings = await trader.timings()
                watched = None if watcher is None else await watcher.counts()
            finally:
                watch.cancel()
            rest_429 = _rate_limited(daemon.metrics.render().decode())
    latencies = latencies_ms(timings)
    return CapacityStep(
        accounts=accounts,
        events_per_s=rate,
        breaches=breaches,
        enforced=len(latencies),
        p50_ms=round(percentile(latencies, 50), 3),
        p99_ms=round(percentile(latencies, 99), 3),
        floor_p99_ms=round(percentile(floors.bare, 99), 3),
        fsync_floor_p99_ms=round(percentile(floors.fsync, 99), 3),
        loop_lag_ms=round(worst[0] * 1000, 2),
        daemon_cpu_pct=round(daemon_cpu, 1),
        sim_cpu_pct=round(sim_cpu, 1),
        rest_429=rest_429,
        dashboard=watched,
    )


@asynccontextmanager
async def _dashboard(daemon: Daemon, wanted: bool) -> AsyncIterator[WatcherProcess | None]:
    """With ``wanted``: the daemon's API on a free loopback port, as ``risk-manager run``
    serves it, and a dashboard child following its stream; else nothing."""
    if not wanted:
        yield None
        return
    async with (
        running_api(daemon.read_side, daemon.metrics, "127.0.0.1", 0) as api,
        WatcherProcess.started(api.url) as watcher,
    ):
        yield watcher


def _rate_limited(metrics_text: str) -> int:
    """The daemon's ``risk_manager_rest_rate_limited_total`` summed over endpoints."""
    total = 0.0
    for line in metrics_text.splitlines():
        if line.startswith("risk_manager_rest_rate_limited_total"):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


@dataclass(frozen=True, slots=True)
class Capacity:
    """Every step run, the knee (the most accounts that met the target; 0 when none did)
    and what limited the last step run (the one past the knee, or the largest tried)."""

    steps: tuple[CapacityStep, ...]
    knee: int
    limited_by: str

    def summary(self) -> dict[str, Any]:
        return {
            "knee_accounts": self.knee,
            "limited_by": self.limited_by,
            "target_p99_ms": TARGET_P99_MS,
            "steps": [asdict(s) for s in self.steps],
        }


async def run_accounts(
    steps: Sequence[int] = DEFAULT_STEPS,
    seconds: float = 10.0,
    rate: float = 5.0,
    dashboard: bool = False,
) -> Capacity:
    """Run the steps in order until two in a row miss the target (module docstring); with
    ``dashboard``, each step with a dashboard following the daemon's stream."""
    if not steps or min(steps) < 1 or seconds <= 0 or rate <= 0:
        raise ValueError("steps must be >= 1 accounts; seconds and rate > 0")
    logger = logging.getLogger("risk_manager")
    level = logger.level
    logger.setLevel(logging.ERROR)  # the daemon's alerts are noise here
    done: list[CapacityStep] = []
    try:
        for n in sorted(steps):
            step = await run_step(n, seconds, rate, dashboard)
            done.append(step)
            if len(done) >= 2 and not (done[-1].meets_target or done[-2].meets_target):
                break  # two in a row: past the knee, not one noisy step
    finally:
        logger.setLevel(level)
    met = [s.accounts for s in done if s.meets_target]
    return Capacity(tuple(done), max(met, default=0), limiting_factor(done[-1]))
