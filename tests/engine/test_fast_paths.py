"""The engine's fast paths (issue 16) change no outcome: rule memory asked only on the events
that can change it (``Rule.remembers_on``), RULE-012's quote that sets no new best, a broker
action's retry timer set without the full timer refresh. Each is checked against the engine
with the fast path turned off, and the inputs that change outside events (a reload, a manual
reset) are still remembered on the very next run. The cheaper reads of the second round
(a context's positions valued in one ledger pass, RULE-016's floor parsed once, a fill's
trading day from the span of the last roll) are checked the same way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest.mock import patch

from risk_manager.calendar import HolidayCalendar, TradingCalendar
from risk_manager.cli.bench import (
    ALL_RULES,
    LOCKED,
    START,
    _setup,
    refusal_workload,
    workload,
)
from risk_manager.config.rules import RulesConfig
from risk_manager.domain.actions import AnyAction
from risk_manager.domain.contracts import DEFAULT_CATALOG
from risk_manager.domain.events import AccountEvent, Event
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Account
from risk_manager.engine import engine as engine_module
from risk_manager.engine.engine import Engine
from risk_manager.engine.ledger import Ledger
from risk_manager.engine.lock_ledger import LockLedger
from risk_manager.engine.marks import Mark
from risk_manager.engine.memory import RuleMemory, dec
from risk_manager.engine.rules import Trigger
from risk_manager.engine.rules.trade_management import TradeManagementRule
from risk_manager.engine.rules.trailing_drawdown import TrailingDrawdownRule

from .helpers import ACC, NQ, Sim, kinds, rules


def _values_one_by_one(
    ledger: Ledger,
    marks: dict[str, Mark],
    catalog: Any,
    mode: str,
    now: datetime,
    stale: timedelta,
    chosen: dict[str, Mark | None],
) -> tuple[dict[str, Decimal | None], Decimal | None]:
    """``Ledger.value_positions`` as it was: each position's mark, then its value from the
    catalog (no factors kept), then their total in a second walk."""
    out: dict[str, Decimal | None] = {}
    for cid, p in ledger.positions.items():
        mark = chosen[cid] = ledger.usable_mark(cid, marks, now, stale)
        price = None if mark is None else mark.price_for(p.signed_size, mode)
        spec = catalog.get(cid)
        out[cid] = (
            None
            if price is None or spec is None
            else (price - p.average_price) * p.signed_size * spec.point_value
        )
    total: Decimal | None = Decimal(0)
    for u in out.values():
        if u is None:
            return out, None
        total += u  # type: ignore[operator]
    return out, total


@contextmanager
def fast_paths_off() -> Iterator[None]:
    """The engine as before issue 16: every rule remembers whenever it runs, RULE-012 reads
    every quote the careful way, every proposed action refreshes all timers, positions are
    valued one call at a time, a stored floor is parsed on every read and the calendar
    names every fill's trading day."""
    with (
        patch.object(TrailingDrawdownRule, "remembers_on", Trigger.ALL),
        patch.object(TradeManagementRule, "_still_best", staticmethod(lambda *_a: False)),
        patch.object(engine_module, "_tracked_only", lambda _actions: False),
        patch.object(Ledger, "value_positions", _values_one_by_one),
        patch.object(RuleMemory, "decimal", lambda m, key, name: dec(m.value(key, name))),
        patch.object(Engine, "_trading_day", lambda e, at: e.calendar.trading_day(at)),
    ):
        yield


def _engine() -> Engine:
    calendar = TradingCalendar(holidays=HolidayCalendar.load("equity"))
    return Engine(RulesConfig.model_validate(ALL_RULES), calendar, DEFAULT_CATALOG)


def _run_bench_workload() -> list[tuple[list[AnyAction], Any, Any]]:
    """Every rule on, the bench's account (quotes, orders, fills, resizes) then a locked
    account refusing orders: each event's actions and both accounts' rule memory after it."""
    engine = _engine()
    _setup(engine)
    events: list[Event] = list(workload(3000))
    engine.process(AccountEvent(START, Account(LOCKED, "L", Decimal(50_000), True)), START)
    engine.restore_locks([Lock(LOCKED, "daily_net_loss", LockKind.HARD, "t", START, None)], START)
    shift = events[-1].at - START
    for placed, gone in refusal_workload(200):
        events += [replace(placed, at=placed.at + shift), replace(gone, at=gone.at + shift)]
    seen = []
    for event in events:
        out = engine.process(event, event.at)
        seen.append((out, engine.memory(1), engine.memory(LOCKED)))
    return seen


def test_the_bench_workload_acts_and_remembers_exactly_as_without_the_fast_paths() -> None:
    with fast_paths_off():
        before = _run_bench_workload()
    after = _run_bench_workload()
    assert len(after) == len(before) == 3400
    moved = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert moved == []
    bests = {str(m.get("trade_management", {}).get("best")) for _out, m, _l in after}
    assert len(bests) > 10  # the workload does move RULE-012's best prices
    refusals = [a for out, _m, _l in after[-400:] for a in out if a.account_id == LOCKED]
    assert [type(a).__name__ for a in refusals] == ["CancelOrder"] * 200  # one per order
    assert all(  # the lock's kind worded as its value (RULES.md §2), not as the enum
        a.reason.startswith("daily_net_loss: account locked until an admin clears it (hard); ")
        for a in refusals
    )


def test_trailing_drawdown_memory_is_not_asked_on_quotes() -> None:
    config = rules(trailing_drawdown={"max_drawdown": 2000, "mode": "intraday"})
    sim = Sim(config)
    sim.position(NQ, 1, "20000")
    calls: list[str] = []
    real = TrailingDrawdownRule.remember

    def counted(rule: TrailingDrawdownRule, ctx: Any) -> Any:
        calls.append(type(ctx.event).__name__)
        return real(rule, ctx)

    with patch.object(TrailingDrawdownRule, "remember", counted):
        for i in range(5):
            sim.quote(NQ, str(20000 + i))
        sim.account("50100")
    assert calls == ["AccountEvent"]
    view = sim.engine.view(ACC, sim.now).drawdown
    assert view is not None and view.peak == Decimal(50100)  # intraday: the new balance


def test_a_reload_is_remembered_on_the_next_quote() -> None:
    """A reload that raises the starting balance raises the floor on the next event, a
    quote included (the floor is not left at the old value until the next balance)."""
    config = rules(trailing_drawdown={"max_drawdown": 2000, "starting_balance": 50000})
    sim = Sim(config)
    sim.position(NQ, 1, "20000")
    assert sim.quote(NQ, "19950") == []  # equity 49 000 > floor 48 000
    tighter = rules(trailing_drawdown={"max_drawdown": 2000, "starting_balance": 51000})
    sim.engine.set_rules(ACC, tighter, sim.now)
    sim.now += timedelta(seconds=1)
    out = sim.quote(NQ, "19949.75")  # equity 48 995 ≤ the new floor 49 000
    assert ("lock", "trailing_drawdown") in kinds(out)


def test_a_manual_reset_raises_the_end_of_day_peak_before_the_next_balance() -> None:
    """RULES.md §1: the balance standing at a reset counts for the end-of-day peak; a manual
    reset is one, and the next event (here a position, then a quote) already sees it."""
    config = rules(trailing_drawdown={"max_drawdown": 2000, "mode": "end_of_day"})
    sim = Sim(config)  # peak 50 000, floor 48 000
    sim.account("51000")
    sim.engine.reset_day(ACC, sim.now, sim.now, "admin", "test")
    sim.position(NQ, 1, "20000")
    view = sim.engine.view(ACC, sim.now).drawdown
    assert view is not None and (view.peak, view.floor) == (Decimal(51000), Decimal(49000))
    out = sim.quote(NQ, "19900")  # equity 49 000 ≤ floor 49 000
    assert ("lock", "trailing_drawdown") in kinds(out)


def test_a_fills_trading_day_from_the_rolls_span_is_the_calendars() -> None:
    """Every instant from a roll up to (not at) the reset that ends its day, across the
    spring-forward night (2026-03-08 in Chicago) and at the reset itself: the engine's
    trading day of a fill is the calendar's (fails if the span's end were inclusive)."""
    engine = _engine()
    rolled = datetime(2026, 3, 6, 23, 30, tzinfo=UTC)  # Friday evening, after the reset
    engine.process(AccountEvent(rolled, Account(1, "A", Decimal(50_000), True)), rolled)
    reset = engine.calendar.next_reset(rolled)
    probes = [rolled + timedelta(minutes=17 * i) for i in range(400)]
    probes += [reset - timedelta(microseconds=1), reset, reset + timedelta(microseconds=1)]
    probes += [rolled - timedelta(hours=1), rolled - timedelta(microseconds=1)]
    assert [engine._trading_day(at) for at in probes] == [
        engine.calendar.trading_day(at) for at in probes
    ]
    assert engine._trading_day(reset) == date(2026, 3, 10)  # the reset opens the next day


def test_the_active_lock_keys_follow_every_end_clearing_and_new_lock() -> None:
    """``LockLedger.active_rules`` keeps its answer between a row's changes and edges; asked
    in any order of instants (backwards too), it is what the rows say at each instant:
    fails if the answer outlived a lock's end, a pending clearing or a new lock."""
    ledger = LockLedger()
    t0 = START
    ledger.add(Lock(ACC, "daily_net_loss", LockKind.HARD, "t", t0, t0 + timedelta(hours=1)), t0)
    ledger.add(Lock(ACC, "cooldown_after_loss", LockKind.SOFT, "t", t0, None), t0)

    def truth(now: datetime) -> frozenset[str]:
        return frozenset(lock.rule for lock in ledger.all(ACC) if lock.is_active(now))

    probes = [t0 + timedelta(minutes=m) for m in (0, 59, 60, 61, 30, 0, 90)]
    for now in probes:
        assert ledger.active_rules(ACC, now) == truth(now)
    assert ledger.active_rules(ACC, t0 + timedelta(minutes=59)) == {
        "daily_net_loss",
        "cooldown_after_loss",
    }
    ledger.active_rules(ACC, t0 + timedelta(minutes=5))  # kept for [5 min, 60 min)
    ledger.clear(ACC, "cooldown_after_loss", t0, "admin", at=t0 + timedelta(minutes=10))
    assert ledger.active_rules(ACC, t0 + timedelta(minutes=20)) == {"daily_net_loss"}
    for now in [*probes, t0 + timedelta(minutes=10), t0 + timedelta(minutes=9)]:
        assert ledger.active_rules(ACC, now) == truth(now)
    ledger.active_rules(ACC, t0 + timedelta(hours=2))  # kept from 2 h on: nothing active
    ledger.add(Lock(ACC, "symbol_blocks", LockKind.HARD, "t", t0, None), t0 + timedelta(hours=2))
    assert ledger.active_rules(ACC, t0 + timedelta(hours=3)) == {"symbol_blocks"}
