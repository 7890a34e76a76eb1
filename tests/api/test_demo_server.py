from __future__ import annotations

from datetime import UTC, datetime

from risk_manager.api import demo
from risk_manager.api.demo_server import step

NOW = datetime(2026, 3, 10, 19, 30, tzinfo=UTC)


def test_a_step_moves_the_mark_and_keeps_the_pnl_fields_consistent() -> None:
    view = demo.locked_account(NOW)
    moved = step(view, -4, NOW)  # MNQ long 2 @ 21012.25, mark 20990.50 → 20989.50
    pos = moved["positions"][0]
    assert pos["mark"] == "20989.50"
    assert pos["unrealized"] == "-91.00"  # -22.75 points × 2 contracts × $2
    assert moved["pnl"]["net"] == "-503.40"  # realized -412.40 + unrealized
    assert moved["room_to_loss_lock"] == "96.60"
    assert moved["pnl_curve"][-1] == {"at": "2026-03-10T19:30:00Z", "net": "-503.40"}
    assert view["positions"][0]["mark"] == "20990.50"  # the input is not mutated
