"""RULE-002 max_contracts_per_instrument: |size| in one symbol > its limit (or any position in
an unlisted symbol when ``unlisted: block``) → partial-close the excess; no lock. Several
contract months of one symbol count together; the excess comes from the month that grew last.
A contract missing from the catalog is an unlisted symbol of one contract, alerted once, and
closed under ``unlisted: block`` (RULES.md §3 details)."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from risk_manager.config.rules import MaxContractsPerInstrument
from risk_manager.domain.actions import AnyAction
from risk_manager.domain.models import Position
from risk_manager.engine.rules.base import Context, Rule, Trigger
from risk_manager.engine.rules.excess import reduce_excess


class MaxContractsPerInstrumentRule(Rule[MaxContractsPerInstrument]):
    triggers: ClassVar[Trigger] = Trigger.POSITION
    at_limit_breaches: ClassVar[bool] = False  # count > limit

    def __init__(self, config: MaxContractsPerInstrument) -> None:
        super().__init__(config)
        self.limits = dict(config.limits)
        self.block_unlisted = config.unlisted == "block"

    def _by_symbol(self, ctx: Context) -> tuple[dict[str, list[Position]], list[str]]:
        groups: dict[str, list[Position]] = {}
        unknown: list[str] = []
        for p in ctx.ledger.positions.values():
            spec = ctx.catalog.get(p.contract_id)
            if spec is None:
                unknown.append(p.contract_id)
                continue
            groups.setdefault(spec.symbol, []).append(p)
        return groups, unknown

    def _limit(self, ctx: Context, position: Position) -> int | None:
        """The limit keyed by the symbol (NQ) or by the gateway root (ENQ): the same contract."""
        spec = ctx.catalog.get(position.contract_id)
        if spec is None:
            return None
        found = self.limits.get(spec.symbol)
        return found if found is not None else self.limits.get(spec.root)

    def measure(self, ctx: Context) -> tuple[Decimal, Decimal] | None:
        groups, _ = self._by_symbol(ctx)
        worst: tuple[Decimal, Decimal] | None = None
        for positions in groups.values():
            limit = self._limit(ctx, positions[0])
            if limit is None:
                continue
            size = Decimal(sum(p.size for p in positions))  # as evaluate counts it
            if worst is None or size / limit > worst[0] / worst[1]:
                worst = (size, Decimal(limit))
        return worst

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        groups, unknown = self._by_symbol(ctx)
        actions: list[AnyAction] = []
        for cid in unknown:  # §3: one full contract, unlisted; fail closed under `block`
            if ctx.once(self.key, "unknown", cid):
                actions.append(
                    self.alert(ctx, f"no contract spec for {cid}; symbol unknown, counted unlisted")
                )
            if self.block_unlisted:
                what = f"{cid} is not a known symbol and unlisted symbols are blocked; close it"
                actions.append(self.close(ctx, cid, what))
        for symbol, positions in sorted(groups.items()):
            limit = self._limit(ctx, positions[0])
            if limit is None:
                if self.block_unlisted:
                    for p in positions:
                        what = (
                            f"{symbol} is not listed and unlisted symbols are blocked; "
                            f"close {p.contract_id}"
                        )
                        actions.append(self.close(ctx, p.contract_id, what))
                continue
            size = sum(p.size for p in positions)
            if size > limit:
                why = f"{symbol} size {size} > {limit} (limit)"
                actions.extend(reduce_excess(self, ctx, positions, Decimal(size - limit), why))
        return actions
