"""RULE-006 trade_frequency_limit: more fills than allowed in the last 60 s / 60 min / trading
day → lock for that window's cooldown (from the fill that broke the limit), cancel working
orders, flatten when ``flatten``. Every non-voided fill counts once, whatever its size."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import ClassVar

from risk_manager.config.durations import UntilSentinel
from risk_manager.config.rules import TradeFrequencyLimit
from risk_manager.domain.actions import AnyAction
from risk_manager.domain.events import TradeEvent
from risk_manager.domain.locks import LockKind
from risk_manager.engine.rules.base import Context, Rule, Trigger

MINUTE = timedelta(seconds=60)
HOUR = timedelta(hours=1)


class TradeFrequencyLimitRule(Rule[TradeFrequencyLimit]):
    triggers: ClassVar[Trigger] = Trigger.TRADE
    at_limit_breaches: ClassVar[bool] = False  # count > limit
    measure_moves_with_clock: ClassVar[bool] = True  # fills fall out of the 60 s / 60 min windows

    def __init__(self, config: TradeFrequencyLimit) -> None:
        super().__init__(config)
        self.cfg = config

    def _windows(self, ctx: Context) -> list[tuple[str, int, int, timedelta | UntilSentinel]]:
        """(window, fills, limit, cooldown) for each configured window."""
        ref = ctx.now
        if isinstance(ctx.event, TradeEvent):
            ref = ctx.event.trade.created_at
        ledger = ctx.ledger
        out: list[tuple[str, int, int, timedelta | UntilSentinel]] = []
        cd = self.cfg.cooldown
        if self.cfg.per_minute is not None:
            out.append(
                ("per_minute", ledger.fills_since(ref - MINUTE), self.cfg.per_minute, cd.per_minute)
            )
        if self.cfg.per_hour is not None:
            out.append(("per_hour", ledger.fills_since(ref - HOUR), self.cfg.per_hour, cd.per_hour))
        if self.cfg.per_session is not None:
            out.append(("per_session", ledger.fills_day, self.cfg.per_session, cd.per_session))
        return out

    def measure(self, ctx: Context) -> tuple[Decimal, Decimal] | None:
        worst: tuple[Decimal, Decimal] | None = None
        for _, n, limit, _ in self._windows(ctx):
            if worst is None or Decimal(n) / limit > worst[0] / worst[1]:
                worst = (Decimal(n), Decimal(limit))
        return worst

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        if not isinstance(ctx.event, TradeEvent):
            return []
        start = ctx.event.trade.created_at
        kind = LockKind.HARD if self.cfg.flatten else LockKind.SOFT
        actions: list[AnyAction] = []
        for window, n, limit, cooldown in self._windows(ctx):
            if n <= limit:
                continue
            what = f"{n} fills {window.replace('_', ' ')} > {limit} (limit)"
            actions.extend(self.flatten_and_lock(ctx, what, cooldown, kind=kind, start=start))
        if actions and kind is LockKind.SOFT:
            for order in ctx.ledger.trader_orders():
                what = f"fill limit broken; cancel order {order.id}"
                actions.append(self.cancel(ctx, order.id, what))
        return actions
