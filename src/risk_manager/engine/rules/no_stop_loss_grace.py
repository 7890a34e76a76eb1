"""RULE-008 no_stop_loss_grace: a position open for ``grace`` with no working stop (ours or the
trader's) on the opposite side of that contract → close it. The broker's open orders are the
ledger's working orders, kept current by the hub and by REST snapshots; the close carries
``unless_stop``: the runtime reads the broker's open orders before it sends it, and a working
stop found there cancels it (RULES.md §5)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from risk_manager.config.rules import NoStopLossGrace
from risk_manager.domain.actions import AnyAction
from risk_manager.domain.enums import OrderStatus
from risk_manager.domain.models import Position
from risk_manager.engine.rules.base import Context, Rule, Trigger

_PROTECTING = frozenset({OrderStatus.OPEN, OrderStatus.PENDING, OrderStatus.SUSPENDED})


def unprotected(ctx: Context) -> list[tuple[str, Position]]:
    """Open positions with no working stop order on their exit side (orders read once)."""
    positions = ctx.ledger.positions
    if not positions:
        return []
    stops = {
        (o.contract_id, o.side)
        for o in ctx.ledger.orders.values()
        if o.type.is_stop and o.status in _PROTECTING
    }
    return [(cid, p) for cid, p in positions.items() if (cid, p.exit_side) not in stops]


class NoStopLossGraceRule(Rule[NoStopLossGrace]):
    triggers: ClassVar[Trigger] = Trigger.POSITION | Trigger.ORDER | Trigger.CLOCK

    def __init__(self, config: NoStopLossGrace) -> None:
        super().__init__(config)
        self.grace = config.grace

    def _deadline(self, ctx: Context, cid: str) -> datetime:
        return ctx.ledger.opened_at.get(cid, ctx.now) + self.grace

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        actions: list[AnyAction] = []
        for cid, _ in unprotected(ctx):
            if ctx.now < self._deadline(ctx, cid):
                continue
            what = f"{cid} open {self.grace.total_seconds():g}s without a stop order"
            actions.append(self.close(ctx, cid, f"{what}; close position", unless_stop=True))
        return actions

    def wakeup(self, ctx: Context) -> datetime | None:
        due = [self._deadline(ctx, cid) for cid, _ in unprotected(ctx)]
        future = [d for d in due if d > ctx.now]
        return min(future) if future else None
