"""Realistic sample views (for tests, screenshots and a demo dashboard without a broker)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from risk_manager.api.read_model import iso, money
from risk_manager.types import JSON


def pnl_curve(
    start: datetime, end: datetime, final: Decimal, seed: int, points: int = 90
) -> list[JSON]:
    """A wandering net-P&L path from 0 at ``start`` to ``final`` at ``end``."""
    rng = random.Random(seed)
    step = (end - start) / (points - 1)
    out: list[JSON] = []
    walk = Decimal(0)
    for i in range(points):
        walk += Decimal(rng.randint(-60, 60))
        # Pull the walk towards the straight line so the path ends at `final`.
        share = Decimal(i) / Decimal(points - 1)
        net = walk * (1 - share) + final * share
        out.append({"at": iso(start + step * i), "net": money(net)})
    return out


def locked_account(now: datetime, account_id: int = 20258288) -> JSON:
    """An account near its daily loss limit, holding a position, with a soft lock running."""
    start = now - timedelta(hours=5, minutes=30)
    realized, unrealized = Decimal("-412.40"), Decimal("-87.00")
    net = realized + unrealized
    limit = Decimal("600.00")
    return {
        "id": account_id,
        "name": "150KTC-V2-478426-52758441",
        "balance": "149587.60",
        "can_trade": True,
        "locked": True,
        "pnl": {
            "day_realized": money(realized),
            "week_realized": "1240.60",
            "unrealized": money(unrealized),
            "net": money(net),
            "day_peak_net": "215.00",
        },
        "pnl_curve": pnl_curve(start, now, net, seed=account_id),
        "as_of": iso(now),
        "loss_limit": money(limit),
        "room_to_loss_lock": money(limit + net),
        "room_unknown": None,
        "room_rule": "daily_net_loss",
        "room_limit": money(limit),
        "time_zone": "America/Chicago",
        "time_zone_label": "CT",
        "problems": [],
        "positions": [
            {
                "contract_id": "CON.F.US.MNQ.Z26",
                "symbol": "MNQ",
                "side": "long",
                "size": 2,
                "average_price": "21012.25",
                "mark": "20990.50",
                "unrealized": money(unrealized),
            }
        ],
        "orders": [
            {
                "id": 2934939816,
                "contract_id": "CON.F.US.MNQ.Z26",
                "symbol": "MNQ",
                "side": "sell",
                "type": "stop",
                "size": 2,
                "price": "20960.00",
                "status": "open",
                "ours": True,
            },
            {
                "id": 2934939822,
                "contract_id": "CON.F.US.MNQ.Z26",
                "symbol": "MNQ",
                "side": "sell",
                "type": "limit",
                "size": 2,
                "price": "21060.00",
                "status": "open",
                "ours": False,
            },
        ],
        "rules": [
            _rule(
                "daily_net_loss",
                "RULE-015",
                "warning",
                money(net),
                "600.00",
                "net -499.40 of -600.00; 100.60 left",
            ),
            _rule(
                "daily_realized_loss",
                "RULE-003",
                "ok",
                money(realized),
                "1000.00",
                "realized -412.40 of -1000.00",
            ),
            _rule("max_contracts", "RULE-001", "ok", "2", "5", "2 of 5 contracts (gross)"),
            _rule(
                "trade_frequency_limit",
                "RULE-006",
                "breached",
                "6",
                "5",
                "6 fills in the last 60 s > 5 per minute",
            ),
            _rule("no_stop_loss_grace", "RULE-008", "ok", None, "30s", "stop working on MNQ"),
            _rule(
                "trailing_drawdown",
                "RULE-016",
                "ok",
                "149500.40",
                "146500.00",
                "equity 149500.40, floor 146500.00",
                used=0.333,
            ),
            _rule("session_block_outside", "RULE-009", "off", None, None, "disabled"),
        ],
        "locks": [
            {
                "id": 17,
                "rule": "trade_frequency_limit",
                "kind": "soft",
                "reason": "trade_frequency_limit: 6 fills in 60 s > 5 (per_minute); "
                "entries blocked for 5m",
                "created_at": iso(now - timedelta(seconds=47)),
                "ends_at": iso(now + timedelta(seconds=253)),
                "seconds_left": 253,
            }
        ],
        "trading_day": (now + timedelta(hours=7)).date().isoformat(),
    }


def calm_account(now: datetime, account_id: int = 20258301) -> JSON:
    """A flat account in profit with nothing running."""
    start = now - timedelta(hours=5, minutes=30)
    net = Decimal("342.75")
    return {
        "id": account_id,
        "name": "50KTC-V2-478426-11873342",
        "balance": "50342.75",
        "can_trade": True,
        "locked": False,
        "pnl": {
            "day_realized": money(net),
            "week_realized": "612.25",
            "unrealized": "0.00",
            "net": money(net),
            "day_peak_net": "401.50",
        },
        "pnl_curve": pnl_curve(start, now, net, seed=account_id),
        "as_of": iso(now),
        "loss_limit": "1000.00",
        "room_to_loss_lock": money(Decimal("1000.00") + net),
        "room_unknown": None,
        "room_rule": "daily_net_loss",
        "room_limit": "1000.00",
        "time_zone": "America/Chicago",
        "time_zone_label": "CT",
        "problems": [],
        "positions": [],
        "orders": [],
        "rules": [
            _rule(
                "daily_net_loss", "RULE-015", "ok", money(net), "1000.00", "net +342.75", used=0.0
            ),
            _rule("max_contracts", "RULE-001", "ok", "0", "5", "flat"),
            _rule("trade_frequency_limit", "RULE-006", "ok", "1", "5", "1 fill in 60 s"),
        ],
        "locks": [],
        "trading_day": (now + timedelta(hours=7)).date().isoformat(),
    }


def enforcement_log(now: datetime, account_id: int = 20258288) -> list[JSON]:
    """A few enforcement entries, oldest first (as they would be recorded)."""
    return [
        {
            "id": 41,
            "at": iso(now - timedelta(minutes=52)),
            "account_id": account_id,
            "rule": "no_stop_loss_grace",
            "kind": "close_position",
            "reason": "no_stop_loss_grace: MNQ long 1 open 30 s without a stop; closed",
            "outcome": "confirmed",
        },
        {
            "id": 42,
            "at": iso(now - timedelta(seconds=47)),
            "account_id": account_id,
            "rule": "trade_frequency_limit",
            "kind": "lock",
            "reason": "trade_frequency_limit: 6 fills in 60 s > 5 (per_minute); "
            "entries blocked for 5m",
            "outcome": "confirmed",
        },
    ]


def history(now: datetime, account_id: int = 20258288) -> JSON:
    """Today and yesterday as ``GET /api/v1/history`` answers them: yesterday the account hit
    its daily loss limit (locked until the reset) and an admin cleared a cooldown early."""
    today = (now + timedelta(hours=7)).date()
    yesterday = today - timedelta(days=1)
    y = now - timedelta(days=1)
    name = "150KTC-V2-478426-52758441"
    loss = {
        "id": 12, "account_id": account_id, "rule": "daily_realized_loss", "kind": "hard",
        "reason": "daily_realized_loss: realized −1,004.30 ≤ −1,000.00 (limit); flatten, "
        f"locked until {yesterday.isoformat()} 17:00 CT",
        "created_at": iso(y - timedelta(hours=1)), "ends_at": iso(y + timedelta(hours=3)),
        "ended_at": iso(y + timedelta(hours=3)), "ended_by": None, "clear_reason": None,
        "active": False,
    }  # fmt: skip
    cooldown = {
        "id": 11, "account_id": account_id, "rule": "cooldown_after_loss", "kind": "hard",
        "reason": "cooldown_after_loss: closing fill lost −320.00 ≥ 300.00; 15m",
        "created_at": iso(y - timedelta(hours=3)),
        "ends_at": iso(y - timedelta(hours=2, minutes=45)),
        "ended_at": iso(y - timedelta(hours=2, minutes=55)), "ended_by": "admin:jo",
        "clear_reason": "fill was a broker error", "active": False,
    }  # fmt: skip
    return {
        "days": [
            {"trading_day": today.isoformat(), "today": True, "accounts": [
                {"id": account_id, "name": name, "realized": "-412.40", "gross": "-398.96",
                 "fees": "13.44", "fills": 18, "round_turns": 9, "locks": []}]},
            {"trading_day": yesterday.isoformat(), "today": False, "accounts": [
                {"id": account_id, "name": name, "realized": "-1004.30", "gross": "-986.54",
                 "fees": "17.76", "fills": 24, "round_turns": 12, "locks": [loss, cooldown]}]},
        ],
        "ended_locks": [{**loss, "name": name}, {**cooldown, "name": name}],
        "time_zone": "America/Chicago",
        "time_zone_label": "CT",
    }  # fmt: skip


def _rule(
    key: str,
    rule_id: str,
    state: str,
    value: str | None,
    limit: str | None,
    detail: str,
    used: float | None = None,
) -> JSON:
    if used is None and value is not None and limit is not None and Decimal(limit) != 0:
        used = round(float(abs(Decimal(value)) / abs(Decimal(limit))), 3)
    return {
        "key": key,
        "id": rule_id,
        "state": state,
        "value": value,
        "limit": limit,
        "detail": detail,
        "used": used,
    }
