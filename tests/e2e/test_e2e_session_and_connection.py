"""End to end, the rules driven by the clock and the connection: sessions (RULE-009) and the
auth / connection guard (RULE-010)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from risk_manager.domain.locks import LockKind

from .conftest import Guard
from .helpers import BUY, SimTrader, wait_for

CHICAGO = ZoneInfo("America/Chicago")
EVERY_DAY = "[mon, tue, wed, thu, fri, sat, sun]"


def session(start: timedelta, end: timedelta) -> tuple[str, datetime]:
    """A session rule whose one window runs from now + ``start`` to now + ``end`` (Chicago,
    whole minutes), and the instant that window starts. Skips the test within a few hours
    of a DST change: the rule reads a wall time as its first occurrence, so around the
    November fall-back the window's HH:MM would name an instant an hour away."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    offsets = {(now + timedelta(hours=h)).astimezone(CHICAGO).utcoffset() for h in (-2, 4)}
    if len(offsets) > 1:
        pytest.skip(f"a DST change in Chicago within hours of {now:%Y-%m-%d %H:%M} UTC")
    opens, closes = (now + start).astimezone(CHICAGO), (now + end).astimezone(CHICAGO)
    rules = f"""
  session_block_outside:
    enabled: true
    holidays: false
    sessions: [{{start: "{opens:%H:%M}", end: "{closes:%H:%M}", days: {EVERY_DAY}}}]
"""
    return rules, opens


async def test_rule_009_outside_the_session_flattens_and_locks_until_it_opens(
    guard: Guard, trader: SimTrader
) -> None:
    rules, opens = session(timedelta(hours=2), timedelta(hours=3))
    await guard.start(rules)
    await trader.limit("MNQ", BUY, 1, "20000")
    await trader.market("MNQ", BUY, 1)
    lock = await guard.wait_lock("session_block_outside")
    await trader.wait_flat("MNQ")
    assert lock.ends_at == opens.astimezone(UTC)
    await guard.assert_locked_out("MNQ", "20900")


async def test_rule_009_near_the_session_end_entries_are_blocked(
    guard: Guard, trader: SimTrader
) -> None:
    rules, _ = session(timedelta(hours=-1), timedelta(minutes=4))
    await guard.start(rules + "    block_entries_before: 10m\n    flatten_before: 1m\n")
    lock = await guard.wait_lock("session_block_outside", LockKind.SOFT)
    assert lock.ends_at is not None
    assert timedelta(minutes=2) < lock.ends_at - datetime.now(UTC) <= timedelta(minutes=4)
    order = await trader.limit("MNQ", BUY, 1, "20000")
    await trader.wait_cancelled(order)
    await trader.market("MNQ", BUY, 1)
    await trader.wait_flat("MNQ", "the entry made in the last minutes reduced back")


async def test_rule_009_flatten_before_the_session_end(guard: Guard, trader: SimTrader) -> None:
    rules, _ = session(timedelta(hours=-1), timedelta(minutes=4))
    await trader.limit("MNQ", BUY, 1, "20000")
    await trader.open_position("MNQ", BUY, 1)  # before the guard starts
    await guard.start(rules + "    flatten_before: 5m\n")
    await trader.wait_flat("MNQ", "the position flattened 5 minutes before the session end")
    assert not await trader.working_orders()
    await guard.wait_lock("session_block_outside", LockKind.SOFT)  # the default 10m stage


async def test_rule_010_can_trade_false_is_mirrored_as_an_external_lock(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("  auth_loss_guard: {enabled: true}")
    order = await trader.limit("MNQ", BUY, 1, "20000")
    await trader.fault("can_trade", accountId=trader.account_id, value=False)
    await guard.wait_lock("auth_loss_guard", LockKind.EXTERNAL)
    assert (await trader.order(order))["status"] == 1  # an external lock is never fought
    await trader.fault("can_trade", accountId=trader.account_id, value=True)

    async def ended() -> bool:
        return not guard.rule_locks("auth_loss_guard")

    await wait_for(ended, "the external lock ended when canTrade turned true")


async def test_rule_010_a_long_hub_gap_flattens_once_reconnected(
    guard: Guard, trader: SimTrader
) -> None:
    # Reconnecting takes at least 0.3 s (half the 0.6 s backoff): longer than max_gap.
    await guard.start(
        "  auth_loss_guard: {enabled: true, max_gap: 0.2s, on_gap: flatten}",
        backoff_base=0.6,
        backoff_cap=0.6,
        healthy_after=0.0,
    )
    await trader.limit("MNQ", BUY, 1, "20000")
    await trader.open_position("MNQ", BUY, 1)
    user_hub = guard.daemon.session.user_hub
    assert user_hub is not None
    connects = user_hub.connects
    await trader.fault("drop_connections")
    await trader.wait_flat("MNQ", "the position flattened after the reconnect")
    assert not await trader.working_orders()
    assert user_hub.connects > connects
    assert any(what.startswith("flatten") for _, what in guard.actor.enforcer.sent)
    assert not guard.locks()  # a gap alerts and flattens; it does not lock


async def test_rule_010_an_external_lock_restored_after_a_restart_ends_on_can_trade(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("  auth_loss_guard: {enabled: true}")
    await trader.fault("can_trade", accountId=trader.account_id, value=False)
    await guard.wait_lock("auth_loss_guard", LockKind.EXTERNAL)
    await guard.stop()
    await trader.fault("can_trade", accountId=trader.account_id, value=True)  # while down
    await guard.start("  auth_loss_guard: {enabled: true}")

    async def ended() -> bool:
        view = guard.actor.engine.view(trader.account_id, datetime.now(UTC))
        return not guard.rule_locks("auth_loss_guard") and not view.locked

    await wait_for(ended, "the restored external lock ended: the broker allows trading")
