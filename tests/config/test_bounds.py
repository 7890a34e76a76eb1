"""Values that would switch a rule off in effect are refused, naming the key and the range."""

from __future__ import annotations

import pytest

from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import parse_config


@pytest.mark.parametrize(
    ("yaml", "says"),
    [
        (
            "cooldown_after_loss: {enabled: true, tiers: [{loss: 100, cooldown: 99999999d}]}",
            "rules.cooldown_after_loss.tiers[0].cooldown: 99999999d is outside the allowed 1s",
        ),
        (
            "retry_after: 99999999d",
            "rules.retry_after: 99999999d is outside the allowed 0.1s to 1m",
        ),
        ("daily_net_loss: {enabled: true, limit: 1e30}", "more than the allowed 10,000,000"),
        ("daily_net_loss: {enabled: true, limit: .inf}", "must be a finite number"),
        ("max_contracts: {enabled: true, limit: 100000}", "is outside the allowed 1 to 1000"),
        ("max_contracts: {enabled: true, limit: true}", "rules.max_contracts.limit"),
        ("max_retries: 1000", "rules.max_retries: 1000 is outside the allowed 0 to 20"),
        ("stale_mark: 30d", "rules.stale_mark: 30d is outside the allowed 1s to 1d"),
        ("auth_loss_guard: {enabled: true, max_gap: 2d}", "rules.auth_loss_guard.max_gap"),
        (
            "trade_frequency_limit: {enabled: true, per_minute: 3, cooldown: {per_minute: 30d}}",
            "for longer use until_reset",
        ),
        ("max_contracts: {enabled: true, limit: 2, micro_weight: 5}", "micro_weight"),
    ],
)
def test_a_value_that_switches_a_rule_off_in_effect_is_refused(yaml: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"rules:\n  {yaml}\n", env={})
    assert says in str(caught.value)


def test_the_ends_of_each_range_are_accepted() -> None:
    parse_config(
        "rules:\n  retry_after: 1m\n  stale_mark: 1s\n  max_retries: 20\n"
        "  cooldown_after_loss: {enabled: true, tiers: [{loss: 10000000, cooldown: 7d}]}\n"
        "  max_contracts: {enabled: true, limit: 1000, micro_weight: 1}\n",
        env={},
    )
