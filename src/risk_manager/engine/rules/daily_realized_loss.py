"""RULE-003 daily_realized_loss: day's realized P&L ≤ −limit → flatten, lock until reset."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from risk_manager.config.durations import UntilSentinel
from risk_manager.config.rules import DailyRealizedLoss
from risk_manager.domain.actions import AnyAction
from risk_manager.engine.rules.base import Context, Rule, Trigger, money


class DailyRealizedLossRule(Rule):
    triggers: ClassVar[Trigger] = Trigger.TRADE

    def __init__(self, config: DailyRealizedLoss) -> None:
        super().__init__(config)
        assert config.limit is not None
        self.limit: Decimal = config.limit
        self.include_fees = config.include_fees

    def measure(self, ctx: Context) -> tuple[Decimal, Decimal]:
        return -ctx.ledger.day_realized(self.include_fees), self.limit

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        if self.key in ctx.locked_rules:
            return []
        realized = ctx.ledger.day_realized(self.include_fees)
        if realized > -self.limit:
            return []
        what = f"realized {money(realized)} ≤ {money(-self.limit)} (limit)"
        return self.flatten_and_lock(ctx, what, UntilSentinel.RESET)
