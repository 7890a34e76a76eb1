"""RULE-013 daily_realized_profit: day's realized P&L ≥ target → flatten, lock until reset."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from risk_manager.config.durations import UntilSentinel
from risk_manager.config.rules import DailyRealizedProfit
from risk_manager.domain.actions import AnyAction
from risk_manager.engine.rules.base import Context, Rule, Trigger, money


class DailyRealizedProfitRule(Rule):
    triggers: ClassVar[Trigger] = Trigger.TRADE

    def __init__(self, config: DailyRealizedProfit) -> None:
        super().__init__(config)
        assert config.target is not None
        self.target: Decimal = config.target
        self.include_fees = config.include_fees

    def measure(self, ctx: Context) -> tuple[Decimal, Decimal]:
        return ctx.ledger.day_realized(self.include_fees), self.target

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        if self.key in ctx.locked_rules:
            return []
        realized = ctx.ledger.day_realized(self.include_fees)
        if realized < self.target:
            return []
        what = f"realized {money(realized)} ≥ {money(self.target)} (target)"
        return self.flatten_and_lock(ctx, what, UntilSentinel.RESET)
