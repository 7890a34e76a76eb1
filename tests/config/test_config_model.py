from decimal import Decimal

import pytest
from pydantic import ValidationError

from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import parse_config
from risk_manager.config.models import MASK, Config, deep_merge
from risk_manager.domain.contracts import UnknownContractError

SECRET = "sk-live-0123456789abcdef"
HOOK = "https://hooks.example.com/T000/secret-hook-token"

OVERRIDES = """
rules:
  daily_realized_loss: {enabled: true, limit: 1000}
  max_contracts_per_instrument: {enabled: true, limits: {NQ: 2, ES: 3}}
  trade_frequency_limit:
    enabled: true
    per_minute: 3
    cooldown: {per_hour: 1h}
accounts:
  mode: listed
  list:
    - id: 101
      name: combine
      rules:
        daily_realized_loss: {limit: 400}
        max_contracts_per_instrument: {limits: {NQ: 1}}
        trade_frequency_limit: {cooldown: {per_minute: 5m}}
        weekly_realized_loss: {enabled: true, limit: 1500}
    - id: 102
"""


def test_account_overrides_merge_key_by_key_onto_the_global_rules() -> None:
    config = parse_config(OVERRIDES, env={})
    mine = config.rules_for(101)
    assert mine.daily_realized_loss.enabled is True  # kept from the global block
    assert mine.daily_realized_loss.limit == Decimal(400)  # overridden
    assert mine.daily_realized_loss.include_fees is True  # default
    assert mine.max_contracts_per_instrument.limits == {"NQ": 1, "ES": 3}
    assert mine.trade_frequency_limit.per_minute == 3
    cooldown = mine.trade_frequency_limit.cooldown
    assert (cooldown.per_minute.total_seconds(), cooldown.per_hour.total_seconds()) == (  # type: ignore[union-attr]
        300,
        3600,
    )
    assert [rule.key for rule in mine.enabled_rules()] == [
        "max_contracts_per_instrument",
        "daily_realized_loss",
        "trade_frequency_limit",
        "weekly_realized_loss",
    ]
    # An account without overrides, and one not listed, get the global rules.
    assert config.rules_for(102) is config.rules
    assert config.rules_for(999) is config.rules
    assert config.rules.daily_realized_loss.limit == Decimal(1000)


def test_guarded_accounts_follow_the_mode() -> None:
    listed = parse_config(OVERRIDES, env={})
    assert listed.guards(101) and listed.guards(102)
    assert not listed.guards(103)
    assert Config().guards(103)


def test_a_bad_override_is_reported_under_the_account_and_global_errors_once() -> None:
    text = """
rules:
  daily_net_loss: {enabled: true, limit: -1}
accounts:
  list:
    - id: 5
      rules:
        daily_realized_loss: {enabled: true}
        max_contracts: {limt: 3}
        daily_net_loss: {trailing: true}
"""
    with pytest.raises(ConfigError) as info:
        parse_config(text, env={})
    assert sorted(info.value.problems) == [
        "accounts.list[0].rules.daily_realized_loss.limit: is required when the rule is enabled",
        "accounts.list[0].rules.max_contracts.limt: unknown key "
        "(check its spelling and the section it is in)",
        "rules.daily_net_loss.limit: must be > 0",
    ]


def test_duplicate_accounts_and_an_empty_listed_mode_are_refused() -> None:
    with pytest.raises(ValidationError, match="account 5 is listed twice"):
        Config.model_validate({"accounts": {"list": [{"id": 5}, {"id": 5}]}})
    with pytest.raises(ValidationError, match="mode: listed needs at least one account"):
        Config.model_validate({"accounts": {"mode": "listed"}})


def test_deep_merge_merges_mappings_and_replaces_the_rest() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    assert deep_merge(base, {"a": {"y": [3]}, "c": 2}) == {"a": {"x": 1, "y": [3]}, "b": 1, "c": 2}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}


def test_contract_overrides_extend_and_change_the_catalog() -> None:
    config = Config.model_validate(
        {
            "contracts": [
                {"symbol": "mnq", "commissions": "0.37"},
                {"symbol": "ZN", "root": "TYA", "tick_size": 0.015625, "tick_value": 15.625},
            ]
        }
    )
    catalog = config.catalog()
    assert catalog.by_symbol("MNQ").commissions == Decimal("0.37")
    assert catalog.by_symbol("MNQ").tick_value == Decimal("0.50")  # unchanged field kept
    zn = catalog.by_contract_id("CON.F.US.TYA.H27")
    assert (zn.symbol, zn.tick_size, zn.tick_value) == (
        "ZN",
        Decimal("0.015625"),
        Decimal("15.625"),
    )
    with pytest.raises(UnknownContractError):
        Config().catalog().by_symbol("ZN")


def test_a_new_contract_needs_root_and_ticks() -> None:
    with pytest.raises(ValidationError, match="ZN is not in the built-in catalog: give root"):
        Config.model_validate({"contracts": [{"symbol": "ZN", "tick_size": 0.015625}]})


def test_broker_credentials_are_required_only_on_demand() -> None:
    with pytest.raises(ConfigError) as info:
        Config().require_broker_credentials()
    assert info.value.problems == [
        "broker.username: is required to run the daemon",
        "broker.api_key: is required to run the daemon",
    ]
    blank = Config.model_validate({"broker": {"username": "u", "api_key": ""}})
    assert blank.broker.api_key is None
    Config.model_validate(
        {"broker": {"username": "u", "api_key": SECRET}}
    ).require_broker_credentials()


def _secret_config() -> Config:
    return parse_config(
        "broker: {username: trader, api_key: '${KEY}'}\nalerts: {webhook_url: '${HOOK}'}\n",
        env={"KEY": SECRET, "HOOK": HOOK},
    )


def test_secrets_never_appear_in_repr_str_or_the_masked_dump() -> None:
    config = _secret_config()
    assert config.broker.api_key is not None
    assert config.broker.api_key.get_secret_value() == SECRET
    shown = [
        repr(config),
        str(config),
        repr(config.broker),
        str(config.alerts),
        str(config.masked_dict()),
        config.model_dump_json(),
        config.masked_yaml(),
    ]
    for text in shown:
        assert SECRET not in text
        assert "secret-hook-token" not in text
    masked = config.masked_dict()
    assert masked["broker"]["api_key"] == MASK
    assert masked["alerts"]["webhook_url"] == MASK
    assert masked["broker"]["username"] == "trader"


def test_secrets_never_appear_in_error_messages() -> None:
    texts = [
        f"broker: {{api_key: [{SECRET}]}}\n",
        f"broker: {{apikey: {SECRET}}}\n",
        f"alerts: {{webhook_url: '{SECRET}'}}\n",
        f"broker:\n  api_key: {SECRET}: x\n",
    ]
    for text in texts:
        with pytest.raises(ConfigError) as info:
            parse_config(text, env={})
        assert info.value.problems  # something was reported
        assert SECRET not in str(info.value)
        assert info.value.__cause__ is None and info.value.__suppress_context__


def test_masked_dict_is_the_effective_config_and_loads_again() -> None:
    config = parse_config(OVERRIDES, env={})
    dumped = config.masked_dict()
    assert dumped["rules"]["daily_realized_loss"] == {
        "enabled": True,
        "warn_at": None,
        "limit": Decimal(1000),
        "include_fees": True,
    }
    assert dumped["rules"]["no_stop_loss_grace"]["grace"] == "30s"
    assert dumped["trading_day"]["weekly_reset"] == {"day": "sun", "time": "17:00"}
    assert dumped["accounts"]["list"][0]["rules"]["daily_realized_loss"] == {"limit": 400}
    again = Config.model_validate(dumped)
    assert again == config
    assert again.rules_for(101) == config.rules_for(101)
