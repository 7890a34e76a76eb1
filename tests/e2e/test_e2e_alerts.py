"""End to end: alerts are never lost, and only the ones the trader must know are raised
(docs/RUNTIME.md "Alert delivery", "Alerts that matter"). The real daemon against the
simulator over real sockets, with a local webhook."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from risk_manager.store import OutboxEntry, Store
from risk_manager.store.ports import OutboxStore
from support.webhook import Receiver, receiver

from .conftest import Guard
from .helpers import BUY, SimTrader, wait_for

SEARCH_OPEN = "/api/Position/searchOpen"


def alerts_to(hook: Receiver) -> str:
    return f"alerts:\n  webhook_url: {hook.url}\n"


def criticals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "risk_manager.alerts" and r.levelno == logging.CRITICAL
    ]


async def test_alerts_undelivered_when_the_daemon_stops_arrive_after_its_restart(
    guard: Guard, trader: SimTrader
) -> None:
    rules = "  daily_net_loss: {enabled: true, limit: 100, warn_at: 0.5}"
    async with receiver(statuses=[500] * 10_000) as hook:
        await hook.up()
        await guard.start(rules, extra=alerts_to(hook))
        await guard.hold_and_move("MNQ", BUY, 1, "20970")  # −$60 of 100: the warning
        await wait_for(lambda: _warnings(guard.daemon.store), "the warning in the outbox")
        await wait_for(lambda: _true(hook.refused_before > 0), "a refused delivery")
        await guard.stop()
        with Store.open(guard.db) as store:  # the daemon is down: what it left
            (row,) = await _warnings(store)
        assert hook.taken == []
        hook.statuses.clear()  # the webhook works again while the daemon is down
        await guard.start(rules, extra=alerts_to(hook))
        await wait_for(lambda: _true(bool(hook.taken)), "the warning after the restart")
        await wait_for(lambda: _true(not guard.daemon.store.outbox_pending()), "marked sent")
    (body,) = [b for b in hook.taken if b["rule"] == "daily_net_loss"]
    assert body["id"] == row.alert_id and body["severity"] == "warning"
    assert "warn_at 0.5" in str(body["reason"])


async def test_a_429_storm_on_reads_while_the_account_is_flat_raises_no_critical_alert(
    guard: Guard, trader: SimTrader, caplog: pytest.LogCaptureFixture
) -> None:
    """Flat and quiet; the user hub drops and its reconciliation meets a storm of 429s. The
    reconciliation is retried (the account was never in danger): no "REST authentication
    failed", which a busy gateway is not."""
    caplog.set_level(logging.INFO)
    rules = "  daily_net_loss: {enabled: true, limit: 100}\n  auth_loss_guard: {enabled: true}"
    async with receiver() as hook:
        await hook.up()
        await guard.start(rules, extra=alerts_to(hook))
        await trader.fault("http_status", path=SEARCH_OPEN, status=429, count=10_000)
        await trader.fault("drop_connections")  # the reconnect reconciles: every read a 429
        await wait_for(
            lambda: _true(guard.actor.needs_reconcile), "a failed reconciliation", within=30
        )
        guard.sim.faults.clear()
        await wait_for(lambda: _true(not guard.actor.needs_reconcile), "reconciled", within=20)
    assert criticals(caplog) == []
    assert not [b for b in hook.taken if b["severity"] == "critical"]


async def test_a_429_storm_after_the_close_landed_unseen_raises_no_escalation(
    guard: Guard, trader: SimTrader, caplog: pytest.LogCaptureFixture
) -> None:
    """The lock's close lands at the broker but the user hub is silent, so the ledger still
    shows the position; every read meanwhile is a 429. The engine escalates its unconfirmed
    flatten (max_retries 0), but the broker's latest word is "closed": the escalation is held,
    no critical alert is raised, and the periodic reconciliation settles it after the storm."""
    caplog.set_level(logging.INFO)
    rules = "  max_retries: 0\n  daily_net_loss: {enabled: true, limit: 50}"
    await guard.start(rules)
    await trader.open_position("MNQ", BUY, 1)
    cid = await trader.contract("MNQ")
    last = guard.sim.exchange.markets.market(cid).last
    await guard.wait_quoted("MNQ", str(last))  # the ledger holds the position
    await trader.fault("silence", hub="user", seconds=60)
    await trader.fault("http_status", path=SEARCH_OPEN, status=429, count=10_000)
    await trader.set_price("MNQ", "20970")  # −$60.50: locked, flatten
    await guard.wait_lock("daily_net_loss")
    await trader.wait_flat("MNQ", "the close landed at the broker")

    async def escalated() -> bool:  # held back, or (the fault this guards against) raised
        return "escalation held back" in caplog.text or bool(criticals(caplog))

    await wait_for(escalated, "the escalation", within=15)
    assert criticals(caplog) == []
    assert _ledger_positions(guard)  # the ledger is behind: the hub said nothing
    guard.sim.faults.clear()  # the storm ends: the periodic reconciliation reads the broker
    await wait_for(lambda: _true(not _ledger_positions(guard)), "the ledger flat", within=20)
    assert criticals(caplog) == []


def _ledger_positions(guard: Guard) -> list[object]:
    view = guard.actor.engine.view(guard.trader.account_id, datetime.now(UTC))
    return list(view.positions)


async def _true(value: bool) -> bool:
    return value


async def _warnings(store: OutboxStore) -> list[OutboxEntry]:
    return [e for e in store.outbox_pending() if e.body["rule"] == "daily_net_loss"]
