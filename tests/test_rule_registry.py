"""Each rule's metadata lives on its config class; every list of rules in the code and the
rule book's table must agree with it (a forgotten list once showed a contract count as money)."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
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
    ("session_block_outside", "_stages_of"): "a session's stage instants (session and config)",
    ("symbol_blocks", "_cache"): "a contract's blocked symbol (config and catalog alone)",
    ("symbol_blocks", "_root_patterns"): "whether a pattern names roots (config alone)",
}


MUTATORS = frozenset(
    {"add", "append", "appendleft", "clear", "discard", "extend", "insert", "pop", "popitem"}
    | {"remove", "setdefault", "update"}
)  # the methods by which a set, list, deque or dict on ``self`` changes in place


def _on_self(node: ast.expr) -> str | None:
    """``X`` when ``node`` is ``self.X`` or reaches into it (``self.X[k]``, ``self.X.y``)."""
    while isinstance(node, ast.Subscript | ast.Attribute | ast.Starred):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return node.attr if node.value.id == "self" else None
        node = node.value
    return None


def _targets(node: ast.AST) -> list[ast.expr]:
    """What ``node`` writes: assignment and ``del`` targets, a mutating method's receiver."""
    if isinstance(node, ast.Assign | ast.Delete):
        found = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        found = [node.target]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        found = [node.func.value] if node.func.attr in MUTATORS else []
    else:
        return []
    flat: list[ast.expr] = []
    while found:  # a, (self.b, c) = ...
        t = found.pop()
        if isinstance(t, ast.Tuple | ast.List):
            found.extend(t.elts)
        else:
            flat.append(t)
    return flat


def state_outside_init(source: str) -> set[str]:
    """The attributes of ``self`` that a class's methods other than ``__init__`` set or
    change in place (``setattr(self, ...)`` counts as ``"setattr"``)."""
    (cls,) = [c for c in ast.parse(textwrap.dedent(source)).body if isinstance(c, ast.ClassDef)]
    found: set[str] = set()
    for func in ast.walk(cls):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef) or func.name == "__init__":
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "setattr":
                found.add("setattr")
            found.update(a for t in _targets(node) if (a := _on_self(t)) is not None)
    return found


def test_the_state_walker_sees_every_way_of_keeping_state() -> None:
    source = """
    class Sneaky(RealizedThresholdRule[DailyRealizedLoss]):
        def __init__(self, config):
            self.fine = set()
        def evaluate(self, ctx):
            self.seen.add(ctx.now)
            self.a, (self.b, other) = 1, (2, 3)
            self.book.by_day[ctx.day] = 1
            del self.gone[0]
            self.total += 1
            ctx.alerted.add("not ours")
            setattr(self, "hidden", 1)
            return self.alert(ctx, "x")
    """
    assert state_outside_init(source) == {"seen", "a", "b", "book", "gone", "total", "setattr"}


def test_no_rule_keeps_state_of_its_own() -> None:
    """A rule that remembered something on itself would forget it at a restart and share
    it with nothing the store persists: every attribute a rule class (or a rule base class it
    inherits from, ``Rule`` included) sets or changes in place outside ``__init__`` must be a
    listed cache."""
    classes = {
        c
        for rule in RULE_CLASSES.values()
        for c in rule.__mro__
        if c.__module__.startswith("risk_manager.engine.rules.")
    }
    assert Rule in classes and len(classes) > len(RULE_CLASSES)  # the bases are walked too
    found = {
        (c.__module__.rsplit(".", 1)[1], attr)
        for c in classes
        for attr in state_outside_init(inspect.getsource(c))
    }
    assert found <= set(DERIVED), sorted(found - set(DERIVED))
