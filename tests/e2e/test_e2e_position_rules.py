"""End to end, the rules that act on positions and orders without locking the account."""

from __future__ import annotations

import time
from typing import Any

from .conftest import Guard
from .helpers import BUY, LIMIT, SELL, STOP, SimTrader, wait_for


async def test_rule_001_max_contracts_reduces_the_position_that_grew_last(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("  max_contracts: {enabled: true, limit: 2}")
    await trader.open_position("MES", BUY, 1)
    await trader.market("MNQ", SELL, 2)  # 3 contracts gross: MNQ grew last
    await trader.wait_size("MNQ", -1)
    assert await trader.size("MES") == 1
    assert not guard.locks()


async def test_rule_002_max_contracts_per_instrument_and_unlisted_blocked(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("""
  max_contracts_per_instrument: {enabled: true, limits: {MNQ: 1}, unlisted: block}
""")
    await trader.market("MNQ", BUY, 3)
    await trader.wait_size("MNQ", 1)
    await trader.market("MES", BUY, 1)
    await guard.wait_closed_only("MES", "the unlisted MES position closed", kept="MNQ")


async def test_rule_004_daily_unrealized_loss_closes_the_losing_position(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("  daily_unrealized_loss: {enabled: true, limit: 50}")
    await trader.open_position("MES", BUY, 1)
    await guard.hold_and_move("MNQ", BUY, 1, "20970")  # −30.25 points: −$60.50
    await guard.wait_closed_only("MNQ", "the losing MNQ position closed", kept="MES")


async def test_rule_005_max_unrealized_profit_closes_at_the_target(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("  max_unrealized_profit: {enabled: true, target: 50}")
    await guard.hold_and_move("MNQ", SELL, 2, "20987")  # short from 20999.75: +12.75 × 2 × $2
    await trader.wait_flat("MNQ", "the winning MNQ position closed")
    assert await trader.balance() > 50_000  # the profit was taken, fees included
    assert not guard.locks()


async def test_rule_008_no_stop_loss_grace_closes_an_unprotected_position(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("  no_stop_loss_grace: {enabled: true, grace: 1s}")
    opened = time.monotonic()
    await trader.open_position("MES", BUY, 1)
    await trader.stop("MES", SELL, 1, "5990")  # protected: must stay
    await trader.open_position("MNQ", BUY, 1)  # unprotected
    await guard.wait_closed_only("MNQ", "the MNQ position without a stop closed", kept="MES")
    assert time.monotonic() - opened >= 1.0  # not before the grace


async def test_rule_011_symbol_blocks_cancel_and_close_the_blocked_symbol(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start('  symbol_blocks: {enabled: true, blocked: ["M?S", "CL*"]}')
    await trader.open_position("MNQ", BUY, 1)
    order = await trader.limit("MES", BUY, 1, "5900")
    await trader.wait_cancelled(order)
    await trader.market("MES", SELL, 1)
    await guard.wait_closed_only("MES", "the blocked MES position closed", kept="MNQ")


async def test_rule_012_trade_management_places_moves_and_clears_our_orders(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("""
  trade_management:
    enabled: true
    stop_loss_ticks: 8
    take_profit_ticks: 40
    breakeven: {trigger_ticks: 8, offset_ticks: 2}
""")
    await trader.open_position("MNQ", BUY, 1)  # filled at the ask, 21000.25

    async def ours() -> dict[int, dict[str, Any]] | None:
        orders = await trader.working_orders()
        found = {o["type"]: o for o in orders if str(o.get("customTag")).startswith("rm-")}
        return found if len(found) == 2 else None

    placed = await wait_for(ours, "our stop and target working")
    stop, target = placed[STOP], placed[LIMIT]
    assert (stop["side"], stop["size"], stop["stopPrice"]) == (SELL, 1, 20998.25)
    assert (target["side"], target["size"], target["limitPrice"]) == (SELL, 1, 21010.25)

    await guard.wait_quoted("MNQ", "21000")
    await trader.set_price("MNQ", "21003")  # +11 ticks ≥ 8: stop to breakeven + 2 ticks

    async def at_breakeven() -> bool:
        return bool((await trader.order(int(stop["id"])))["stopPrice"] == 21000.75)

    await wait_for(at_breakeven, "our stop moved to breakeven + 2 ticks")
    await trader.set_price("MNQ", "21010.25")  # the target fills
    await trader.wait_flat("MNQ", "the position closed by our target")
    await trader.wait_cancelled(int(stop["id"]))


async def test_rule_012_trailing_stop_follows_the_best_price_and_never_loosens(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("""
  trade_management:
    enabled: true
    stop_loss_ticks: 8
    trailing: {activate_ticks: 4, trail_ticks: 4}
""")
    await guard.hold_and_move("MNQ", BUY, 1, "21005")  # long from 21000.25; best 21005

    async def stop_at(price: float) -> bool:
        stops = [o for o in await trader.working_orders() if o["type"] == STOP]
        return [o["stopPrice"] for o in stops] == [price]

    await wait_for(lambda: stop_at(21004.0), "our stop trailing 4 ticks behind 21005")
    await trader.set_price("MNQ", "21004.5")  # a pull-back: the stop stays
    await trader.set_price("MNQ", "21004")  # and fills
    await trader.wait_flat("MNQ", "the position closed by our trailed stop")
    assert await trader.balance() > 50_000  # exited in profit (+3.75 points less fees)
