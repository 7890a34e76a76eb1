"""RULE-011 symbol_blocks: a working order or position in a blocked symbol (shell-style
patterns on the trading symbol, or on the gateway root when a pattern matches no symbol) →
cancel the order; close the position when ``close_existing``; no lock. A contract the catalog
does not know is matched on its id's root."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import ClassVar

from risk_manager.config.rules import SymbolBlocks
from risk_manager.domain.actions import AnyAction
from risk_manager.domain.contracts import ContractId, UnknownContractError
from risk_manager.engine.rules.base import Context, Rule, Trigger


class SymbolBlocksRule(Rule[SymbolBlocks]):
    triggers: ClassVar[Trigger] = Trigger.POSITION | Trigger.ORDER

    def __init__(self, config: SymbolBlocks) -> None:
        super().__init__(config)
        self.patterns = list(config.blocked)
        self.close_existing = config.close_existing
        self._cache: dict[str, str | None] = {}
        self._root_patterns: dict[str, bool] = {}

    def _blocked(self, ctx: Context, contract_id: str) -> str | None:
        """The symbol when blocked, else None (cached: the answer never changes)."""
        if contract_id not in self._cache:
            spec = ctx.catalog.get(contract_id)
            if spec is not None:
                symbol, root = spec.symbol, spec.root
            else:
                try:
                    symbol = root = ContractId.parse(contract_id).root
                except UnknownContractError:
                    symbol = root = contract_id
            hit = any(
                fnmatchcase(root if self._names_roots(ctx, pat) else symbol, pat)
                for pat in self.patterns
            )
            self._cache[contract_id] = symbol if hit else None
        return self._cache[contract_id]

    def _names_roots(self, ctx: Context, pattern: str) -> bool:
        """A pattern is read on trading symbols (``E*`` is ES, not NQ's root ENQ) unless it
        matches none of them: then it names gateway roots (``EN*`` is NQ), RULES.md §3."""
        mode = self._root_patterns.get(pattern)
        if mode is None:
            mode = not any(fnmatchcase(spec.symbol, pattern) for spec in ctx.catalog)
            self._root_patterns[pattern] = mode
        return mode

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        actions: list[AnyAction] = []
        for order in ctx.ledger.trader_orders():
            symbol = self._blocked(ctx, order.contract_id)
            if symbol is not None:
                what = f"{symbol} is blocked; cancel order {order.id}"
                actions.append(self.cancel(ctx, order.id, what))
        if self.close_existing:
            for cid in ctx.ledger.positions:
                symbol = self._blocked(ctx, cid)
                if symbol is not None:
                    actions.append(self.close(ctx, cid, f"{symbol} is blocked; close {cid}"))
        return actions
