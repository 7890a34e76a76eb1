"""RULE-016 trailing_drawdown (Topstep's Maximum Loss Limit): balance + unrealized ≤ floor +
buffer → flatten, lock until cleared.

floor = peak balance − max_drawdown. The peak starts at the account's ``starting_balance``
(its own value under ``accounts.list``), or when none is set at the balance first seen for the
account; it is raised by end-of-day balances (``end_of_day``: only the balance standing at a
daily reset) or by every balance seen (``intraday``). The floor never falls, and with
``freeze_at_start`` and a ``starting_balance`` it stops there once it gets there.

Peak, floor and the starting balance are rule memory (RULES.md §3 details): kept by
:meth:`TrailingDrawdownRule.remember`, stored, and restored after a restart, never recomputed
from whatever balance comes first. :meth:`measure` and :meth:`evaluate` only read them. A
daily reset passed while the daemon was down still counts in ``end_of_day`` mode: its balance
is the balance read at start less the day's realized net P&L read with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from risk_manager.config.durations import UntilSentinel
from risk_manager.config.rules import TrailingDrawdown
from risk_manager.domain.actions import AnyAction
from risk_manager.engine.memory import dec
from risk_manager.engine.rules.base import Context, Rule, Trigger, money


class TrailingDrawdownRule(Rule[TrailingDrawdown]):
    triggers: ClassVar[Trigger] = Trigger.ACCOUNT | Trigger.QUOTE | Trigger.POSITION
    values_positions: ClassVar[bool] = True
    # peak and floor read balances, the day and the config, never a price or a position: a
    # quote cannot move them (issue 16: this ran on every quote)
    remembers_on: ClassVar[Trigger] = Trigger.ACCOUNT

    def __init__(self, config: TrailingDrawdown) -> None:
        super().__init__(config)
        assert config.max_drawdown is not None
        self.cfg = config
        self.max_drawdown: Decimal = config.max_drawdown
        self.buffer: Decimal = config.buffer  # read on every quote: a plain attribute

    def remember(self, ctx: Context) -> Mapping[str, Any] | None:
        """The peak and floor after this event: ``{"start", "start_source", "peak",
        "floor"}`` as decimal strings (``start_source``: ``"config"`` or
        ``"first_balance"``); None while no balance was ever seen."""
        ledger = ctx.ledger
        mem = ctx.memory.get(self.key)
        start = self.cfg.starting_balance
        source = "config"
        if start is None:  # the account's own first balance, kept for good
            start = dec(mem.get("start")) if mem.get("start_source") == "first_balance" else None
            start = start if start is not None else ledger.balance
            source = "first_balance"
        if start is None:
            return None
        peak = dec(mem.get("peak"))
        peak = start if peak is None else max(peak, start)
        high = ledger.balance_high if self.cfg.mode == "intraday" else ledger.eod_balance_high
        if self.cfg.mode == "end_of_day":
            missed = self._balance_at_missed_reset(ctx, mem.get("day"))
            high = missed if high is None or (missed is not None and missed > high) else high
        if high is not None and high > peak:
            peak = high
        candidate = peak - self.max_drawdown
        if self.cfg.freeze_at_start and self.cfg.starting_balance is not None:
            candidate = min(candidate, self.cfg.starting_balance)
        floor = dec(mem.get("floor"))
        if floor is None or candidate > floor:
            floor = candidate
        # the trading day whose balance was seen (a roll before the first balance after a
        # restart must not hide the reset that passed while the daemon was down)
        day = mem.get("day")
        if ledger.day_label is not None and ledger.balance is not None:
            day = ledger.day_label.isoformat()
        return {
            "start": str(start),
            "start_source": source,
            "peak": str(peak),
            "floor": str(floor),
            "day": day,
        }

    @staticmethod
    def _balance_at_missed_reset(ctx: Context, remembered_day: Any) -> Decimal | None:
        """The balance at the last daily reset when the memory was last updated on an earlier
        trading day (the daemon was down at the reset): today's balance less today's
        realized net P&L (the day's fills are read with the balance at start). Resets
        missed before that one are not known. None when no reset was missed.
        A reset the engine sees gives the same value (the day's totals are zero then)."""
        ledger = ctx.ledger
        if remembered_day is None or ledger.day_label is None or ledger.balance is None:
            return None
        if date.fromisoformat(str(remembered_day)) >= ledger.day_label:
            return None
        return ledger.balance - ledger.day_realized()

    def floor(self, ctx: Context) -> Decimal | None:
        """The remembered floor (None before any balance was seen)."""
        return ctx.memory.decimal(self.key, "floor")

    def _equity(self, ctx: Context) -> Decimal | None:
        unrealized = ctx.unrealized()
        if unrealized is None or ctx.ledger.balance is None:
            return None
        return ctx.ledger.balance + unrealized

    def unknown(self, ctx: Context) -> str | None:
        """The base's missing marks, or no balance read yet (no floor, no equity)."""
        if ctx.ledger.balance is None or self.floor(ctx) is None:
            return "no account balance read yet"
        return super().unknown(ctx)

    def measure(self, ctx: Context) -> tuple[Decimal, Decimal] | None:
        floor = self.floor(ctx)
        equity = self._equity(ctx)
        if floor is None or equity is None:
            return None
        allowed = self.max_drawdown - self.buffer
        room = equity - floor - self.buffer
        return allowed - room, allowed

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        floor = ctx.memory.decimal(self.key, "floor")  # self.floor(ctx), on every quote
        if floor is None or self.key in ctx.locked_rules:
            return []
        equity = self._equity(ctx)
        if equity is None:
            return self.unknown_mark_alert(ctx)
        line = floor + self.buffer if self.buffer else floor  # compared only
        if equity > line:
            return []
        buffer = f" + buffer {money(self.buffer)}" if self.buffer else ""
        what = (
            f"balance + unrealized {money(equity)} ≤ floor {money(floor)}{buffer} "
            f"(max drawdown {money(self.max_drawdown)})"
        )
        return self.flatten_and_lock(ctx, what, UntilSentinel.CLEARED)
