"""End to end, the rules that lock: each breach is made by trading on the simulator, the
enforcement is read back from the simulator, and the lock from the daemon's store."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from risk_manager.domain.locks import Lock, LockKind

from .conftest import Guard
from .helpers import BUY, SELL, SimTrader, wait_for

CHICAGO = ZoneInfo("America/Chicago")


def assert_ends_at_reset(lock: Lock, guard: Guard) -> None:
    calendar = guard.daemon.calendar
    assert calendar is not None
    assert lock.ends_at == calendar.next_reset(lock.created_at)
    assert lock.ends_at.astimezone(CHICAGO).time() == time(17, 0)


async def test_rule_003_daily_realized_loss_flattens_and_locks_until_reset(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("  daily_realized_loss: {enabled: true, limit: 100}", serve_api=True)
    await trader.limit("MNQ", BUY, 1, "20000")  # a resting order the flatten must cancel
    await trader.round_trip("MNQ", BUY, 2, "20950")  # about −100.5 points × $2 × 2 − fees
    lock = await guard.wait_lock("daily_realized_loss")
    assert "−" in lock.reason and "≤ −100.00" in lock.reason
    assert_ends_at_reset(lock, guard)

    async def no_orders() -> bool:
        return not await trader.working_orders()

    # The lock row lands before the flatten is journalled and sent (locks first, durably:
    # runtime/actor.py), so the cancel follows the row by a few commits: seen within the
    # deadline, not necessarily at the poll that found the row.
    await wait_for(no_orders, "the resting order cancelled by the flatten")
    await guard.assert_locked_out("MNQ", "20900")

    # The local API shows it too (its views are refreshed every 0.2 s): the lock, and the
    # flatten in the enforcement log.
    async def shown() -> dict[str, Any] | None:
        view: dict[str, Any] = await guard.api(f"accounts/{trader.account_id}")
        return view if view["locked"] else None

    view = await wait_for(shown, "the API showing the lock")
    assert [k["rule"] for k in view["locks"]] == ["daily_realized_loss"]
    log = await guard.api(f"enforcements?account={trader.account_id}&limit=500")
    assert any(
        e["rule"] == "daily_realized_loss" and e["kind"] == "flatten" for e in log["enforcements"]
    )


async def test_a_lock_survives_a_restart_and_is_enforced_at_once(
    guard: Guard, trader: SimTrader
) -> None:
    rules = "  daily_realized_loss: {enabled: true, limit: 100}"
    await guard.start(rules)
    await trader.round_trip("MNQ", BUY, 2, "20950")
    lock = await guard.wait_lock("daily_realized_loss")
    await trader.wait_flat("MNQ")
    await guard.stop()
    await trader.limit("MNQ", BUY, 1, "20000")  # while the guard is down
    await trader.market("MNQ", BUY, 1)
    await guard.start(rules)  # reconciles from REST: the lock is found and enforced
    await trader.wait_flat("MNQ", "the position opened while the daemon was down closed")

    async def no_orders() -> bool:
        return not await trader.working_orders()

    await wait_for(no_orders, "the order placed while the daemon was down cancelled")
    assert [k.id for k in guard.rule_locks("daily_realized_loss")] == [lock.id]


async def test_rule_006_trade_frequency_limit_locks_for_the_cooldown(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("""
  trade_frequency_limit:
    enabled: true
    per_minute: 2
    cooldown: {per_minute: 5m}
""")
    await trader.open_position("MNQ", BUY, 1)
    await trader.market("MNQ", SELL, 1)
    await trader.market("MNQ", BUY, 1)  # the third fill in a minute: over the limit
    lock = await guard.wait_lock("trade_frequency_limit")
    assert "3 fills per minute > 2" in lock.reason
    assert lock.ends_at is not None
    assert timedelta(minutes=4) < lock.ends_at - lock.created_at <= timedelta(minutes=5)
    await trader.wait_flat("MNQ", "the position of the breaking fill closed")
    await guard.assert_locked_out("MNQ", "20900")


async def test_rule_006_soft_lock_blocks_entries_but_allows_exits(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("  trade_frequency_limit: {enabled: true, per_minute: 2, flatten: false}")
    await trader.open_position("MNQ", BUY, 2)
    await trader.market("MNQ", BUY, 1)
    order = await trader.limit("MNQ", BUY, 1, "20000")
    await trader.market("MNQ", SELL, 1)  # the third fill (an exit): soft lock, 2 lots held
    await guard.wait_lock("trade_frequency_limit", LockKind.SOFT)
    await trader.wait_cancelled(order)
    assert await trader.size("MNQ") == 2  # a soft lock does not flatten
    await trader.market("MNQ", BUY, 2)  # an entry is reduced back
    await trader.wait_size("MNQ", 2)
    await trader.market("MNQ", SELL, 1)  # an exit is allowed
    await trader.wait_size("MNQ", 1)
    # Every later fill in the minute is over the limit too (one lock row each, all soft).
    assert {(lock.rule, lock.kind) for lock in guard.locks()} == {
        ("trade_frequency_limit", LockKind.SOFT)
    }


async def test_rule_007_cooldown_after_loss_locks_for_the_tier(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("""
  cooldown_after_loss:
    enabled: true
    tiers: [{loss: 20, cooldown: 2m}, {loss: 50, cooldown: 10m}]
""")
    await trader.round_trip("MNQ", BUY, 1, "20985")  # −15.25 points: −$30.50 − fees
    lock = await guard.wait_lock("cooldown_after_loss")
    assert lock.ends_at is not None
    assert timedelta(minutes=1) < lock.ends_at - lock.created_at <= timedelta(minutes=2)
    await guard.assert_locked_out("MNQ", "20900")


async def test_rule_013_daily_realized_profit_locks_until_reset(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("  daily_realized_profit: {enabled: true, target: 50}")
    await trader.round_trip("MNQ", BUY, 1, "21050")  # +49.5 points: $99 − fees
    lock = await guard.wait_lock("daily_realized_profit")
    assert_ends_at_reset(lock, guard)
    await guard.assert_locked_out("MNQ", "20900")


async def test_rule_014_weekly_realized_loss_locks_until_the_weekly_reset(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("  weekly_realized_loss: {enabled: true, limit: 100}")
    await trader.round_trip("MNQ", SELL, 1, "21060")  # short, −60 points: −$120 − fees
    lock = await guard.wait_lock("weekly_realized_loss")
    calendar = guard.daemon.calendar
    assert calendar is not None
    assert lock.ends_at == calendar.next_weekly_reset(lock.created_at)
    assert lock.ends_at.astimezone(CHICAGO).strftime("%a %H:%M") == "Sun 17:00"
    await guard.assert_locked_out("MNQ", "20900")


async def test_rule_015_daily_net_loss_counts_the_open_loss(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("  daily_net_loss: {enabled: true, limit: 50}")
    await guard.hold_and_move("MNQ", BUY, 1, "20970")  # unrealized −$60.50, nothing realized
    lock = await guard.wait_lock("daily_net_loss")
    await trader.wait_flat("MNQ")
    assert_ends_at_reset(lock, guard)
    await guard.assert_locked_out("MNQ", "20900")


async def test_rule_016_trailing_drawdown_locks_until_cleared(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("  trailing_drawdown: {enabled: true, max_drawdown: 100, mode: intraday}")
    await guard.hold_and_move("MNQ", BUY, 2, "20975")  # −25.25 × 2 × $2 = −$101 from 50 000
    lock = await guard.wait_lock("trailing_drawdown")
    assert lock.ends_at is None  # only an admin ends it
    assert "floor 49,900.00" in lock.reason or "floor 49900.00" in lock.reason
    await trader.wait_flat("MNQ")
    await guard.assert_locked_out("MNQ", "20900")
