"""Which rule changes tighten (applied at once) and which loosen (wait for
``admin.loosen_delay``): the rule configs' ``tighter`` metadata, failing closed."""

from __future__ import annotations

from typing import Any

import pytest

from risk_manager.config.rules import RULE_MODELS, RulesConfig
from risk_manager.config.sections import AdminConfig
from risk_manager.config.tightening import compare_rule, compare_settings, fields_of


def rule(key: str, **settings: Any) -> Any:
    return RulesConfig.model_validate({key: settings}).rule(key)


@pytest.mark.parametrize(
    ("key", "old", "new", "change"),
    [
        (
            "daily_net_loss",
            {"enabled": True, "limit": 1000},
            {"enabled": True, "limit": 500},
            "tighter",
        ),
        (
            "daily_net_loss",
            {"enabled": True, "limit": 500},
            {"enabled": True, "limit": 1000},
            "looser",
        ),
        ("daily_net_loss", {"enabled": False}, {"enabled": True, "limit": 1000}, "tighter"),
        ("daily_net_loss", {"enabled": True, "limit": 1000}, {"enabled": False}, "looser"),
        (
            "daily_net_loss",
            {"enabled": True, "limit": 1000},
            {"enabled": True, "limit": 1000},
            "same",
        ),
        # one setting tighter, another looser: a loosening
        (
            "daily_net_loss",
            {"enabled": True, "limit": 1000, "trailing": False},
            {"enabled": True, "limit": 2000, "trailing": True},
            "looser",
        ),
        # a setting without a direction (the scope) never tightens
        (
            "daily_unrealized_loss",
            {"enabled": True, "limit": 100, "scope": "per_position"},
            {"enabled": True, "limit": 100, "scope": "total"},
            "looser",
        ),
        ("max_contracts", {"enabled": True, "limit": 5}, {"enabled": True, "limit": 3}, "tighter"),
        (
            "max_contracts",
            {"enabled": True, "limit": 5, "count": "net"},
            {"enabled": True, "limit": 5, "count": "gross"},
            "tighter",
        ),
        (
            "max_contracts_per_instrument",
            {"enabled": True, "limits": {"NQ": 3}},
            {"enabled": True, "limits": {"NQ": 2, "ES": 1}},
            "tighter",
        ),
        (
            "max_contracts_per_instrument",
            {"enabled": True, "limits": {"NQ": 3}},
            {"enabled": True, "limits": {"ES": 1}},
            "looser",
        ),
        (
            "symbol_blocks",
            {"enabled": True, "blocked": ["RTY"]},
            {"enabled": True, "blocked": ["RTY", "CL*"]},
            "tighter",
        ),
        (
            "symbol_blocks",
            {"enabled": True, "blocked": ["RTY", "CL*"]},
            {"enabled": True, "blocked": ["RTY"]},
            "looser",
        ),
        (
            "trade_frequency_limit",
            {"enabled": True, "per_minute": 3},
            {"enabled": True, "per_minute": 3, "per_hour": 20},
            "tighter",
        ),
        (
            "trailing_drawdown",
            {"enabled": True, "max_drawdown": 2000, "mode": "end_of_day"},
            {"enabled": True, "max_drawdown": 2000, "mode": "intraday"},
            "tighter",
        ),
        # changes to a rule that is off before and after change nothing the guard does
        (
            "daily_net_loss",
            {"enabled": False, "limit": 100},
            {"enabled": False, "limit": 5000},
            "tighter",
        ),
    ],
)
def test_a_change_is_a_tightening_only_when_every_changed_setting_tightens(
    key: str, old: dict[str, Any], new: dict[str, Any], change: str
) -> None:
    assert compare_rule(rule(key, **old), rule(key, **new)) == change


def test_the_metadata_names_only_settings_the_rule_has() -> None:
    for model in RULE_MODELS:
        assert set(model.tighter) <= set(model.model_fields), model.key
    assert set(RulesConfig.tighter) <= set(RulesConfig.model_fields)
    assert set(AdminConfig.tighter) <= set(AdminConfig.model_fields)


def test_lowering_an_admin_delay_is_a_loosening() -> None:
    short = AdminConfig.model_validate({"loosen_delay": "5m"})
    long = AdminConfig.model_validate({"loosen_delay": "30m"})
    assert compare_settings(fields_of(long), fields_of(short), AdminConfig.tighter) == "looser"
    assert compare_settings(fields_of(short), fields_of(long), AdminConfig.tighter) == "tighter"


@pytest.mark.parametrize(
    ("key", "on"),
    [
        ("daily_net_loss", {"limit": 1000}),
        ("max_contracts", {"limit": 5}),
        ("trailing_drawdown", {"max_drawdown": 2000}),
        ("trade_frequency_limit", {"per_minute": 9}),
        ("symbol_blocks", {"blocked": ["MNQ"]}),
    ],
)
def test_turning_a_rule_on_is_a_tightening_whatever_its_dormant_settings(
    key: str, on: dict[str, Any]
) -> None:
    # A rule off guards nothing: on, with any settings, guards more and applies at once. Its
    # dormant settings differing from the new ones made it a loosening (held back).
    dormant = {name: value for name, value in on.items() if name != "blocked"}
    old = rule(key, enabled=False, warn_at=0.5, **{n: v * 2 for n, v in dormant.items()})
    new = rule(key, enabled=True, warn_at=0.9, **on)
    assert compare_rule(old, new) == "tighter"
    assert compare_rule(new, old) == "looser"
