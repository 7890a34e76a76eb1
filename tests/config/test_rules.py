from datetime import time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from risk_manager.config.durations import UntilSentinel
from risk_manager.config.rules import (
    RULE_KEYS,
    RULE_MODELS,
    CooldownAfterLoss,
    DailyRealizedLoss,
    MaxContracts,
    RulesConfig,
    TradeFrequencyLimit,
)
from risk_manager.config.types import Weekday

# Every key of RULES.md §3, with a value that differs from its default where one exists.
FULL_RULES: dict[str, dict[str, Any]] = {
    "max_contracts": {"limit": 5, "count": "net", "micro_weight": 0.1},
    "max_contracts_per_instrument": {"limits": {"nq": 2}, "unlisted": "block"},
    "daily_realized_loss": {"limit": 500, "include_fees": False},
    "daily_unrealized_loss": {"limit": 300, "scope": "total"},
    "max_unrealized_profit": {"target": 800, "scope": "total"},
    "trade_frequency_limit": {
        "per_minute": 2,
        "per_hour": 8,
        "per_session": 20,
        "cooldown": {"per_minute": "2m", "per_hour": "1h", "per_session": "until_cleared"},
        "flatten": False,
    },
    "cooldown_after_loss": {"tiers": [{"loss": 100, "cooldown": "5m"}], "flatten": False},
    "no_stop_loss_grace": {"grace": "45s"},
    "session_block_outside": {
        "timezone": "America/New_York",
        "sessions": [{"start": "09:30", "end": "16:00", "days": ["mon", "FRI"]}],
        "holidays": False,
        "warn_before": "0s",
        "block_entries_before": "2m",
        "flatten_before": "1m",
    },
    "auth_loss_guard": {"max_gap": "10s", "on_gap": "flatten"},
    "symbol_blocks": {"blocked": ["cl*", "RTY"], "close_existing": False},
    "trade_management": {
        "stop_loss_ticks": 20,
        "take_profit_ticks": 40,
        "breakeven": {"trigger_ticks": 10, "offset_ticks": 1},
        "trailing": {"activate_ticks": 15, "trail_ticks": 8},
    },
    "daily_realized_profit": {"target": 1500, "include_fees": False},
    "weekly_realized_loss": {"limit": 2000, "include_fees": False},
    "daily_net_loss": {"limit": 1000, "trailing": True},
    "trailing_drawdown": {
        "max_drawdown": 2000,
        "mode": "intraday",
        "starting_balance": 50000,
        "freeze_at_start": False,
        "buffer": 50,
    },
}


def _errors(exc: ValidationError) -> dict[tuple[Any, ...], str]:
    return {tuple(error["loc"]): error["type"] for error in exc.errors()}


def test_the_sixteen_rules_carry_their_ids_and_keys_in_rule_book_order() -> None:
    assert [model.rule_id for model in RULE_MODELS] == [f"RULE-{n:03d}" for n in range(1, 17)]
    assert list(RULE_KEYS) == list(FULL_RULES)
    rules_fields = set(RulesConfig.model_fields)
    assert set(RULE_KEYS) <= rules_fields
    assert rules_fields - set(RULE_KEYS) == {"mark", "stale_mark", "retry_after", "max_retries"}
    for model in RULE_MODELS:
        assert RulesConfig.model_fields[model.key].annotation is model


def test_every_rule_key_is_accepted_and_kept() -> None:
    raw = {key: {"enabled": True, "warn_at": 0.5, **block} for key, block in FULL_RULES.items()}
    rules = RulesConfig.model_validate(raw)
    assert [rule.key for rule in rules.enabled_rules()] == list(RULE_KEYS)
    assert rules.max_contracts.micro_weight == Decimal("0.1")
    assert rules.max_contracts_per_instrument.limits == {"NQ": 2}
    assert rules.trade_frequency_limit.cooldown.per_session is UntilSentinel.CLEARED
    assert rules.trade_frequency_limit.cooldown.per_hour == timedelta(hours=1)
    window = rules.session_block_outside.sessions[0]
    assert (window.start, window.end, window.days) == (
        time(9, 30),
        time(16, 0),
        [Weekday.MON, Weekday.FRI],
    )
    assert not window.overnight
    assert rules.session_block_outside.warn_before == timedelta(0)
    assert rules.symbol_blocks.blocked == ["CL*", "RTY"]
    assert rules.trade_management.trailing is not None
    assert rules.trade_management.trailing.trail_ticks == 8
    assert rules.trailing_drawdown.buffer == Decimal(50)
    assert all(rule.warn_at == 0.5 for rule in rules.all_rules())


def test_defaults_follow_the_rule_book() -> None:
    rules = RulesConfig()
    assert rules.enabled_rules() == []
    assert rules.max_contracts.count == "gross"
    assert rules.max_contracts.micro_weight == Decimal("1.0")
    assert rules.max_contracts_per_instrument.unlisted == "allow"
    assert rules.daily_realized_loss.include_fees is True
    assert rules.daily_unrealized_loss.scope == "per_position"
    cooldown = rules.trade_frequency_limit.cooldown
    assert cooldown.per_minute == timedelta(seconds=60)
    assert cooldown.per_hour == timedelta(minutes=30)
    assert cooldown.per_session is UntilSentinel.RESET
    assert rules.trade_frequency_limit.flatten is True
    assert rules.cooldown_after_loss.flatten is True
    assert rules.no_stop_loss_grace.grace == timedelta(seconds=30)
    session = rules.session_block_outside
    assert session.timezone == "America/Chicago"
    assert session.tz.key == "America/Chicago"
    assert session.holidays is True
    assert [(w.start, w.end, w.days) for w in session.sessions] == [
        (time(17), time(15, 10), [Weekday.SUN, Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU])
    ]
    assert session.sessions[0].overnight
    assert (session.warn_before, session.block_entries_before, session.flatten_before) == (
        timedelta(minutes=15),
        timedelta(minutes=10),
        timedelta(minutes=5),
    )
    assert rules.auth_loss_guard.max_gap == timedelta(seconds=30)
    assert rules.auth_loss_guard.on_gap == "alert"
    assert rules.symbol_blocks.close_existing is True
    assert rules.daily_net_loss.trailing is False
    assert rules.trailing_drawdown.mode == "end_of_day"
    assert rules.trailing_drawdown.freeze_at_start is True
    assert rules.trailing_drawdown.buffer == Decimal(0)
    assert rules.mark == "last"
    assert rules.stale_mark == timedelta(seconds=10)
    assert rules.retry_after == timedelta(seconds=2)
    assert rules.max_retries == 3


def test_a_partial_block_fills_the_other_keys_with_defaults() -> None:
    rules = RulesConfig.model_validate(
        {"daily_realized_loss": {"enabled": True, "limit": 500}, "max_contracts": {"limit": 3}}
    )
    assert rules.daily_realized_loss == DailyRealizedLoss(
        enabled=True, limit=Decimal(500), include_fees=True, warn_at=None
    )
    assert rules.max_contracts == MaxContracts(limit=3)
    assert [rule.key for rule in rules.enabled_rules()] == ["daily_realized_loss"]


@pytest.mark.parametrize(
    ("key", "amount"),
    [
        ("max_contracts", "limit"),
        ("daily_realized_loss", "limit"),
        ("daily_unrealized_loss", "limit"),
        ("max_unrealized_profit", "target"),
        ("daily_realized_profit", "target"),
        ("weekly_realized_loss", "limit"),
        ("daily_net_loss", "limit"),
        ("trailing_drawdown", "max_drawdown"),
    ],
)
def test_required_amount_may_be_absent_only_while_disabled(key: str, amount: str) -> None:
    assert getattr(RulesConfig.model_validate({key: {}}).rule(key), amount) is None
    with pytest.raises(ValidationError) as info:
        RulesConfig.model_validate({key: {"enabled": True}})
    assert _errors(info.value) == {(key, amount): "required_when_enabled"}


def test_enabled_rules_with_nothing_to_do_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        RulesConfig.model_validate(
            {
                "trade_frequency_limit": {"enabled": True},
                "cooldown_after_loss": {"enabled": True},
                "trade_management": {"enabled": True},
            }
        )
    assert _errors(info.value) == {
        ("trade_frequency_limit",): "no_limit",
        ("cooldown_after_loss", "tiers"): "required_when_enabled",
        ("trade_management",): "no_setting",
    }


def test_bad_values_are_all_reported_with_their_paths() -> None:
    with pytest.raises(ValidationError) as info:
        RulesConfig.model_validate(
            {
                "max_contracts": {"limit": 0, "count": "both"},
                "daily_realized_loss": {"limit": -5, "warn_at": 1.2},
                "cooldown_after_loss": {"tiers": [{"loss": 100, "cooldown": 300}]},
                "session_block_outside": {"timezone": "Mars/Olympus", "sessions": []},
                "mark": "mid",
                "stale_mark": "soon",
                "daily_net_loss": {"limit": 100, "trailng": True},
            }
        )
    assert set(_errors(info.value)) == {
        ("max_contracts", "limit"),
        ("max_contracts", "count"),
        ("daily_realized_loss", "limit"),
        ("daily_realized_loss", "warn_at"),
        ("cooldown_after_loss", "tiers", 0, "cooldown"),
        ("session_block_outside", "timezone"),
        ("session_block_outside", "sessions"),
        ("mark",),
        ("stale_mark",),
        ("daily_net_loss", "trailng"),
    }


@pytest.mark.parametrize(("raw", "expected"), [(0.1, "0.1"), ("1000.50", "1000.50"), (7, "7")])
def test_money_is_an_exact_decimal(raw: object, expected: str) -> None:
    rule = DailyRealizedLoss.model_validate({"limit": raw})
    assert rule.limit == Decimal(expected)
    assert str(rule.limit) == expected


@pytest.mark.parametrize("raw", [True, "lots", float("nan"), [1]])
def test_money_refuses_non_numbers(raw: object) -> None:
    with pytest.raises(ValidationError):
        DailyRealizedLoss.model_validate({"limit": raw})


def test_models_are_frozen_and_refuse_unknown_keys() -> None:
    rule = DailyRealizedLoss(limit=Decimal(5))
    with pytest.raises(ValidationError):
        rule.limit = Decimal(6)  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs"):
        TradeFrequencyLimit.model_validate({"cooldown": {"per_day": "1h"}})


def test_the_largest_matching_loss_tier_wins() -> None:
    rule = CooldownAfterLoss.model_validate(
        {
            "enabled": True,
            "tiers": [
                {"loss": 400, "cooldown": "30m"},
                {"loss": 200, "cooldown": "5m"},
                {"loss": 1000, "cooldown": "until_reset"},
            ],
        }
    )
    assert rule.tier_for(Decimal(150)) is None
    tier = rule.tier_for(Decimal("450.25"))
    assert tier is not None
    assert tier.cooldown == timedelta(minutes=30)
    top = rule.tier_for(Decimal(1000))
    assert top is not None
    assert top.cooldown is UntilSentinel.RESET


def test_rule_lookup_by_key_refuses_unknown_keys() -> None:
    rules = RulesConfig()
    assert rules.rule("daily_net_loss") is rules.daily_net_loss
    with pytest.raises(KeyError, match="daily_net_loss"):
        rules.rule("daily_loss")


def test_rules_round_trip_through_their_dump() -> None:
    raw = {key: {"enabled": True, **block} for key, block in FULL_RULES.items()}
    rules = RulesConfig.model_validate(raw)
    assert RulesConfig.model_validate(rules.model_dump(mode="json")) == rules
