"""RULE-016 trailing_drawdown (Topstep's Maximum Loss Limit): balance + unrealized ≤ floor +
buffer → flatten, lock until cleared.

floor = highest balance − max_drawdown, where the highest balance is taken over end-of-day
balances (``end_of_day``) or every balance seen (``intraday``), and starts at
``starting_balance`` (or the first balance seen). The floor never falls, and with
``freeze_at_start`` it stops at ``starting_balance`` once it gets there.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from risk_manager.config.durations import UntilSentinel
from risk_manager.config.rules import TrailingDrawdown
from risk_manager.domain.actions import AnyAction
from risk_manager.engine.rules.base import Context, Rule, Trigger, money


class TrailingDrawdownRule(Rule):
    triggers: ClassVar[Trigger] = Trigger.ACCOUNT | Trigger.QUOTE | Trigger.POSITION
    values_positions: ClassVar[bool] = True

    def __init__(self, config: TrailingDrawdown) -> None:
        super().__init__(config)
        assert config.max_drawdown is not None
        self.cfg = config
        self.max_drawdown: Decimal = config.max_drawdown
        self.floor: Decimal | None = None
        self._first_balance: Decimal | None = None

    def update_floor(self, ctx: Context) -> Decimal | None:
        ledger = ctx.ledger
        if ledger.balance is None:
            return self.floor
        if self._first_balance is None:
            self._first_balance = ledger.balance
        start = self.cfg.starting_balance
        highs = [h for h in (start, self._first_balance) if h is not None]
        high = ledger.balance_high if self.cfg.mode == "intraday" else ledger.eod_balance_high
        if high is not None:
            highs.append(high)
        candidate = max(highs) - self.max_drawdown
        if self.cfg.freeze_at_start and start is not None and candidate >= start:
            candidate = start
        frozen = self.cfg.freeze_at_start and start is not None and self.floor == start
        if self.floor is None or (candidate > self.floor and not frozen):
            self.floor = candidate
        return self.floor

    def _equity(self, ctx: Context) -> Decimal | None:
        unrealized = ctx.unrealized()
        if unrealized is None or ctx.ledger.balance is None:
            return None
        return ctx.ledger.balance + unrealized

    def measure(self, ctx: Context) -> tuple[Decimal, Decimal] | None:
        floor = self.update_floor(ctx)
        equity = self._equity(ctx)
        if floor is None or equity is None:
            return None
        allowed = self.max_drawdown - self.cfg.buffer
        room = equity - floor - self.cfg.buffer
        return allowed - room, allowed

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        floor = self.update_floor(ctx)
        if floor is None or self.key in ctx.locked_rules:
            return []
        equity = self._equity(ctx)
        if equity is None:
            return self.unknown_mark_alert(ctx)
        line = floor + self.cfg.buffer
        if equity > line:
            return []
        buffer = f" + buffer {money(self.cfg.buffer)}" if self.cfg.buffer else ""
        what = (
            f"balance + unrealized {money(equity)} ≤ floor {money(floor)}{buffer} "
            f"(max drawdown {money(self.max_drawdown)})"
        )
        return self.flatten_and_lock(ctx, what, UntilSentinel.CLEARED)
