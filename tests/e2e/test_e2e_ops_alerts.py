"""End to end: the daemon's own alerts reach a local webhook (docs/ALERTS.md "Alert rules"): a
start after an unclean stop, a lock made, a hub down past its limit and back. The real daemon
against the simulator over real sockets."""

from __future__ import annotations

from typing import Any

from risk_manager.runtime.run_marker import marker_path
from support.webhook import Receiver, receiver

from .conftest import Guard
from .helpers import BUY, SimTrader, wait_for


def alerts_to(hook: Receiver, watch: str = "") -> str:
    return f"alerts:\n  webhook_url: {hook.url}\n{watch}"


def of(hook: Receiver, rule: str) -> list[dict[str, Any]]:
    return [body for body in hook.taken if body["rule"] == rule]


async def _true(value: bool) -> bool:
    return value


async def test_a_start_after_an_unclean_stop_alerts_and_a_clean_stop_leaves_no_marker(
    guard: Guard,
) -> None:
    marker = marker_path(guard.db)
    marker.write_text('{"pid": 4242, "host": "box", "since": "2026-03-10T15:00:00+00:00"}')
    async with receiver() as hook:
        await hook.up()
        await guard.start("", extra=alerts_to(hook))
        await wait_for(lambda: _true(bool(of(hook, "unclean_stop"))), "the unclean-stop alert")
        (body,) = of(hook, "unclean_stop")
        assert body["severity"] == "critical" and body["account_id"] == 0
        assert "pid 4242 on box" in str(body["reason"])
        assert marker.exists()  # this run's own
        await guard.stop()
        assert not marker.exists()
        await guard.start("", extra=alerts_to(hook))  # after a clean stop: no alert
        await guard.stop()
    assert len(of(hook, "unclean_stop")) == 1


async def test_a_lock_made_is_an_alert(guard: Guard, trader: SimTrader) -> None:
    rules = "  daily_net_loss: {enabled: true, limit: 50}"
    async with receiver() as hook:
        await hook.up()
        await guard.start(rules, extra=alerts_to(hook))
        await guard.hold_and_move("MNQ", BUY, 1, "20970")  # −$60: past the limit
        await wait_for(lambda: _true(bool(of(hook, "daily_net_loss"))), "the lock's alert")
    locked = [b for b in of(hook, "daily_net_loss") if "account locked" in str(b["reason"])]
    assert locked and locked[0]["severity"] == "warning"
    assert locked[0]["account_id"] == guard.actor.account_id


async def test_a_hub_down_past_its_limit_alerts_then_says_it_is_back(
    guard: Guard, trader: SimTrader
) -> None:
    watch = "  watch: {every: 1s, hub_down_after: 5s}\n"
    async with receiver() as hook:
        await hook.up()
        await guard.start("", extra=alerts_to(hook, watch))
        await trader.fault("hub_down", hub="market", seconds=8)  # upgrades refused for 8 s
        await wait_for(
            lambda: _true(any(b["severity"] == "critical" for b in of(hook, "hub_down"))),
            "the hub-down alert",
            within=15,
        )
        await wait_for(
            lambda: _true(any(b["severity"] == "info" for b in of(hook, "hub_down"))),
            "the hub's return",
            within=20,
        )
    down, back = of(hook, "hub_down")
    assert "market hub has been down" in str(down["reason"])
    assert "market hub is back" in str(back["reason"])
