"""Shared by RULE-001 and RULE-002: partial-close an excess, taking it from the positions whose
size grew most recently (RULES.md §3)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from decimal import Decimal

from risk_manager.domain.actions import AnyAction
from risk_manager.domain.models import Position
from risk_manager.engine.rules.base import AnyRule, Context

ONE = Decimal(1)


def reduce_excess(
    rule: AnyRule,
    ctx: Context,
    positions: Iterable[Position],
    excess: Decimal,
    why: str,
    weight: Callable[[Position], Decimal] = lambda _p: ONE,
) -> list[AnyAction]:
    """Closes ``excess`` contracts (each counting ``weight``), the latest grown first."""
    growth = ctx.ledger.growth_seq
    actions: list[AnyAction] = []
    for p in sorted(positions, key=lambda p: growth.get(p.contract_id, 0), reverse=True):
        if excess <= 0:
            break
        w = weight(p)
        n = min(p.size, math.ceil(excess / w))
        excess -= n * w
        size = None if n == p.size else n
        actions.append(
            rule.close(ctx, p.contract_id, f"{why}; reduce {p.contract_id} by {n}", size)
        )
    return actions
