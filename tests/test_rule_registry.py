"""Each rule's metadata lives on its config class; every list of rules in the code and the
rule book's table must agree with it (a forgotten list once showed a contract count as money)."""

from __future__ import annotations

import re
from pathlib import Path

from risk_manager.cli.bench import ALL_RULES
from risk_manager.config.rules import RULE_KEYS, RULE_MODELS, RuleConfig, RulesConfig
from risk_manager.engine.rules import LOSS_LOCK_RULES, RULE_CLASSES
from risk_manager.runtime.views import COUNT_RULES

DOCS = Path(__file__).resolve().parents[1] / "docs" / "RULES.md"


def _docs_table() -> dict[str, str]:
    """Rule id → the row of the rule book's §3 table."""
    rows = re.findall(r"^\| (RULE-\d{3}) \| `(\w+)`.*$", DOCS.read_text(encoding="utf-8"), re.M)
    return dict(rows)


def test_every_config_class_has_one_rule_class_and_a_config_field() -> None:
    assert set(RULE_CLASSES) == set(RULE_KEYS)
    for model in RULE_MODELS:
        assert RULE_CLASSES[model.key].config_type is model
        field = RulesConfig.model_fields[model.key]
        assert field.annotation is model, model.key
    rule_fields = {k for k, f in RulesConfig.model_fields.items() if _is_rule(f.annotation)}
    assert rule_fields == set(RULE_KEYS)


def _is_rule(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, RuleConfig)


def test_ids_keys_and_titles_are_unique_and_in_order() -> None:
    ids = [m.rule_id for m in RULE_MODELS]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"RULE-\d{3}", i) for i in ids)
    assert len({m.key for m in RULE_MODELS}) == len(ids)
    assert all(m.title for m in RULE_MODELS) and len({m.title for m in RULE_MODELS}) == len(ids)


def test_the_rule_books_table_names_every_rule_with_its_key() -> None:
    assert _docs_table() == {m.rule_id: m.key for m in RULE_MODELS}


def test_derived_lists_follow_the_metadata() -> None:
    assert set(LOSS_LOCK_RULES) == {m.key for m in RULE_MODELS if m.locks_for_loss}
    assert {m.key for m in RULE_MODELS if m.unit in ("contracts", "fills")} == COUNT_RULES
    assert "max_contracts" in COUNT_RULES and "daily_net_loss" not in COUNT_RULES
    for key in LOSS_LOCK_RULES:  # a loss lock is money, and the rule book says it locks
        model = next(m for m in RULE_MODELS if m.key == key)
        assert model.unit == "money"
        row = next(
            line for line in DOCS.read_text(encoding="utf-8").splitlines()
            if line.startswith(f"| {model.rule_id} |")
        )  # fmt: skip
        assert "lock until" in row


def test_the_bench_turns_every_rule_on() -> None:
    rules = RulesConfig.model_validate(ALL_RULES)
    assert [r.key for r in rules.enabled_rules()] == list(RULE_KEYS)
