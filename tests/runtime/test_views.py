"""The API's JSON built from a real engine's view."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from risk_manager.config.loader import parse_config
from risk_manager.config.models import Config
from risk_manager.domain.enums import OrderSide, PositionType
from risk_manager.domain.events import AccountEvent, PositionEvent, QuoteEvent, TradeEvent
from risk_manager.domain.models import Account, Position, Quote, Trade
from risk_manager.engine.engine import Engine
from risk_manager.engine.factory import calendar_for
from risk_manager.engine.view import RuleView
from risk_manager.runtime.views import PnlCurve, account_json, rule_json

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
MNQ = "CON.F.US.MNQ.H26"
CONFIG = """
rules:
  max_contracts: {enabled: true, limit: 3}
  daily_realized_loss: {enabled: true, limit: 100}
"""


def _engine_after_a_big_loss() -> tuple[Engine, Config]:
    config = parse_config(CONFIG)
    engine = Engine(config.rules_for(1), calendar_for(config.trading_day), config.catalog())
    engine.process(AccountEvent(NOW, Account(1, "A", Decimal(50000), True)), NOW)
    loss = Trade(
        5,
        1,
        MNQ,
        NOW,
        Decimal("20900"),
        OrderSide.ASK,
        1,
        3,
        profit_and_loss=Decimal("-150"),
        fees=Decimal("0.37"),
    )
    engine.process(TradeEvent(NOW, loss), NOW)  # the broker's position event follows
    engine.process(
        PositionEvent(NOW, Position(9, 1, MNQ, PositionType.LONG, 2, Decimal("21000"))), NOW
    )
    engine.process(QuoteEvent(NOW, Quote(MNQ, last_price=Decimal("21001.25"))), NOW)
    return engine, config


def test_account_json_shapes_money_counts_locks_and_details() -> None:
    engine, config = _engine_after_a_big_loss()
    view = engine.view(1, NOW)
    out = account_json(
        view,
        config.catalog(),
        trading_day="2026-03-10",
        curve=[],
        settings=config.rules_for(1),
    )
    assert out["pnl"]["day_realized"] == "-150.37"
    assert out["locked"] is True
    assert out["room_to_loss_lock"] == "0.00"  # past the limit: none left, never negative
    rules = {r["key"]: r for r in out["rules"]}
    assert rules["max_contracts"]["value"] == "2" and rules["max_contracts"]["limit"] == "3"
    assert rules["max_contracts"]["detail"].startswith("limit=3")
    assert rules["daily_realized_loss"]["state"] == "breached"
    (lock,) = out["locks"]
    assert lock["rule"] == "daily_realized_loss" and lock["kind"] == "hard"
    assert rules["daily_realized_loss"]["detail"] == lock["reason"]
    assert lock["ends_at"] == "2026-03-10T22:00:00Z"  # 17:00 CDT
    (position,) = out["positions"]
    assert position["symbol"] == "MNQ" and position["unrealized"] == "5.00"  # 1.25 pt x 2 x $2


def test_only_a_money_rule_is_shown_as_money() -> None:
    money = rule_json(RuleView("daily_net_loss", "RULE-015", Decimal(3), Decimal(5), "ok"), "")
    count = rule_json(RuleView("max_contracts", "RULE-001", Decimal(3), Decimal(5), "ok"), "")
    # A rule of a unit the views never heard of (a new rule counting orders): a number.
    new = rule_json(RuleView("max_working_orders", "RULE-017", Decimal(3), Decimal(5), "ok"), "")
    assert (money["value"], count["value"], new["value"]) == ("3.00", "3", "3")


def test_pnl_curve_samples_and_restarts_each_day() -> None:
    curve = PnlCurve(every=5.0)
    for second in range(0, 12):
        curve.add(NOW.replace(second=second), Decimal(second), "2026-03-10")
    assert [p["net"] for p in curve.points()] == ["4.00", "9.00", "11.00"]
    curve.add(NOW.replace(hour=23), Decimal(1), "2026-03-11")
    assert [p["net"] for p in curve.points()] == ["1.00"]


def test_account_json_shows_the_accounts_own_starting_balance_peak_and_floor() -> None:
    config = parse_config(
        "rules:\n  trailing_drawdown: {enabled: true, max_drawdown: 2000, mode: intraday}\n"
    )
    engine = Engine(config.rules_for(1), calendar_for(config.trading_day), config.catalog())
    engine.process(AccountEvent(NOW, Account(1, "A", Decimal(150000), True)), NOW)
    engine.process(AccountEvent(NOW, Account(1, "A", Decimal(151000), True)), NOW)
    out = account_json(engine.view(1, NOW), config.catalog(), trading_day="2026-03-10", curve=[])
    assert out["trailing_drawdown"] == {
        "starting_balance": "150000.00",
        "start_source": "first_balance",
        "peak": "151000.00",
        "floor": "149000.00",
    }
