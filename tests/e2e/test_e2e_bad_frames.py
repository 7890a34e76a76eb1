"""A malformed hub frame never crashes the daemon nor costs a later breach its enforcement."""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from .conftest import Guard
from .helpers import BUY, SimTrader, wait_for


async def test_malformed_user_and_market_frames_are_skipped_and_guarding_goes_on(
    guard: Guard, trader: SimTrader, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    await guard.start("  max_contracts: {enabled: true, limit: 1}")
    hubs = guard.sim.hubs
    acct = trader.account_id
    # Wrong types and missing ids, exactly as a broken server could send them.
    await hubs.publish_user("GatewayUserOrder", acct, {"id": "not-a-number", "accountId": acct}, 1)
    await hubs.publish_user("GatewayUserPosition", acct, {"accountId": acct, "size": 3}, 1)
    await hubs.publish_user(
        "GatewayUserTrade", acct, {"id": 1, "accountId": acct, "price": True}, 0
    )
    await hubs.publish_quote(await trader.contract("MNQ"), {"lastPrice": "garbage"})
    await trader.market("MNQ", BUY, 3)  # a real breach right after
    await trader.wait_size("MNQ", 1)
    assert "record rejected" in caplog.text
    assert all(not t.done() for t in guard.daemon.tasks)  # every long-running task alive


def _trade(acct: int, cid: str, trade_id: int, **fields: Any) -> dict[str, Any]:
    """A closing fill as the gateway sends it, with ``fields`` overriding."""
    return {
        "id": trade_id,
        "accountId": acct,
        "contractId": cid,
        "creationTimestamp": datetime.now(UTC).isoformat(),
        "price": 20000,
        "profitAndLoss": -5000,
        "fees": 0.74,
        "side": 1,
        "size": 1,
        "voided": False,
        "orderId": trade_id,
    } | fields


async def _sim_day_realized(trader: SimTrader) -> Decimal:
    """The account's realized P&L net of fees, from the simulator's own trades."""
    total = Decimal(0)
    for t in (await trader.state())["trades"]:
        if t["accountId"] == trader.account_id and not t["voided"]:
            costs = Decimal(str(t["fees"])) + Decimal(str(t.get("commissions") or 0))
            total += Decimal(str(t["profitAndLoss"] or 0)) - costs
    return total


async def test_nan_and_infinity_from_the_wire_are_rejected_and_a_later_breach_still_locks(
    guard: Guard, trader: SimTrader, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    daemon = await guard.start("  daily_realized_loss: {enabled: true, limit: 100}")
    acct, cid = trader.account_id, await trader.contract("MNQ")
    last = guard.sim.exchange.markets.market(cid).last
    await trader.round_trip("MNQ", BUY, 1, str(last - 10))  # a real loss of about 20 + fees

    def day_realized() -> Decimal:
        return guard.actor.engine.view(acct, datetime.now(UTC)).day_realized

    async def counted() -> bool:
        return day_realized() == await _sim_day_realized(trader) != 0

    await wait_for(counted, "the daemon's day P&L equal to the simulator's")
    before = day_realized()

    # One frame, five fills that are not numbers where numbers belong (the NaN literals go out
    # as JSON `NaN`/`Infinity`, as a broken server would send them) ...
    bad = [
        _trade(acct, cid, 990001, profitAndLoss=math.nan),
        _trade(acct, cid, 990002, fees=math.inf),
        _trade(acct, cid, 990003, commissions=-math.inf),
        _trade(acct, cid, 990004, profitAndLoss="-5000"),
        _trade(acct, cid, 990005, size=True),
    ]
    frame = {"kind": "user_frame", "target": "GatewayUserTrade", "accountId": acct}
    await trader.control("fault", frame | {"records": bad})
    # ... then an account frame whose last record is good: once its balance shows, every
    # record sent before it has been through the daemon (one socket, one queue, in order).
    account = {"id": acct, "name": "e2e", "canTrade": True, "isVisible": True, "simulated": True}
    marker = await trader.balance() + Decimal("0.01")
    records = [account | {"balance": math.nan}, account | {"canTrade": "false", "balance": 1}]
    records.append(account | {"balance": float(marker)})
    await trader.control("fault", frame | {"target": "GatewayUserAccount", "records": records})

    async def good_record_seen() -> bool:
        return guard.actor.engine.view(acct, datetime.now(UTC)).balance == marker

    await wait_for(good_record_seen, "the good account record of the mixed frame")
    after = day_realized()
    assert after.is_finite() and after == before == await _sim_day_realized(trader)
    assert daemon.session.wire_faults.count("user", "GatewayUserTrade") == 5
    assert daemon.session.wire_faults.count("user", "GatewayUserAccount") == 2
    metrics = daemon.metrics.render().decode()
    assert (
        'risk_manager_wire_records_rejected_total{fault="not_finite",source="user",'
        'target="GatewayUserTrade"} 3.0'
    ) in metrics
    # Logged once per (target, fault), naming the field and the record, without a traceback.
    rejected = [r for r in caplog.records if "record rejected" in r.getMessage()]
    assert len(rejected) == 4, [r.getMessage() for r in rejected]
    assert "profitAndLoss" in rejected[0].getMessage() and "990001" in rejected[0].getMessage()
    assert not any(r.exc_info for r in rejected)

    # A real breach afterwards is enforced: the loss rule still works on a finite P&L.
    await trader.round_trip("MNQ", BUY, 2, str(last - 30))
    lock = await guard.wait_lock("daily_realized_loss")
    assert "≤ −100.00" in lock.reason
    await trader.wait_flat("MNQ")
    await guard.assert_locked_out("MNQ", str(last - 100))


async def test_a_fill_whose_record_cannot_be_read_is_re_read_from_rest_at_once(
    guard: Guard, trader: SimTrader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The losing fill reaches the daemon unreadable: the account is re-read from REST within
    about a second (not on the periodic sweep, held off here), the loss locks, and the trader is
    told why."""
    import risk_manager.runtime.sweep as sweep

    monkeypatch.setattr(sweep, "HOT_MIN", 120.0)  # only the unreadable record may trigger it
    monkeypatch.setattr(sweep, "COLD_MIN", 120.0)
    hubs = guard.sim.hubs
    real = hubs.publish_user

    async def corrupt_trades(target: str, account_id: int, data: dict[str, Any], a: int) -> None:
        if target == "GatewayUserTrade":
            data = data | {"profitAndLoss": "a lot"}
        await real(target, account_id, data, a)

    monkeypatch.setattr(hubs, "publish_user", corrupt_trades)
    daemon = await guard.start("  daily_realized_loss: {enabled: true, limit: 100}")
    last = guard.sim.exchange.markets.market(await trader.contract("MNQ")).last
    await trader.round_trip("MNQ", BUY, 2, str(last - 40))  # about −$160, unreadable
    closed = time.monotonic()
    lock = await guard.wait_lock("daily_realized_loss")
    assert time.monotonic() - closed < 5, "locked by the sweep, not by the re-read"
    assert "≤ −100.00" in lock.reason
    alerts = [e for e in daemon.store.journal(trader.account_id) if e.rule == "reconcile"]
    assert any("GatewayUserTrade record from the broker could not be read" in str(e.intent)
               for e in alerts), alerts  # fmt: skip
