"""RULE-002 limits and RULE-011 patterns name contracts by trading symbol or gateway root; a key
that names nothing is refused with its key path (RULES.md §3 details)."""

from __future__ import annotations

import pytest

from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import parse_config


def _problems(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env={})
    return str(caught.value)


def test_a_symbol_or_a_root_is_accepted() -> None:
    parse_config(
        "rules:\n  max_contracts_per_instrument: {enabled: true, limits: {ENQ: 1, ES: 2}}\n", env={}
    )
    parse_config("rules:\n  symbol_blocks: {enabled: true, blocked: [EN*, 'CL*', RTY]}\n", env={})


def test_a_key_that_names_no_contract_is_refused_with_its_path() -> None:
    text = _problems("rules:\n  max_contracts_per_instrument: {enabled: true, limits: {NQX: 1}}\n")
    assert "rules.max_contracts_per_instrument.limits.NQX" in text and "gateway root" in text


def test_two_keys_for_one_contract_are_refused() -> None:
    text = _problems(
        "rules:\n  max_contracts_per_instrument: {enabled: true, limits: {NQ: 1, ENQ: 3}}\n"
    )
    assert "both name NQ" in text


def test_a_pattern_that_matches_nothing_is_refused_also_in_an_account_override() -> None:
    text = _problems(
        "accounts:\n  mode: listed\n  list:\n    - id: 7\n      rules:\n"
        "        symbol_blocks: {enabled: true, blocked: [ZZZ*]}\n"
    )
    assert "accounts.list[0].rules.symbol_blocks.blocked[0]" in text and "ZZZ*" in text


def test_a_contract_added_under_contracts_is_known() -> None:
    parse_config(
        "contracts:\n  - {symbol: MBT, root: MBT, description: Micro Bitcoin, tick_size: 5,"
        " tick_value: 0.5}\n"
        "rules:\n  max_contracts_per_instrument: {enabled: true, limits: {MBT: 1}}\n",
        env={},
    )
