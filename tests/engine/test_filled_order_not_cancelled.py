"""An order whose fills already cover its size is no longer working, even before its Filled
status arrives (the trade event comes first, API doc §8.1): nothing proposes to cancel it."""

from __future__ import annotations

from datetime import timedelta

from engine.helpers import ACC, NQ, Sim, rules
from risk_manager.domain.actions import CancelOrder

MARKET = 2
PENDING, FILLED = 6, 2


def cancels(sim: Sim) -> list[int]:
    return [a.order_id for a in sim.actions if isinstance(a, CancelOrder)]


def test_an_order_is_not_working_once_fills_cover_its_size() -> None:
    sim = Sim(rules())
    sim.order(NQ, type_=MARKET, size=2, status=PENDING, order_id=77)
    sim.now += timedelta(milliseconds=1)
    sim.trade(NQ, size=2, order_id=77)
    assert sim.engine.view(ACC, sim.now).orders == ()


def test_a_partly_filled_order_is_still_working() -> None:
    sim = Sim(rules())
    sim.order(NQ, type_=1, size=3, status=1, order_id=77, limit="100")
    sim.trade(NQ, size=1, order_id=77)
    assert [o.id for o in sim.engine.view(ACC, sim.now).orders] == [77]


def test_symbol_blocks_does_not_cancel_an_order_its_fill_came_before() -> None:
    """The Pending status may trail the fill: the order is already done."""
    sim = Sim(rules(symbol_blocks={"blocked": ["NQ"], "close_existing": False}))
    sim.trade(NQ, size=1, order_id=77)
    sim.order(NQ, type_=MARKET, size=1, status=PENDING, order_id=77)
    sim.order(NQ, type_=MARKET, size=1, status=FILLED, order_id=77)
    assert cancels(sim) == []


def test_a_flatten_after_the_fill_finds_no_order_to_cancel() -> None:
    """The fill that breaks the daily loss also filled the trader's market order: the flatten
    (which cancels the working orders the book shows) has no order left to cancel."""
    sim = Sim(rules(daily_realized_loss={"limit": 500}))
    sim.position(NQ, 1, "100")
    sim.now += timedelta(milliseconds=5)
    sim.order(NQ, type_=MARKET, side=1, size=1, status=PENDING, order_id=77)
    sim.now += timedelta(milliseconds=1)
    out = sim.trade(NQ, pnl="-600", side=1, size=1, order_id=77)
    assert [a.kind for a in out] == ["lock", "flatten"]
    assert sim.engine.view(ACC, sim.now).orders == ()
    sim.order(NQ, type_=MARKET, side=1, size=1, status=FILLED, order_id=77)
    sim.position(NQ, 0)
    sim.advance(seconds=3)
    assert cancels(sim) == []
