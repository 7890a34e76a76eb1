"""The engine under the admin's control (issue 13, RULES.md §2 "Clearings and loosenings"):
a clearing that takes effect later holds and enforces the lock until then and wakes the
engine at that instant; rules swapped live apply from the next event and end no lock; a
manual daily reset restarts the day's counters at its instant."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from engine.helpers import ACC, ES, NQ, Sim, rules
from risk_manager.domain.actions import ClosePosition


def test_a_delayed_clearing_holds_and_enforces_until_its_instant_then_ends_exactly() -> None:
    sim = Sim(rules(daily_realized_loss={"limit": 500}))
    sim.trade(pnl="-600")
    assert len(sim.engine.view(ACC, sim.now).locks) == 1
    at = sim.now + timedelta(minutes=15)
    (cleared,) = sim.engine.clear_lock(ACC, None, sim.now, "admin", "reviewed", at=at)
    assert cleared.cleared_at == at and cleared.clearing_pending(sim.now)
    assert sim.engine.lock_ledger.next_end(sim.now) == at  # the engine wakes at the instant

    sim.advance(minutes=14)
    out = sim.position(ES, 2)  # still locked: a new position is closed
    assert [a.contract_id for a in out if isinstance(a, ClosePosition)] == [ES]
    sim.position(ES, 0)

    sim.now = at - timedelta(microseconds=1)
    assert sim.engine.view(ACC, sim.now).locked
    sim.advance(microseconds=1)
    assert not sim.engine.view(ACC, sim.now).locked
    assert not [a for a in sim.position(NQ, 1) if isinstance(a, ClosePosition)]


def test_clearing_again_keeps_the_earlier_instant() -> None:
    sim = Sim(rules(daily_realized_loss={"limit": 500}))
    sim.trade(pnl="-600")
    first = sim.now + timedelta(minutes=5)
    sim.engine.clear_lock(ACC, None, sim.now, "admin", "one", at=first)
    assert (
        sim.engine.clear_lock(ACC, None, sim.now, "admin", "two", at=first + timedelta(minutes=5))
        == []
    )
    assert [k.cleared_at for k in sim.engine.locks(ACC)] == [first]


def test_rules_swapped_live_apply_from_the_next_event_and_end_no_lock() -> None:
    sim = Sim(rules(daily_realized_loss={"limit": 1000}))
    sim.trade(pnl="-600")
    assert not sim.engine.view(ACC, sim.now).locked
    sim.engine.set_rules(ACC, rules(daily_realized_loss={"limit": 500}), sim.now)
    out = sim.trade(pnl="-1")  # the next event is evaluated under the tighter limit
    assert [a.rule for a in out if a.kind == "lock"] == ["daily_realized_loss"]

    sim.engine.set_rules(ACC, rules(), sim.now)  # every rule off: the lock stays
    assert sim.engine.rules_config(ACC).daily_realized_loss.enabled is False
    assert sim.engine.view(ACC, sim.now).locked


def test_a_manual_reset_restarts_the_day_at_its_instant_and_ends_the_days_locks() -> None:
    sim = Sim(rules(daily_realized_loss={"limit": 500}))
    sim.trade(pnl="-600")
    at = sim.now + timedelta(minutes=10)
    ending = sim.engine.reset_day(ACC, sim.now, at, "admin", "new start")
    assert [k.rule for k in ending] == ["daily_realized_loss"]
    sim.advance(minutes=9)
    view = sim.engine.view(ACC, sim.now)
    assert view.locked and view.day_realized == Decimal(-600)
    sim.advance(minutes=1)
    view = sim.engine.view(ACC, sim.now)
    assert not view.locked and view.day_realized == 0
    # A fill made before the reset, delivered again (a reconnect's snapshot), stays out.
    sim.trade(pnl="-50", at=at - timedelta(minutes=20), trade_id=1)
    assert sim.engine.view(ACC, sim.now).day_realized == 0
    sim.trade(pnl="-50")
    assert sim.engine.view(ACC, sim.now).day_realized == Decimal(-50)
