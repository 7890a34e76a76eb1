"""Each rule's metadata lives on its config class; every list of rules in the code and the
rule book's table must agree with it (a forgotten list once showed a contract count as money)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from risk_manager.cli.bench import ALL_RULES
from risk_manager.config.rules import RULE_KEYS, RULE_MODELS, RuleConfig, RulesConfig
from risk_manager.engine.rules import LOSS_LOCK_RULES, RULE_CLASSES
from risk_manager.engine.rules.base import Rule
from risk_manager.runtime.views import MONEY_RULES

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
    assert {m.key for m in RULE_MODELS if m.unit == "money"} == MONEY_RULES
    assert "daily_net_loss" in MONEY_RULES and "max_contracts" not in MONEY_RULES
    for key in LOSS_LOCK_RULES:  # a loss lock is money, and the rule book says it locks
        model = next(m for m in RULE_MODELS if m.key == key)
        assert model.unit == "money"
        row = next(
            line for line in DOCS.read_text(encoding="utf-8").splitlines()
            if line.startswith(f"| {model.rule_id} |")
        )  # fmt: skip
        assert "lock until" in row


def test_a_rule_that_measures_says_in_what() -> None:
    """``unit`` defaults to "none"; a rule with a value and a limit left at the default would
    have the dashboards guess how to show them."""
    measuring = {k for k, cls in RULE_CLASSES.items() if cls.measure is not Rule.measure}
    assert "max_contracts" in measuring and "symbol_blocks" not in measuring
    unitless = sorted(m.key for m in RULE_MODELS if m.key in measuring and m.unit == "none")
    assert unitless == []


def test_the_bench_turns_every_rule_on() -> None:
    rules = RulesConfig.model_validate(ALL_RULES)
    assert [r.key for r in rules.enabled_rules()] == list(RULE_KEYS)


# Attributes a rule may set after construction: caches derived from its config and the
# calendar alone (recomputed the same way after a restart) and per-evaluation scratch.
# Anything a rule must remember across events lives in the engine (``Context.memory``,
# ``Context.alerted``, ``Context.placing``), which the store persists (issue 12, item 4).
DERIVED = {
    ("trade_management", "_n"): "the last tag number, read from memory at each evaluation",
    ("session_block_outside", "_session"): "the calendar's session at the last instant asked",
    ("session_block_outside", "_closed_until"): "the calendar's next session start",
    ("symbol_blocks", "_cache"): "a contract's blocked symbol (config and catalog alone)",
    ("symbol_blocks", "_root_patterns"): "whether a pattern names roots (config alone)",
}


def _is_rule_class(node: ast.ClassDef) -> bool:
    """``class XRule(Rule[Config])`` (the base class itself is not a rule)."""
    return any(
        isinstance(b, ast.Subscript) and isinstance(b.value, ast.Name) and b.value.id == "Rule"
        for b in node.bases
    )


def test_no_rule_keeps_state_of_its_own() -> None:
    """A rule that remembered something on itself would forget it at a restart and share
    it with nothing the store persists: every assignment to ``self.X`` outside ``__init__``
    (or a mutation of a container there) must be a listed cache."""
    rules_dir = Path(__file__).resolve().parents[1] / "src" / "risk_manager" / "engine" / "rules"
    found: set[tuple[str, str]] = set()
    for path in sorted(rules_dir.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes = [c for c in ast.walk(tree) if isinstance(c, ast.ClassDef) and _is_rule_class(c)]
        funcs = [f for c in classes for f in ast.walk(c) if isinstance(f, ast.FunctionDef)]
        for func in funcs:
            if func.name == "__init__":
                continue
            for node in ast.walk(func):
                targets: list[ast.expr] = []
                if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    while isinstance(t, ast.Subscript):  # self._x[k] = ... mutates it too
                        t = t.value
                    if (
                        isinstance(t, ast.Attribute)
                        and isinstance(t.value, ast.Name)
                        and t.value.id == "self"
                    ):
                        found.add((path.stem, t.attr))
    assert found <= set(DERIVED), sorted(found - set(DERIVED))
