"""RULE-001 max_contracts: contract count > limit → partial-close the excess, taking it from the
position whose size grew most recently; no lock. Micros count ``micro_weight`` each."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import ClassVar

from risk_manager.config.rules import MaxContracts
from risk_manager.domain.actions import AnyAction, ClosePosition
from risk_manager.domain.models import Position
from risk_manager.engine.rules.base import Context, Rule, Trigger

ONE = Decimal(1)


class MaxContractsRule(Rule):
    triggers: ClassVar[Trigger] = Trigger.POSITION

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
        if excess <= 0:
            return []
        ledger = ctx.ledger
        net_sign = 0
        if self.net:
            net_sign = 1 if sum(p.signed_size for p in ledger.positions.values()) > 0 else -1
        order = sorted(
            ledger.positions.values(),
            key=lambda p: ledger.growth_seq.get(p.contract_id, 0),
            reverse=True,
        )
        actions: list[AnyAction] = []
        mode = "net" if self.net else "gross"
        for p in order:
            if excess <= 0:
                break
            if self.net and (p.signed_size > 0) != (net_sign > 0):
                continue  # closing the other side would raise the net count
            weight = self._weight(ctx, p)
            n = min(p.size, math.ceil(excess / weight))
            excess -= n * weight
            reason = (
                f"{self.key}: {mode} contracts {count:g} > {self.limit:g} (limit); "
                f"reduce {p.contract_id} by {n}"
            )
            actions.append(
                ClosePosition(
                    at=ctx.now,
                    account_id=ctx.account_id,
                    rule=self.key,
                    reason=reason,
                    contract_id=p.contract_id,
                    size=None if n == p.size else n,
                )
            )
        return actions
