"""RULE-015 daily_net_loss: day's net P&L ≤ −limit (or ≤ peak − limit when trailing) →
flatten, lock until reset. Net = day's realized (net of fees) + unrealized; unknown when any open
position has no mark, and then the rule alerts instead of guessing."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from risk_manager.config.durations import UntilSentinel
from risk_manager.config.rules import DailyNetLoss
from risk_manager.domain.actions import AnyAction
from risk_manager.engine.rules.base import Context, Rule, Trigger, money


class DailyNetLossRule(Rule[DailyNetLoss]):
    triggers: ClassVar[Trigger] = Trigger.TRADE | Trigger.QUOTE | Trigger.POSITION
    values_positions: ClassVar[bool] = True

    def __init__(self, config: DailyNetLoss) -> None:
        super().__init__(config)
        assert config.limit is not None
        self.limit: Decimal = config.limit
        self.trailing = config.trailing
        self.fixed_floor = -self.limit  # the floor when not trailing

    def measure(self, ctx: Context) -> tuple[Decimal, Decimal] | None:
        net = ctx.day_net()
        if net is None:
            return None
        start = ctx.ledger.day_peak_net if self.trailing else Decimal(0)
        return start - net, self.limit

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        if self.key in ctx.locked_rules:
            return []
        net = ctx.day_net()
        if net is None:
            return self.unknown_mark_alert(ctx)
        floor = ctx.ledger.day_peak_net - self.limit if self.trailing else self.fixed_floor
        if net > floor:
            return []
        if self.trailing:
            what = (
                f"net {money(net)} ≤ {money(floor)} (peak {money(ctx.ledger.day_peak_net)}"
                f" − limit {money(self.limit)})"
            )
        else:
            what = f"net {money(net)} ≤ {money(floor)} (limit)"
        return self.flatten_and_lock(ctx, what, UntilSentinel.RESET)
