"""Symbol keys in the rules (RULES.md §3 details): RULE-002 ``limits`` and RULE-011 ``blocked``
accept the trading symbol (``NQ``) or the gateway root (``ENQ``), both meaning the same
contract; anything that names no contract of the catalog (built-ins plus ``contracts:``) is a
config error, never a limit that silently applies to nothing."""

from __future__ import annotations

from fnmatch import fnmatchcase

from risk_manager.config.rules import RulesConfig
from risk_manager.domain.contracts import ContractCatalog

Problem = tuple[tuple[str | int, ...], str, str]  # (location under `rules`, message, the key)


def symbol_problems(rules: RulesConfig, catalog: ContractCatalog) -> list[Problem]:
    """Every RULE-002 limit key and RULE-011 pattern that names no known contract, and every
    pair of RULE-002 keys naming the same one (``NQ`` and ``ENQ``)."""
    names = {spec.symbol: spec.symbol for spec in catalog} | {
        spec.root: spec.symbol for spec in catalog
    }
    hint = "use the trading symbol (NQ) or the gateway root (ENQ), or add it under `contracts:`"
    out: list[Problem] = []
    seen: dict[str, str] = {}
    for key in rules.max_contracts_per_instrument.limits:
        symbol = names.get(key)
        loc = ("max_contracts_per_instrument", "limits", key)
        if symbol is None:
            out.append((loc, f"{key} is not a known symbol or gateway root; {hint}", key))
        elif symbol in seen:
            msg = f"{key} and {seen[symbol]} both name {symbol}; keep one"
            out.append((loc, msg, key))
        else:
            seen[symbol] = key
    for index, pattern in enumerate(rules.symbol_blocks.blocked):
        if not any(fnmatchcase(name, pattern) for name in names):
            at: tuple[str | int, ...] = ("symbol_blocks", "blocked", index)
            out.append((at, f"{pattern} matches no known symbol or gateway root; {hint}", pattern))
    return out
