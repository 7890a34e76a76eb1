"""Load: 10 accounts, every rule on, gateway events at ``LOAD_RATE`` per second combined
(default 1,000) for ``LOAD_SECONDS`` (default 10 in ``make test``; ``make load`` runs 60), with
breaches spread over half the accounts while the stream runs.

The simulator runs in this process and publishes the quotes on its market hub (real
WebSocket, real SignalR records) on the contracts the accounts hold, each at the market's
price give or take a few ticks; each breached account trades seven fills in a row over REST
(RULE-006, five a minute), which the daemon must answer with a hard lock and a flatten.

Checked: every breached account locked and flat, each within the deadline (enforced
independently: the accounts not breached keep their position and have no lock); no deadlock
(the daemon still answers after the stream); no queue growth (every actor's queue depth,
sampled every 50 ms, stays under ``MAX_DEPTH``, and is drained at the end). Printed, not
asserted (the machine is shared): the rate achieved, breach-to-lock times and the daemon's
event-to-action percentiles from its own histogram. ``pytest -s`` shows them.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from risk_manager.domain.locks import LockKind
from risk_manager.runtime.daemon import GC_YOUNG_THRESHOLD, SWITCH_INTERVAL, Daemon
from risk_manager.sim.server import SimServer, SimSettings, running_sim

from .conftest import Guard
from .helpers import BUY, DEADLINE, SELL, SimTrader, wait_for

SECONDS = float(os.environ.get("LOAD_SECONDS", "10"))
RATE = int(os.environ.get("LOAD_RATE", "1000"))
ACCOUNTS = 10
BREACHED = range(0, ACCOUNTS, 2)  # every other account breaks a rule while the stream runs
SYMBOLS = ("MNQ", "MES", "NQ", "ES", "M2K")  # one per account, two accounts a symbol
MAX_DEPTH = 2_000  # of the actor queue's 10,000: far above a healthy backlog, far below full
EVERY_DAY = "[mon, tue, wed, thu, fri, sat, sun]"


def every_rule() -> str:
    """Every rule on, at limits the stream itself never reaches; RULE-006 is the breach."""
    now = datetime.now(ZoneInfo("America/Chicago"))
    opens, closes = now - timedelta(hours=2), now + timedelta(hours=4)
    return f"""
  max_contracts: {{enabled: true, limit: 5}}
  max_contracts_per_instrument: {{enabled: true, limits: {{NQ: 3, ES: 3}}, unlisted: allow}}
  daily_realized_loss: {{enabled: true, limit: 5000}}
  daily_unrealized_loss: {{enabled: true, limit: 5000}}
  max_unrealized_profit: {{enabled: true, target: 5000}}
  trade_frequency_limit: {{enabled: true, per_minute: 5, per_hour: 100, per_session: 200}}
  cooldown_after_loss: {{enabled: true, tiers: [{{loss: 5000, cooldown: 5m}}]}}
  no_stop_loss_grace: {{enabled: true, grace: 30m}}
  session_block_outside:
    enabled: true
    holidays: false
    sessions: [{{start: "{opens:%H:%M}", end: "{closes:%H:%M}", days: {EVERY_DAY}}}]
  auth_loss_guard: {{enabled: true, max_gap: 30s}}
  symbol_blocks: {{enabled: true, blocked: ["CL*"]}}
  trade_management: {{enabled: true, stop_loss_ticks: 400, take_profit_ticks: 800}}
  daily_realized_profit: {{enabled: true, target: 5000}}
  weekly_realized_loss: {{enabled: true, limit: 10000}}
  daily_net_loss: {{enabled: true, limit: 5000}}
  trailing_drawdown: {{enabled: true, max_drawdown: 10000}}
"""


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    accounts = tuple((f"LOAD-{i:02d}", Decimal(150_000)) for i in range(ACCOUNTS))
    async with running_sim(SimSettings(port=0, accounts=accounts)) as server:
        yield server


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def _histogram_percentiles(daemon: Daemon) -> str:
    """p50/p99 of ``event_to_action_seconds`` from its buckets (upper bounds), in ms."""
    buckets: list[tuple[float, float]] = []
    for line in daemon.metrics.render().decode().splitlines():
        if line.startswith("risk_manager_event_to_action_seconds_bucket{"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(bound), float(line.rsplit(" ", 1)[1])))
    total = buckets[-1][1] if buckets else 0.0
    if not total:
        return "no event led to an action"
    top = max(b for b, _ in buckets if b != float("inf"))

    def shown(p: int) -> str:
        bound = next(b for b, n in buckets if n >= total * p / 100)
        return f"> {top * 1000:g} ms" if bound == float("inf") else f"<= {bound * 1000:g} ms"

    return f"p50 {shown(50)}, p99 {shown(99)} ({total:.0f} actions)"


def _quotes_processed(daemon: Daemon) -> float:
    for line in daemon.metrics.render().decode().splitlines():
        if line.startswith('risk_manager_events_processed_total{kind="QuoteEvent"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_ten_accounts_under_load_each_breach_enforced_alone(
    guard: Guard, sim: SimServer, trader: SimTrader
) -> None:
    daemon = await guard.start(every_rule())
    ids = sorted(daemon.actors)
    assert len(ids) == ACCOUNTS
    traders: dict[int, SimTrader] = {}
    holds: dict[int, str] = {}
    for i, account_id in enumerate(ids):
        t = traders[account_id] = SimTrader(trader.session, trader.url)
        await t.login()
        t.account_id = account_id
        holds[account_id] = SYMBOLS[i % len(SYMBOLS)]
        await t.open_position(holds[account_id], BUY, 1)
    contracts = [await trader.contract(s) for s in SYMBOLS]

    async def quoted() -> bool:  # the market hub subscribed to every held contract
        return all(daemon.actors[a].contracts() for a in ids)

    await wait_for(quoted, "every account's contract known to the daemon")

    depths: list[int] = []
    sent, total = 0, int(RATE * SECONDS)
    stop = asyncio.Event()

    async def sample_depths() -> None:
        while not stop.is_set():
            depths.append(max(daemon.actors[a].queue.qsize() for a in ids))
            await asyncio.sleep(0.05)

    async def stream() -> None:
        """Exactly ``RATE * SECONDS`` quotes, paced to ``RATE`` a second (late ones catch up)."""
        nonlocal sent
        rng = random.Random(16)
        started = time.monotonic()
        markets = sim.exchange.markets
        while sent < total:
            due = min(total, int(RATE * (time.monotonic() - started)) + 1)
            while sent < due:
                cid = contracts[sent % len(contracts)]
                last = markets.market(cid).last + Decimal(rng.randint(-4, 4)) / 4
                await sim.hubs.publish_quote(
                    cid, {"lastPrice": float(last), "bestBid": float(last - Decimal("0.25")),
                          "bestAsk": float(last + Decimal("0.25"))},
                )  # fmt: skip
                sent += 1
            await asyncio.sleep(0.005)

    enforced: dict[int, float] = {}

    async def breach(account_id: int, at: float) -> None:
        await asyncio.sleep(at)
        t, symbol = traders[account_id], holds[account_id]
        for n in range(7):  # seven fills in a row: over RULE-006's five a minute
            await t.market(symbol, SELL if n % 2 == 0 else BUY, 1)
        placed = time.monotonic()

        async def locked_and_flat() -> bool:
            now = datetime.now(UTC)
            locks = daemon.store.active_locks(now, account_id)
            held = any(k.rule == "trade_frequency_limit" and k.kind is LockKind.HARD for k in locks)
            return held and not await t.positions() and not await t.working_orders()

        await wait_for(locked_and_flat, f"account {account_id} locked and flat", within=DEADLINE)
        enforced[account_id] = time.monotonic() - placed

    sampler = asyncio.create_task(sample_depths())
    began = time.monotonic()
    spacing = SECONDS / (len(BREACHED) + 1)
    breaches = [breach(ids[i], spacing * (k + 1)) for k, i in enumerate(BREACHED)]
    await asyncio.gather(stream(), *breaches)
    took = time.monotonic() - began

    async def drained() -> bool:
        return all(daemon.actors[a].queue.qsize() == 0 for a in ids)

    await wait_for(drained, "every actor's queue drained after the stream")
    stop.set()
    await sampler

    quotes = _quotes_processed(daemon)
    assert sent == total and quotes >= total  # each quote reached one or two accounts' engines
    assert sorted(enforced) == sorted(ids[i] for i in BREACHED)
    for i, account_id in enumerate(ids):
        if i in BREACHED:
            continue  # independence: a neighbour's breach did nothing to this account
        assert not daemon.store.active_locks(datetime.now(UTC), account_id), account_id
        assert await traders[account_id].positions() == {contracts[i % len(SYMBOLS)]: 1}
    assert max(depths) < MAX_DEPTH, f"actor queues grew to {max(depths)}"
    assert all(not task.done() for task in daemon.tasks), "a long-running task died"

    times = sorted(enforced.values())
    print(
        f"\nload: {ACCOUNTS} accounts, every rule on, {sent} quotes in {took:.1f} s "
        f"({sent / took:.0f}/s achieved of {RATE}/s asked; {quotes:.0f} quote events "
        f"processed by the accounts' engines), {len(enforced)} breaches\n"
        f"  breach (7th fill sent) to locked and flat, seen by polling every 50 ms: "
        f"p50 {_percentile(times, 50) * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms\n"
        f"  event to action (daemon histogram): {_histogram_percentiles(daemon)}\n"
        f"  deepest actor queue sampled: {max(depths)} (of 10,000), {len(depths)} samples"
    )


async def test_what_the_start_built_is_kept_out_of_the_collectors_full_passes(
    guard: Guard,
) -> None:
    """Once guarding, every account's engine and actor are frozen out of the cyclic garbage
    collector: its full passes walked them all in one loop callback (102 - 108 ms of CPU at
    500 accounts, amid the breaches; PERFORMANCE.md "Capacity")."""
    daemon = await guard.start(every_rule())
    walked = {id(o) for o in gc.get_objects()}  # what a full pass walks (frozen ones are not)
    for actor in daemon.actors.values():
        assert id(actor) not in walked and id(actor.engine) not in walked
    assert gc.get_freeze_count() >= 2 * len(daemon.actors)


async def test_a_thread_waits_for_the_loop_a_tenth_of_pythons_switch_interval(
    guard: Guard,
) -> None:
    """Once guarding, a thread waiting for the GIL (the journal's write before a send) waits
    at most ``SWITCH_INTERVAL`` (0.5 ms) for the busy loop's thread to hand it over, not
    Python's 5 ms per take (PERFORMANCE.md "Capacity"); the stop gives the process its own
    interval back."""
    before = sys.getswitchinterval()
    assert before > SWITCH_INTERVAL  # the test's process runs with Python's default
    await guard.start(every_rule())
    assert sys.getswitchinterval() == SWITCH_INTERVAL
    await guard.stop()
    assert sys.getswitchinterval() == before


async def test_the_young_generation_is_collected_less_often_while_guarding(
    guard: Guard,
) -> None:
    """Once guarding, the collector's youngest generation waits for ``GC_YOUNG_THRESHOLD``
    new container objects, not Python's 700: at 500 accounts each of its collections walked
    ~7,000 live young objects, a hundred times in 30 s of breaches (PERFORMANCE.md
    "Capacity"); the older generations' thresholds are left as they were, and the stop gives
    the process its own back."""
    before = gc.get_threshold()
    assert before[0] < GC_YOUNG_THRESHOLD  # the test's process runs with Python's default
    await guard.start(every_rule())
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
    await guard.stop()
    assert gc.get_threshold() == before
