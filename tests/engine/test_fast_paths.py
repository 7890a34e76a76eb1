"""The engine's fast paths (issue 16) change no outcome: rule memory asked only on the events
that can change it (``Rule.remembers_on``), RULE-012's quote that sets no new best, a broker
action's retry timer set without the full timer refresh. Each is checked against the engine
with the fast path turned off, and the inputs that change outside events (a reload, a manual
reset) are still remembered on the very next run. The cheaper reads of the second round
(a context's positions valued in one ledger pass, RULE-016's floor parsed once, a fill's
trading day from the span of the last roll) are checked the same way, and so are those of
the third: one context per account renewed for each event, the in-flight book settled by
index with its earliest retry kept, RULE-012 measuring the quote's price before reading its
best, RULE-004's worst position compared alone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
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
    workload_engine,
)
from risk_manager.config.rules import RulesConfig
from risk_manager.domain.actions import AnyAction, CancelOrder, PlaceOrder
from risk_manager.domain.contracts import DEFAULT_CATALOG
from risk_manager.domain.enums import PositionType
from risk_manager.domain.events import AccountEvent, Event
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Account, Position
from risk_manager.engine import engine as engine_module
from risk_manager.engine.account import AccountState
from risk_manager.engine.engine import Engine
from risk_manager.engine.inflight import InFlightBook
from risk_manager.engine.ledger import Ledger
from risk_manager.engine.lock_ledger import LockLedger
from risk_manager.engine.marks import Mark
from risk_manager.engine.memory import RuleMemory, dec
from risk_manager.engine.rules import Context, Trigger
from risk_manager.engine.rules.base import money
from risk_manager.engine.rules.trade_management import TradeManagementRule
from risk_manager.engine.rules.trailing_drawdown import TrailingDrawdownRule
from risk_manager.engine.rules.unrealized import UnrealizedThresholdRule

from .helpers import ACC, ES, NQ, Sim, kinds, rules

RTY = "CON.F.US.RTY.H26"


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


def _moves_stop_as_it_was(rule: TradeManagementRule, ctx: Context, p: Position) -> bool:
    """``TradeManagementRule._moves_stop`` before issue 16's third round: the remembered
    best first, then the quote's price against it."""
    if rule._activate is None:
        return False
    mark = ctx.mark(p.contract_id)
    best = rule._best(ctx, p)
    if best is None or mark is None or mark.last != best:
        return False
    spec = ctx.catalog.get(p.contract_id)
    if spec is None:
        return True
    moved = (best - p.average_price) / spec.tick_size
    return (moved if p.type is PositionType.LONG else -moved) >= rule._activate


def _every_hit_listed(rule: UnrealizedThresholdRule[Any], ctx: Context) -> list[AnyAction]:
    """RULE-004/005 per position without the early compare of the worst position."""
    if rule.total:
        return real_unrealized_evaluate(rule, ctx)
    per = ctx.position_unrealized()
    line = rule.line
    hits = [
        (cid, u)
        for cid, u in per.items()
        if u is not None and (u <= line if rule.sign < 0 else u >= line)
    ]
    unknown = ctx.unrealized() is None
    actions: list[AnyAction] = []
    for cid, u in hits:
        what = f"{cid} unrealized {money(u)} {rule.op} {money(line)} ({rule.word}); close position"
        actions.append(rule.close(ctx, cid, what))
    if unknown:
        actions.extend(rule.unknown_mark_alert(ctx))
    return actions


real_unrealized_evaluate = UnrealizedThresholdRule.evaluate
real_settle = InFlightBook.settle


def _new_context(engine: Engine, state: AccountState, now: datetime, event: Any) -> Context:
    """A context built for every event (not the account's one renewed)."""
    return Context(
        now,
        state.account_id,
        state.ledger,
        engine.marks,
        engine.catalog,
        engine.calendar,
        state.mark_mode,
        event,
        engine.lock_ledger.active_rules(state.account_id, now),
        state.alerted,
        engine._user_down_since,
        state.stale_mark,
        state.sessions,
        state.memory,
        state.inflight,
    )


def _day_net_summed(ctx: Context) -> Decimal | None:
    """The day's net from the realized totals summed on every read, not kept."""
    unrealized = ctx.unrealized()
    ledger = ctx.ledger
    return None if unrealized is None else ledger.day_gross - ledger.day_costs + unrealized


def _day_realized_summed(ledger: Ledger, include_fees: bool = True) -> Decimal:
    return ledger.day_gross - ledger.day_costs if include_fees else ledger.day_gross


def _no_spec_walked(ctx: Context) -> tuple[str, ...]:
    """The positions without a contract spec, found again by every rule that asks."""
    per = ctx.position_unrealized()
    return tuple(sorted(c for c, u in per.items() if u is None and ctx.catalog.get(c) is None))


def _every_placing(book: InFlightBook, ledger: Ledger) -> tuple[PlaceOrder, ...]:
    return tuple(
        f.action
        for f in book.items.values()
        if isinstance(f.action, PlaceOrder) and f.action.custom_tag not in ledger.tags_seen
    )


def _next_due_walked(book: InFlightBook) -> datetime | None:
    return min((f.last_at + book._interval(f) for f in book.items.values()), default=None)


@contextmanager
def fast_paths_off() -> Iterator[None]:
    """The engine as before issue 16: every rule remembers whenever it runs, RULE-012 reads
    every quote the careful way, every proposed action refreshes all timers, positions are
    valued one call at a time, a stored floor is parsed on every read and the calendar
    names every fill's trading day; and as before the third round (see the module: also
    the day's realized net summed on every read, the missing specs found by every rule)."""
    with (
        patch.object(TrailingDrawdownRule, "remembers_on", Trigger.ALL),
        patch.object(TradeManagementRule, "_still_best", staticmethod(lambda *_a: False)),
        patch.object(engine_module, "_tracked_only", lambda _actions: False),
        patch.object(Ledger, "value_positions", _values_one_by_one),
        patch.object(RuleMemory, "decimal", lambda m, key, name: dec(m.value(key, name))),
        patch.object(Engine, "_trading_day", lambda e, at: e.calendar.trading_day(at)),
        patch.object(Engine, "_context", _new_context),
        patch.object(
            InFlightBook, "settle", lambda b, ledger, _touched=None: real_settle(b, ledger)
        ),
        patch.object(InFlightBook, "placing", _every_placing),
        patch.object(InFlightBook, "next_due", _next_due_walked),
        patch.object(TradeManagementRule, "_moves_stop", _moves_stop_as_it_was),
        patch.object(UnrealizedThresholdRule, "evaluate", _every_hit_listed),
        patch.object(Context, "day_net", _day_net_summed),
        patch.object(Context, "unvalued_for_want_of_spec", _no_spec_walked),
        patch.object(Ledger, "day_realized", _day_realized_summed),
    ):
        yield


def _engine() -> Engine:
    calendar = TradingCalendar(holidays=HolidayCalendar.load("equity"))
    return Engine(RulesConfig.model_validate(ALL_RULES), calendar, DEFAULT_CATALOG)


def _run_bench_workload() -> list[tuple[list[AnyAction], Any, Any, Any]]:
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
        # what is in flight and the next wakeup too: a done action kept would show there
        view = engine.view(1, event.at)  # the figures the dashboards read, from the caches
        flights = (
            engine.in_flight(1),
            engine.in_flight(LOCKED),
            engine.next_wakeup(),
            (view.day_realized, view.unrealized, view.net, view.day_peak_net),
        )
        seen.append((out, engine.memory(1), engine.memory(LOCKED), flights))
    return seen


def test_the_bench_workload_acts_and_remembers_exactly_as_without_the_fast_paths() -> None:
    with fast_paths_off():
        before = _run_bench_workload()
    after = _run_bench_workload()
    assert len(after) == len(before) == 3400
    moved = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert moved == []
    bests = {str(m.get("trade_management", {}).get("best")) for _out, m, _l, _f in after}
    assert len(bests) > 10  # the workload does move RULE-012's best prices
    refusals = [a for out, _m, _l, _f in after[-400:] for a in out if a.account_id == LOCKED]
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


def _settling_script(full_settle: bool) -> list[tuple[frozenset[Any], list[str]]]:
    """Each kind of in-flight action proposed, then finished by the broker's events: our
    stop placed then seen, a blocked order cancelled, a close of the excess confirmed, our
    stop cancelled on a flat contract, a flatten of a flat account (done when proposed).
    After each event: what is in flight and the kinds of actions proposed."""
    config = rules(
        trade_management={"stop_loss_ticks": 40},
        symbol_blocks={"blocked": ["RTY"]},
        max_contracts={"limit": 1},
        daily_realized_loss={"limit": 100},
    )
    sim = Sim(config)
    seen: list[tuple[frozenset[Any], list[str]]] = []

    def step(out: list[AnyAction]) -> list[AnyAction]:
        seen.append((sim.engine.in_flight(ACC), [type(a).__name__ for a in out]))
        return out

    with (
        patch.object(InFlightBook, "settle", lambda b, ledger, _t=None: real_settle(b, ledger))
        if full_settle
        else nullcontext()
    ):
        # between a proposal and what finishes it, an event that settles what it touches
        # (an order of another contract, gone): the proposal is no longer the newest then
        def other() -> None:
            step(sim.order(ES, size=1, limit="6000", order_id=88, status=3))

        out = step(sim.position(NQ, 2, "20000"))  # over max_contracts: close 1; place our stop
        stop = next(a for a in out if isinstance(a, PlaceOrder))
        other()
        step(sim.order(NQ, side=1, type_=4, size=2, tag=stop.custom_tag, stop="19990"))
        step(sim.order(RTY, size=1, limit="2000", order_id=77))  # blocked: cancelled
        other()
        step(sim.order(RTY, size=1, limit="2000", order_id=77, status=3))
        other()
        step(sim.position(NQ, 1, "20000"))  # the close confirmed (our stop resized)
        step(sim.position(NQ, 0, "20000"))  # flat: our orders cancelled
        other()
        for order_id in sorted(o.id for o in sim.engine.view(ACC, sim.now).orders):
            step(sim.order(NQ, order_id=order_id, status=3))
        step(sim.trade(NQ, pnl="-150", side=1))  # a flat account's loss: flatten and lock
        other()
        step(sim.advance(seconds=1))
    return seen


def test_the_in_flight_book_settles_by_index_exactly_as_by_walking_it() -> None:
    """What is in flight after every event is the same whether an event tests only the
    actions it can finish or every one, across each kind of action: fails if an order's
    tag, its id, a contract's position, a flatten or an action done when proposed were
    missed by the index (the bench's workload confirms none of its placements)."""
    walked = _settling_script(full_settle=True)
    indexed = _settling_script(full_settle=False)
    assert indexed == walked
    causes = {key[0] for flights, _kinds in walked for key in flights}
    assert causes == {"place", "cancel", "close", "flatten"}
    finished = [
        {key[0] for key in before - after} for (before, _k), (after, _k2) in pairwise(walked)
    ]
    assert {"place", "cancel", "close", "flatten"} <= set().union(*finished)


def test_an_action_done_when_admitted_is_settled_by_the_next_event_whatever_it_touches() -> None:
    """The index tests what was admitted since the last settle, whatever the next event
    touches: a cancel of an order the ledger no longer holds is done at once."""
    book = InFlightBook(timedelta(seconds=5), 3)
    ledger = Ledger(ACC)
    cancel = CancelOrder(at=START, account_id=ACC, rule="r", reason="r: x", order_id=5)
    assert book.admit(cancel, ledger, START)
    book.settle(ledger, (("position", NQ),))  # touches something else
    assert book.items == {}


def test_the_book_an_enforcement_acts_on_is_what_the_view_lists() -> None:
    """``Engine.book`` (the positions and orders an enforcement acts on, read without a view
    on the breach's path) lists what ``Engine.view`` does, in its order, after every event
    of the bench workload (positions opened, moved and closed; orders placed, filled and
    cancelled)."""
    engine = workload_engine()
    kinds = set()
    for event in workload(3000):
        engine.process(event, event.at)
        view = engine.view(1, event.at)
        positions, orders = engine.book(1)
        assert positions == tuple(p.position for p in view.positions)
        assert orders == view.orders
        kinds.add((len(positions), len(orders)))
    assert len(kinds) > 1  # the book moved: the comparison saw more than one state
