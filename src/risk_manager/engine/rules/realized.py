"""Shared by RULE-003, 013 and 014: a threshold on the day's (or week's) realized P&L →
flatten and lock until the period's reset."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from risk_manager.config.durations import UntilSentinel
from risk_manager.domain.actions import AnyAction
from risk_manager.engine.rules.base import C, Context, Rule, Trigger, money


class RealizedThresholdRule(Rule[C]):
    """``sign`` = −1 for a loss limit (fires at ≤ −amount), +1 for a profit target (≥ amount)."""

    triggers: ClassVar[Trigger] = Trigger.TRADE
    sign: ClassVar[int] = -1
    word: ClassVar[str] = "limit"
    label: ClassVar[str] = "realized"
    until: ClassVar[UntilSentinel] = UntilSentinel.RESET

    def __init__(self, config: C, amount: Decimal, include_fees: bool) -> None:
        super().__init__(config)
        self.amount = amount
        self.include_fees = include_fees

    def realized(self, ctx: Context) -> Decimal:
        if self.period == "week":
            return ctx.ledger.week_realized(self.include_fees)
        return ctx.ledger.day_realized(self.include_fees)

    def measure(self, ctx: Context) -> tuple[Decimal, Decimal]:
        return self.realized(ctx) * self.sign, self.amount

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        if self.key in ctx.locked_rules:
            return []
        realized = self.realized(ctx)
        if realized * self.sign < self.amount:
            return []
        op = "≤" if self.sign < 0 else "≥"
        what = f"{self.label} {money(realized)} {op} {money(self.amount * self.sign)} ({self.word})"
        return self.flatten_and_lock(ctx, what, self.until)
