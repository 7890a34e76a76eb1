"""RULE-009 session_block_outside: trading only inside the configured sessions.

Inside a session ending at E: warn at E − warn_before, soft-lock entries at
E − block_entries_before (until E), flatten at E − flatten_before; each stage once per session
(``0s`` turns a stage off). Once the flatten stage has fired, a position opened before the
session ends is flattened at once too (RULES.md §3 details; in-flight tracking keeps one flatten
out at a time). Outside every session, a position or a working order of the trader → flatten
and lock until the next session start. The rule has its own calendar (its ``timezone``,
``sessions`` and ``holidays``); the current session is cached until it ends.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from risk_manager.calendar import HolidayCalendar, Session, SessionSpec, TradingCalendar
from risk_manager.config.rules import SessionBlockOutside
from risk_manager.domain.actions import AnyAction
from risk_manager.domain.locks import LockKind
from risk_manager.engine.rules.base import Context, Rule, Trigger


def session_calendar(cfg: SessionBlockOutside) -> TradingCalendar:
    specs = tuple(
        SessionSpec(w.start, w.end, frozenset(d.number for d in w.days)) for w in cfg.sessions
    )
    holidays = HolidayCalendar.load("equity") if cfg.holidays else None
    return TradingCalendar(tz=cfg.tz, sessions=specs, holidays=holidays)


class SessionBlockOutsideRule(Rule[SessionBlockOutside]):
    triggers: ClassVar[Trigger] = Trigger.POSITION | Trigger.ORDER | Trigger.CLOCK

    def __init__(
        self, config: SessionBlockOutside, calendar: TradingCalendar | None = None
    ) -> None:
        super().__init__(config)
        self.cfg = config
        self.calendar = calendar or session_calendar(config)
        self._session: Session | None = None
        self._offsets = [  # the stages that are on (0s turns one off)
            (name, before)
            for name, before in (
                ("warn", config.warn_before),
                ("block", config.block_entries_before),
                ("flatten", config.flatten_before),
            )
            if before.total_seconds() > 0
        ]
        self._closed_until: datetime | None = None  # outside: next session start
        self._stages_of: tuple[Session, list[tuple[str, datetime]]] | None = None

    def session(self, now: datetime) -> Session | None:
        if self._session is not None and self._session.contains(now):
            return self._session
        if self._closed_until is not None and now < self._closed_until:
            return None  # set only while outside, so no session is cached then
        self._session = self.calendar.session_at(now)
        self._closed_until = None if self._session else self.calendar.next_session_start(now)
        return self._session

    def _stages(self, s: Session) -> list[tuple[str, datetime]]:
        """The stages' instants of session ``s``, computed once a session (every order and
        position event asks them)."""
        known = self._stages_of
        if known is not None and known[0] is s:
            return known[1]
        stages = [(name, s.end - before) for name, before in self._offsets]
        self._stages_of = (s, stages)
        return stages

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        s = self.session(ctx.now)
        if s is None:
            if not _busy(ctx) or self.key in ctx.locked_rules:
                return []
            assert self._closed_until is not None
            return self.lock_until(
                ctx,
                "position or order outside the trading sessions",
                self._closed_until,
                LockKind.HARD,
            )
        actions: list[AnyAction] = []
        for name, at in self._stages(s):
            if ctx.now < at:
                continue  # the common case: no stage reached, nothing to format
            end = s.end.astimezone(self.calendar.tz)
            why = f"session ends at {end:%H:%M} (in {(s.end - at).total_seconds() / 60:g} min)"
            first = ctx.once(self.key, name, s.end.isoformat())
            if name == "flatten":  # once fired, a position opened before the end is closed too
                if ctx.ledger.positions or (first and _busy(ctx)):
                    actions.append(self.flatten(ctx, f"{why}; flatten"))
            elif first and name == "warn":
                actions.append(self.alert(ctx, why))
            elif first:  # block
                actions.extend(self.lock_until(ctx, why, s.end, LockKind.SOFT))
        return actions

    def moot(self, key: tuple[str, ...], ctx: Context) -> bool:
        """A stage's key (rule, stage, the session's end) once that session has ended: its
        stages are read only while it contains the time."""
        if len(key) != 3 or key[0] != self.key or key[1] not in _STAGES:
            return False
        return datetime.fromisoformat(key[2]) <= ctx.now

    def wakeup(self, ctx: Context) -> datetime | None:
        s = self.session(ctx.now)
        if s is None:
            return self._closed_until
        later = [at for _, at in self._stages(s) if at > ctx.now]
        return min([*later, s.end])


_STAGES = frozenset({"warn", "block", "flatten"})


def _busy(ctx: Context) -> bool:
    """The account holds a position or a working order of the trader."""
    return bool(ctx.ledger.positions) or bool(ctx.ledger.trader_orders())
