"""Conventions checked by a tool rather than by review: one name per class, one home for the
shared aliases (risk_manager/types.py) and for the SignalR framing (risk_manager/signalr.py)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "risk_manager"
MODULES = sorted(SRC.rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _trees() -> list[tuple[str, ast.Module]]:
    return [(_rel(p), ast.parse(p.read_text(encoding="utf-8"))) for p in MODULES]


def test_no_two_classes_in_src_share_a_name() -> None:
    """A grep for ``class QuoteEvent`` must find the one it means (the client and the
    simulator each had their own QuoteEvent, HubConnection, ProtocolError, Bracket...)."""
    where: defaultdict[str, list[str]] = defaultdict(list)
    for module, tree in _trees():
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                where[node.name].append(module)
    assert {name: paths for name, paths in where.items() if len(paths) > 1} == {}


def test_clock_and_sleep_aliases_and_utc_now_live_only_in_types() -> None:
    written_out = ("Callable[[], datetime]", "Callable[[float], Awaitable[None]]")
    found = []
    for module, tree in _trees():
        if module == "types.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.strip("_") in ("utc_now", "utcnow"):
                found.append(f"{module}: def {node.name}")
            if isinstance(node, ast.Subscript) and ast.unparse(node) in written_out:
                found.append(f"{module}:{node.lineno}: {ast.unparse(node)}")
    assert found == [], "use risk_manager.types (Clock, Sleep, utc_now)"


def test_only_the_framing_module_spells_the_record_separator() -> None:
    spelled = [
        _rel(p)
        for p in MODULES
        if _rel(p) != "signalr.py" and "\\x1e" in p.read_text(encoding="utf-8")
    ]
    assert spelled == [], "use risk_manager.signalr (RECORD_SEPARATOR, RecordBuffer)"
