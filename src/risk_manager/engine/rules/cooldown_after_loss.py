"""RULE-007 cooldown_after_loss: one closing fill losing (net of its fees) at least a tier's
loss → lock for the largest matching tier's cooldown; flatten when ``flatten``."""

from __future__ import annotations

from typing import ClassVar

from risk_manager.config.rules import CooldownAfterLoss
from risk_manager.domain.actions import AnyAction
from risk_manager.domain.events import TradeEvent
from risk_manager.domain.locks import LockKind
from risk_manager.engine.rules.base import Context, Rule, Trigger, money


class CooldownAfterLossRule(Rule[CooldownAfterLoss]):
    triggers: ClassVar[Trigger] = Trigger.TRADE

    def __init__(self, config: CooldownAfterLoss) -> None:
        super().__init__(config)
        self.cfg = config

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        event = ctx.event
        if not isinstance(event, TradeEvent) or not event.trade.is_closing or event.trade.voided:
            return []
        loss = -event.trade.net_pnl(include_fees=True)
        tier = self.cfg.tier_for(loss)
        if tier is None:
            return []
        kind = LockKind.HARD if self.cfg.flatten else LockKind.SOFT
        what = f"fill {event.trade.id} lost {money(loss)} ≥ {money(tier.loss)} (tier); cooldown"
        return self.flatten_and_lock(ctx, what, tier.cooldown, kind=kind)
