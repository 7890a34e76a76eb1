"""Shared by RULE-004 and RULE-005: a threshold on unrealized P&L, per position or in total."""

from __future__ import annotations

from collections.abc import ValuesView
from decimal import Decimal
from typing import ClassVar

from risk_manager.domain.actions import AnyAction
from risk_manager.engine.rules.base import C, Context, Rule, Trigger, money


class UnrealizedThresholdRule(Rule[C]):
    """``sign`` = −1 for a loss limit (fires at ≤ −amount), +1 for a profit target (≥ amount)."""

    triggers: ClassVar[Trigger] = Trigger.QUOTE | Trigger.POSITION
    values_positions: ClassVar[bool] = True
    sign: ClassVar[int] = 1
    word: ClassVar[str] = "target"

    def __init__(self, config: C, amount: Decimal, scope: str) -> None:
        super().__init__(config)
        self.amount = amount
        self.scope = scope
        self.total = scope == "total"
        self.line = amount * self.sign  # the signed threshold
        self.op = "≤" if self.sign < 0 else "≥"

    def measure(self, ctx: Context) -> tuple[Decimal, Decimal] | None:
        if self.total:
            total = ctx.unrealized()
            return None if total is None else (total * self.sign, self.amount)
        worst: Decimal | None = None
        for u in ctx.position_unrealized().values():
            if u is not None and (worst is None or u * self.sign > worst):
                worst = u * self.sign
        return None if worst is None else (worst, self.amount)

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        # Runs on every quote: the common case (nothing near the line) returns early.
        if self.total:
            total = ctx.unrealized()
            if total is None:
                return self.unknown_mark_alert(ctx)
            line = self.line
            if not ctx.ledger.positions or (total > line if self.sign < 0 else total < line):
                return []
            limit = money(self.line)
            what = f"unrealized {money(total)} {self.op} {limit} ({self.word}); flatten"
            return [self.flatten(ctx, what)]
        per = ctx.position_unrealized()
        line = self.line
        # The total (kept with the values) is unknown exactly when a position's is; cheaper
        # than `None in per.values()`, whose Decimal == None goes through the numbers ABCs.
        unknown = ctx.unrealized() is None
        if not unknown:  # all known: the worst one alone says whether any is hit
            # no None among them (a cast() would be one more call on every quote)
            known: ValuesView[Decimal] = per.values()  # type: ignore[assignment]
            if not known or (min(known) > line if self.sign < 0 else max(known) < line):
                return []
        if self.sign < 0:
            hits = [(cid, u) for cid, u in per.items() if u is not None and u <= line]
        else:
            hits = [(cid, u) for cid, u in per.items() if u is not None and u >= line]
        actions: list[AnyAction] = []
        limit = money(line)
        for cid, u in hits:
            what = f"{cid} unrealized {money(u)} {self.op} {limit} ({self.word}); close position"
            actions.append(self.close(ctx, cid, what))
        if unknown:
            actions.extend(self.unknown_mark_alert(ctx))
        return actions
