"""Rule state across a daemon restart, end to end through the simulator over real sockets
(docs/ENGINE.md "Restarts"): a second ``guard.start`` on the same store is a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from risk_manager.config.errors import ConfigError
from risk_manager.domain.locks import LockKind
from risk_manager.engine.view import AccountView
from risk_manager.sim.server import SimServer, SimSettings, running_sim

from .conftest import Guard
from .helpers import BUY, SELL, STOP, SimTrader, wait_for

MNQ_POINT = Decimal(2)  # USD per point


def view(guard: Guard, account_id: int | None = None) -> AccountView:
    acct = guard.trader.account_id if account_id is None else account_id
    return guard.daemon.actors[acct].engine.view(acct, datetime.now(UTC))


async def seen_balance(guard: Guard, balance: Decimal) -> AccountView:
    async def seen() -> AccountView | None:
        v = view(guard)
        return v if v.balance == balance else None

    return await wait_for(seen, f"the daemon seeing the balance {balance}")


async def test_rule_016_floor_holds_across_a_restart(guard: Guard, trader: SimTrader) -> None:
    rules = "  trailing_drawdown: {enabled: true, max_drawdown: 100, mode: intraday}"
    await guard.start(rules)
    await trader.round_trip("MNQ", BUY, 1, "21030")  # a win: the peak rises
    peak = await trader.balance()
    await seen_balance(guard, peak)
    await trader.round_trip("MNQ", BUY, 1, "20985")  # a loss: the balance falls below the peak
    balance = await trader.balance()
    before = (await seen_balance(guard, balance)).drawdown
    assert before is not None and before.peak == peak and before.floor == peak - 100
    await guard.stop()

    await guard.start(rules)  # the restart: the first balance seen is below the peak
    after = (await seen_balance(guard, balance)).drawdown
    assert after is not None and (after.peak, after.floor) == (peak, peak - 100)
    # Equity 5 below the remembered floor, yet well above a floor recomputed from the
    # balance seen after the restart (balance − 100): the lock must come.
    await trader.open_position("MNQ", BUY, 1)
    await guard.wait_quoted("MNQ", "21000.25")
    (held,) = view(guard).positions
    avg = held.position.average_price
    drop = (balance - (peak - 100 - 5)) / MNQ_POINT
    price = ((avg - drop) / Decimal("0.25")).to_integral_value(ROUND_FLOOR) * Decimal("0.25")
    assert price - avg > -Decimal(50)  # the move is smaller than the full 100 drawdown
    await trader.set_price("MNQ", str(price))
    lock = await guard.wait_lock("trailing_drawdown")
    assert f"floor {peak - 100:.2f}" in lock.reason
    await trader.wait_flat("MNQ")


async def test_soft_lock_baseline_holds_across_a_restart(guard: Guard, trader: SimTrader) -> None:
    rules = "  trade_frequency_limit: {enabled: true, per_minute: 2, flatten: false}"
    await guard.start(rules)
    await trader.open_position("MNQ", BUY, 2)
    await trader.market("MNQ", BUY, 1)
    await trader.market("MNQ", SELL, 1)  # the third fill: soft lock, 2 lots held
    await guard.wait_lock("trade_frequency_limit", LockKind.SOFT)
    assert await trader.size("MNQ") == 2
    await guard.stop()

    await guard.start(rules)  # the soft lock is restored; 2 lots are still held

    async def restored() -> bool:
        v = view(guard)
        return v.locked and [p.position.size for p in v.positions] == [2]

    await wait_for(restored, "the restored soft lock and the 2 lots in the daemon's book")
    fills = len((await trader.state())["trades"])
    await trader.market("MNQ", BUY, 1)  # an entry after the restart is reduced back to 2 ...

    async def reduced() -> bool:
        trades = (await trader.state())["trades"][fills:]
        return [(t["side"], t["size"]) for t in trades] == [(BUY, 1), (SELL, 1)]

    await wait_for(reduced, "the entry after the restart reduced by the soft lock")
    assert await trader.size("MNQ") == 2  # ... not to 0: the lots held before are the baseline


STOPS_8 = "  trade_management: {enabled: true, stop_loss_ticks: 8}"


async def our_stop(trader: SimTrader) -> dict[str, Any] | None:
    """The one stop working at the simulator (None: none, or more than one)."""
    stops = [o for o in await trader.working_orders() if o["type"] == STOP]
    return stops[0] if len(stops) == 1 else None


async def stop_then_flat(guard: Guard, trader: SimTrader) -> dict[str, Any]:
    """A first run: a position gets our stop, the trader exits (the stop is cancelled), the
    daemon stops. Returns that stop (its tag is used on the account for good)."""

    await guard.start(STOPS_8)
    await trader.open_position("MNQ", BUY, 1)
    first = await wait_for(partial(our_stop, trader), "our first stop working")
    await trader.market("MNQ", SELL, 1)
    await trader.wait_flat("MNQ")
    await trader.wait_cancelled(int(first["id"]))
    await guard.stop()
    return first


async def next_stop(guard: Guard, trader: SimTrader) -> dict[str, Any]:
    """After the restart: the first position's stop, as the simulator holds it."""

    await guard.start(STOPS_8)
    await trader.open_position("MNQ", BUY, 1)
    return await wait_for(
        partial(our_stop, trader), "a stop for the first position after the restart"
    )


async def test_rule_012_places_the_stop_for_the_first_position_after_a_restart(
    guard: Guard, trader: SimTrader
) -> None:
    first = await stop_then_flat(guard, trader)
    second = await next_stop(guard, trader)
    assert second["customTag"] != first["customTag"]  # the gateway refuses a repeated tag
    assert second["side"] == SELL and second["size"] == 1
    assert int(second["id"]) in view(guard).our_orders


async def test_rule_012_places_a_stop_after_a_restart_on_a_new_store(
    guard: Guard, trader: SimTrader
) -> None:
    first = await stop_then_flat(guard, trader)
    guard.db = guard.db.with_name("new-store.sqlite")  # the old store is gone
    second = await next_stop(guard, trader)  # before: rm-sl-<account>-1 again, refused
    assert second["customTag"] != first["customTag"]


# -- two accounts of different sizes on one key -----------------------------------------------


@pytest.fixture
async def two_sizes() -> AsyncIterator[SimServer]:
    accounts = (("SIM-50K", Decimal(50000)), ("SIM-150K", Decimal(150000)))
    async with running_sim(SimSettings(port=0, accounts=accounts)) as server:
        yield server


async def test_two_accounts_of_different_sizes_get_their_own_floors(
    two_sizes: SimServer, tmp_path: Path
) -> None:
    async with aiohttp.ClientSession() as session:
        small = SimTrader(session, two_sizes.url)
        await small.login()
        big = SimTrader(session, two_sizes.url)
        await big.login()
        ids = [int(a["id"]) for a in (await big.state())["accounts"]]
        big.account_id = next(i for i in ids if i != small.account_id)
        guard = Guard(two_sizes, big, tmp_path / "rm.sqlite")
        shared = "  trailing_drawdown: {enabled: true, max_drawdown: 2000, mode: intraday, "
        with pytest.raises(ConfigError, match="starting_balance: 50000 would apply"):
            await guard.start(shared + "starting_balance: 50000}")
        try:
            await guard.start(shared + "starting_balance: null}", serve_api=True)
            accounts = (await guard.api("accounts"))["accounts"]
            floors = {a["id"]: a["trailing_drawdown"] for a in accounts}
            assert floors[small.account_id]["floor"] == "48000.00"
            assert floors[big.account_id]["floor"] == "148000.00"
            assert floors[big.account_id]["start_source"] == "first_balance"
            await guard.hold_and_move("NQ", BUY, 1, "20899")  # about −2,000 on the 150K
            await guard.wait_lock("trailing_drawdown")
            await big.wait_flat("NQ")
            now = datetime.now(UTC)
            assert not guard.daemon.store.active_locks(now, small.account_id)
        finally:
            await guard.stop()
