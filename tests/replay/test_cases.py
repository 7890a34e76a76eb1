"""Every case under tests/replay/cases/ through `risk-manager replay`: inputs the product once
got wrong, each with the actions the rule book requires (``expected``: every one must be seen;
``optional``: may also be seen; anything else is a failure). Instants compare as instants,
prices and sizes as decimals; ``account_id`` defaults to 7."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from risk_manager.cli.main import app

CASES = Path(__file__).parent / "cases"
XFAIL: dict[str, str] = {}  # case name → why it still fails (none today)
runner = CliRunner()


def _instant(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _same(key: str, want: object, have: object) -> bool:
    if key in ("at", "until") and want is not None and have is not None:
        return _instant(want) == _instant(have)
    if key in ("price", "size") and want is not None and have is not None:
        return Decimal(str(want)) == Decimal(str(have))
    return want == have


def matches(want: dict[str, Any], have: dict[str, Any]) -> bool:
    """Every field given in ``want`` equals the action's (``account_id`` defaults to 7)."""
    want = {"account_id": 7, **want}
    for key, value in want.items():
        if key.startswith("_"):
            continue
        if key == "reason_contains":
            words = [value] if isinstance(value, str) else value
            if not all(w in have.get("reason", "") for w in words):
                return False
        elif key not in have or not _same(key, value, have[key]):
            return False
    return True


def run_case(case: Path) -> list[str]:
    spec = json.loads((case / "expected.json").read_text())
    args = ["replay", str(case / "events.jsonl"), "--config", str(case / "config.yaml"), "--json"]
    if spec.get("until"):
        args += ["--until", spec["until"]]
    result = runner.invoke(app, args)
    if result.exit_code != 0:
        return [f"exit {result.exit_code}: {result.stderr[-300:]}"]
    observed = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    left = list(range(len(observed)))
    problems = []
    for want in spec["expected"]:
        hit = next((i for i in left if matches(want, observed[i])), None)
        if hit is None:
            problems.append(f"missing {want}")
        else:
            left.remove(hit)
    for i in left:
        if not any(matches(o, observed[i]) for o in spec.get("optional", [])):
            problems.append(f"unexpected {observed[i]}")
    return problems


def _params() -> list[Any]:
    out = []
    for case in sorted(p for p in CASES.iterdir() if p.is_dir()):
        marks = (
            [pytest.mark.xfail(strict=True, reason=XFAIL[case.name])] if case.name in XFAIL else []
        )
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


@pytest.mark.parametrize("case", _params())
def test_case_gives_the_actions_the_rule_book_requires(case: Path) -> None:
    assert run_case(case) == []
