"""End to end under broker faults (RULES.md §5): enforcement never gives up while a rule or a
lock requires it, and it is idempotent against the broker. Over real sockets against the
simulator, with its fault switches (`/sim/fault`)."""

from __future__ import annotations

import asyncio
import time

from .conftest import Guard
from .helpers import BUY, SELL, SimTrader, wait_for

CLOSE = "/api/Position/closeContract"


async def _sells(trader: SimTrader, symbol: str) -> list[dict[str, object]]:
    cid = await trader.contract(symbol)
    state = await trader.state()
    return [t for t in state["trades"] if t["contractId"] == cid and t["side"] == SELL]


async def test_a_close_refused_by_a_burst_of_500s_lands_and_a_re_entry_is_closed_too(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("  daily_net_loss: {enabled: true, limit: 50}")
    await trader.fault("http_status", path=CLOSE, status=500, count=8)
    await guard.hold_and_move("MNQ", BUY, 1, "20970")  # −$60.50: flatten, locked
    await guard.wait_lock("daily_net_loss")

    async def flat() -> bool:
        return await trader.size("MNQ") == 0

    # one close task (the lock's own close of a position its flatten is closing is not sent
    # again): eight refusals spaced 0.25 s doubling to 5 s with jitter take 9 to 18 s
    await wait_for(flat, "flat after eight refused closes", within=30)
    await trader.fault("http_status", path=CLOSE, status=500, count=4)
    await trader.market("MNQ", BUY, 1)  # a re-entry under the lock, closes refused again
    await trader.wait_flat("MNQ", "the re-entry closed after four refused closes")


async def test_a_rest_outage_of_3s_is_outlasted(guard: Guard, trader: SimTrader) -> None:
    await guard.start("  daily_net_loss: {enabled: true, limit: 50}")
    await trader.fault("http_status", path=CLOSE, status=503, count=10_000)
    await guard.hold_and_move("MNQ", BUY, 1, "20970")
    await guard.wait_lock("daily_net_loss")
    await asyncio.sleep(3)  # the outage lasts 3 s: the guard keeps trying through it, paced
    assert await trader.size("MNQ") == 1
    guard.sim.faults.clear()  # the gateway comes back
    await trader.wait_flat("MNQ", "flat within the backoff cap of the recovery")


async def test_a_slow_partial_close_is_sent_once(guard: Guard, trader: SimTrader) -> None:
    """limit 2, buy 4 with every reply 3 s late: one sell of 2, the account ends long 2."""
    await guard.start("  max_contracts: {enabled: true, limit: 2}")
    await trader.fault("latency", ms=3000)
    await trader.market("MNQ", BUY, 4)

    async def reduced() -> bool:
        return await trader.size("MNQ") == 2 and len(await _sells(trader, "MNQ")) == 1

    await wait_for(reduced, "long 2 after one sell", within=20)
    guard.sim.faults.clear()
    await asyncio.sleep(3)  # a negative: a second close (3 s late) would have landed by now
    assert await trader.size("MNQ") == 2
    assert len(await _sells(trader, "MNQ")) == 1


async def test_a_429_storm_on_close_is_outlasted(guard: Guard, trader: SimTrader) -> None:
    await guard.start("  daily_net_loss: {enabled: true, limit: 50}")
    await trader.fault("http_status", path=CLOSE, status=429, count=6)
    await guard.hold_and_move("MNQ", BUY, 1, "20970")
    await guard.wait_lock("daily_net_loss")

    async def flat() -> bool:
        return await trader.size("MNQ") == 0

    # each 429 holds every request 1-4 s (the transport's pacing): flat once the storm ends
    await wait_for(flat, "flat after a storm of 429s", within=40)


async def test_refused_cancels_are_retried_until_the_order_is_gone(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("  symbol_blocks: {enabled: true, blocked: [RTY]}")
    await trader.fault("http_status", path="/api/Order/cancel", status=500, count=6)
    order = await trader.limit("RTY", BUY, 1, "1000")

    async def cancelled() -> bool:
        status: int = (await trader.order(order))["status"]
        return status == 3

    # six refusals spaced by the backoff (≤ 5 s each): cancelled within the cap of the last
    await wait_for(cancelled, "the blocked order cancelled after six refusals", within=25)


# What the enforcer calls for a hard lock: the close, the cancel, and the reads before each try.
OUTAGE = (CLOSE, "/api/Order/cancel", "/api/Position/searchOpen", "/api/Order/searchOpen")
RECOVERED_WITHIN = 8.0  # the retry cap (5 s) with its jitter, plus the polling


async def test_a_rest_outage_of_30s_on_close_and_cancel_is_outlasted(
    guard: Guard, trader: SimTrader
) -> None:
    """A 30 s outage with a position, a working order and a re-entry made inside the outage:
    all dealt with a few seconds after the gateway comes back (a 30 s circuit breaker once kept
    the recovered gateway unused)."""
    await guard.start("  daily_net_loss: {enabled: true, limit: 50}")
    order = await trader.limit("RTY", BUY, 1, "1000")
    for path in OUTAGE:
        await trader.fault("http_status", path=path, status=503, count=1_000_000)
    started = time.monotonic()
    await guard.hold_and_move("MNQ", BUY, 1, "20970")
    await guard.wait_lock("daily_net_loss")
    await trader.market("MNQ", BUY, 1)  # a re-entry under the lock, inside the outage
    await asyncio.sleep(max(0.0, 30 - (time.monotonic() - started)))
    assert await trader.size("MNQ") == 2, "nothing can be closed during the outage"
    guard.sim.faults.clear()  # the gateway comes back

    async def dealt_with() -> bool:
        flat = await trader.size("MNQ") == 0
        return flat and (await trader.order(order))["status"] == 3

    await wait_for(dealt_with, "flat and the order cancelled", within=RECOVERED_WITHIN)
