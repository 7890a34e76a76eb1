"""RULE-011 symbol_blocks: a working order or position in a blocked symbol (shell-style
patterns on the trading symbol) → cancel the order; close the position when
``close_existing``; no lock. A contract the catalog does not know is matched on its id's root."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import ClassVar

from risk_manager.config.rules import SymbolBlocks
from risk_manager.domain.actions import AnyAction
from risk_manager.domain.contracts import ContractId, UnknownContractError
from risk_manager.engine.rules.base import Context, Rule, Trigger


class SymbolBlocksRule(Rule):
    triggers: ClassVar[Trigger] = Trigger.POSITION | Trigger.ORDER

    def __init__(self, config: SymbolBlocks) -> None:
        super().__init__(config)
        self.patterns = list(config.blocked)
        self.close_existing = config.close_existing
        self._cache: dict[str, str | None] = {}

    def _blocked(self, ctx: Context, contract_id: str) -> str | None:
        """The symbol when blocked, else None (cached: the answer never changes)."""
        if contract_id not in self._cache:
            spec = ctx.catalog.get(contract_id)
            if spec is not None:
                symbol = spec.symbol
            else:
                try:
                    symbol = ContractId.parse(contract_id).root
                except UnknownContractError:
                    symbol = contract_id
            hit = any(fnmatchcase(symbol, pat) for pat in self.patterns)
            self._cache[contract_id] = symbol if hit else None
        return self._cache[contract_id]

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
