"""RULE-001 max_contracts: contract count > limit → partial-close the excess, taking it from the
position whose size grew most recently; no lock. Micros count ``micro_weight`` each; in ``net``
mode only the side of the (weighted) net exposure is reduced. A contract missing from the
catalog counts as one full contract, with a warning (RULES.md §3 details)."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from risk_manager.config.rules import MaxContracts
from risk_manager.domain.actions import AnyAction
from risk_manager.domain.models import Position
from risk_manager.engine.rules.base import Context, Rule, Trigger
from risk_manager.engine.rules.excess import ONE, reduce_excess


class MaxContractsRule(Rule[MaxContracts]):
    triggers: ClassVar[Trigger] = Trigger.POSITION
    at_limit_breaches: ClassVar[bool] = False  # count > limit

    def __init__(self, config: MaxContracts) -> None:
        super().__init__(config)
        assert config.limit is not None
        self.limit = Decimal(config.limit)
        self.net = config.count == "net"
        self.micro_weight = config.micro_weight

    def _weight(self, ctx: Context, p: Position) -> Decimal:
        spec = ctx.catalog.get(p.contract_id)
        return self.micro_weight if spec is not None and spec.micro else ONE

    def count(self, ctx: Context) -> Decimal:
        if self.net:
            return abs(
                sum(
                    (self._weight(ctx, p) * p.signed_size for p in ctx.ledger.positions.values()),
                    Decimal(0),
                )
            )
        return sum(
            (self._weight(ctx, p) * p.size for p in ctx.ledger.positions.values()), Decimal(0)
        )

    def measure(self, ctx: Context) -> tuple[Decimal, Decimal]:
        return self.count(ctx), self.limit

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        count = self.count(ctx)
        excess = count - self.limit
        actions: list[AnyAction] = [
            self.alert(ctx, f"no contract spec for {cid}; counted as one full contract")
            for cid in sorted(ctx.ledger.positions)
            if ctx.catalog.get(cid) is None and ctx.once(self.key, "unknown", cid)
        ]
        if excess <= 0:
            return actions
        positions = list(ctx.ledger.positions.values())
        if self.net:  # closing the other side would raise the net count (weighted, §3)
            weighted = sum((self._weight(ctx, p) * p.signed_size for p in positions), Decimal(0))
            long = weighted > 0
            positions = [p for p in positions if (p.signed_size > 0) == long]
        mode = "net" if self.net else "gross"
        why = f"{mode} contracts {count:g} > {self.limit:g} (limit)"
        weight = lambda p: self._weight(ctx, p)  # noqa: E731
        return actions + reduce_excess(self, ctx, positions, excess, why, weight)
