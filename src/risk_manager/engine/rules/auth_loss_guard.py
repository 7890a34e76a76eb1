"""RULE-010 auth_loss_guard: the user hub down longer than ``max_gap`` (strictly: a gap of
exactly ``max_gap`` is within it) or a failed REST login →
critical alert; with ``on_gap: flatten``, flatten once reconnected. ``canTrade: false`` is
mirrored as an external lock by the engine itself (RULES.md §2), whether or not this rule is on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from risk_manager.config.rules import AuthLossGuard
from risk_manager.domain.actions import AnyAction, Severity
from risk_manager.domain.events import AuthFailureEvent, ConnectionEvent
from risk_manager.engine.rules.base import Context, Rule, Trigger

_TICK = timedelta(microseconds=1)  # datetime's resolution


class AuthLossGuardRule(Rule[AuthLossGuard]):
    triggers: ClassVar[Trigger] = Trigger.CONNECTION | Trigger.CLOCK

    def __init__(self, config: AuthLossGuard) -> None:
        super().__init__(config)
        self.cfg = config

    @staticmethod
    def _cause(down: datetime) -> tuple[str, ...]:
        """The once-per-cause key of one outage (its start): kept in the engine's per-account
        alert memory, not on the rule, so the rule holds no state of its own (rules are
        configuration; the engine owns what they remember)."""
        return ("auth_loss_guard", "gap", down.isoformat())

    def moot(self, key: tuple[str, ...], ctx: Context) -> bool:
        """An outage's key once the hub is back or down since another instant (a new
        outage has a key of its own)."""
        down = ctx.user_hub_down_since
        return key[:2] == ("auth_loss_guard", "gap") and (down is None or key != self._cause(down))

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        ev = ctx.event
        down = ctx.user_hub_down_since
        gap_s = self.cfg.max_gap.total_seconds()
        if isinstance(ev, AuthFailureEvent):
            return [self.alert(ctx, f"REST authentication failed: {ev.reason}", Severity.CRITICAL)]
        actions: list[AnyAction] = []
        long_gap = down is not None and ctx.now - down > self.cfg.max_gap  # strict (§3)
        if long_gap and down is not None and ctx.once(*self._cause(down)):
            secs = (ctx.now - down).total_seconds()
            actions.append(
                self.alert(
                    ctx,
                    f"user hub down {secs:g}s > {gap_s:g}s (max_gap); events may be lost",
                    Severity.CRITICAL,
                )
            )
        reconnected = isinstance(ev, ConnectionEvent) and ev.hub == "user" and ev.connected
        if reconnected and long_gap and self.cfg.on_gap == "flatten":
            what = f"user hub was down > {gap_s:g}s (max_gap); flatten once reconnected"
            actions.append(self.flatten(ctx, what))
        return actions

    def wakeup(self, ctx: Context) -> datetime | None:
        down = ctx.user_hub_down_since
        if down is None or self._cause(down) in ctx.alerted:
            return None
        return down + self.cfg.max_gap + _TICK  # the first instant the gap is longer
