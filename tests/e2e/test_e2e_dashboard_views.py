"""End to end, what the dashboards read (issue 15): over real sockets against the simulator,
a loss rule whose position has no quote is "unknown" with its reason (never "ok", the room
never "no limit"), and the P&L curve after a restart starts from what the previous run
stored, not empty."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from risk_manager.api.read_model import money
from risk_manager.store import Store

from .conftest import Guard
from .helpers import BUY, SELL, SimTrader, wait_for

RULES = """
  stale_mark: 60s
  daily_net_loss: {enabled: true, limit: 400}
"""


async def test_a_loss_rule_without_a_quote_is_unknown_and_so_is_the_room(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start(RULES, serve_api=True)
    await trader.fault("silence", hub="market", seconds=30)  # no quote reaches the daemon
    await trader.open_position("MNQ", BUY, 1)
    path = f"accounts/{trader.account_id}"

    async def open_seen() -> Any:
        view = await guard.api(path)
        return view if view["positions"] else None

    view = await wait_for(open_seen, "the open position in the account view")
    rule = next(r for r in view["rules"] if r["key"] == "daily_net_loss")
    assert rule["state"] == "unknown", rule
    assert "no usable mark" in rule["reason"]
    assert view["room_to_loss_lock"] is None
    assert view["room_unknown"].startswith("daily_net_loss: no usable mark")
    assert [p["kind"] for p in view["problems"]] == ["stale_mark"]
    assert view["pnl"]["unrealized"] is None


async def test_the_pnl_curve_survives_a_restart(guard: Guard, trader: SimTrader) -> None:
    await guard.start(RULES, serve_api=True)
    calendar = guard.daemon.calendar
    day = calendar.trading_day(datetime.now(UTC))  # the start's point is of this day
    await guard.hold_and_move("MNQ", BUY, 1, "21000")
    await trader.set_price("MNQ", "20950")
    await trader.market("MNQ", SELL, 1)  # a realized loss of about 50 points
    await trader.wait_flat("MNQ")
    path = f"accounts/{trader.account_id}"

    async def realized() -> Any:
        view = await guard.api(path)
        return view if view["pnl"]["day_realized"] != "0.00" else None

    before = (await wait_for(realized, "the realized loss in the view"))["pnl"]["net"]
    await guard.stop()  # the stop stores where the curve stood
    if calendar.trading_day(datetime.now(UTC)) != day:  # the start's point and the stop's
        pytest.skip("a daily reset fell between the run's start and its stop")  # split by it
    with Store.open(guard.db) as store:
        stored = store.snapshots(trader.account_id, day)
    # the first run's start (flat, 0) and its stop (the loss): what the next run's curve reads
    assert [money(s.net) for s in stored] == ["0.00", before], stored

    await guard.start(RULES, serve_api=True)
    curve = (await guard.api(path))["pnl_curve"]
    # This test is shorter than the curve's 5 s step: the stored points and the live one share
    # one step, whose latest value is kept (tests/runtime/test_pnl_curve_history.py spreads
    # them over a day on a test clock).
    assert curve and curve[-1]["net"] == before, curve
