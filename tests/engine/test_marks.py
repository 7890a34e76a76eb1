"""A position is valued only with a price observed for it (RULES.md §1): a quote that arrived
after the position (or its latest size change) existed and is younger than ``stale_mark``;
otherwise its unrealized P&L is unknown and no rule acts on it. A REST bar close may stand in,
labelled, while the stale-mark alert keeps running until a live quote."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from engine.helpers import ACC, NQ, Sim, kinds, rules
from risk_manager.domain.actions import Flatten, LockAccount, PlaceOrder
from risk_manager.domain.events import ConnectionEvent, QuoteEvent
from risk_manager.domain.models import Quote

LOSS_RULES = rules(
    daily_net_loss={"limit": 1000},
    trailing_drawdown={"max_drawdown": 2000, "starting_balance": 50000},
    daily_unrealized_loss={"limit": 500},
)


def acted(sim: Sim) -> list[object]:
    return [a for a in sim.actions if a.kind != "alert"]


def test_a_price_from_an_earlier_position_never_values_a_new_one() -> None:
    sim = Sim(LOSS_RULES)
    sim.position(NQ, 1, "25000")
    sim.quote(NQ, "25000")
    sim.position(NQ, 0)
    sim.advance(hours=4)
    sim.position(NQ, 1, "25200")  # the old 25000 would say −4,000
    assert acted(sim) == []
    view = sim.engine.view(ACC, sim.now)
    assert view.unrealized is None and view.positions[0].mark is None
    sim.now += timedelta(milliseconds=300)
    assert sim.quote(NQ, "25200") == []
    assert sim.engine.view(ACC, sim.now).unrealized == Decimal(0)


def test_a_size_change_needs_a_quote_that_came_after_it() -> None:
    sim = Sim(LOSS_RULES)
    sim.position(NQ, 1, "25000")
    sim.quote(NQ, "24990")  # −200
    sim.now += timedelta(seconds=1)
    sim.position(NQ, 3, "25000")  # the same price on 3 would be −600, past 500
    assert acted(sim) == []
    assert sim.engine.view(ACC, sim.now).unrealized is None
    sim.now += timedelta(milliseconds=5)
    out = sim.quote(NQ, "24990")
    assert ("close_position", "daily_unrealized_loss") in kinds(out)


def test_a_mark_older_than_stale_mark_stops_counting() -> None:
    sim = Sim(LOSS_RULES)
    sim.position(NQ, 1, "25000")
    sim.quote(NQ, "25000")
    sim.now += timedelta(seconds=9)
    assert sim.engine.view(ACC, sim.now).unrealized == Decimal(0)
    sim.now += timedelta(seconds=1)
    assert sim.engine.view(ACC, sim.now).unrealized is None


def test_losing_the_market_hub_voids_every_mark() -> None:
    sim = Sim(LOSS_RULES)
    sim.position(NQ, 1, "25000")
    sim.quote(NQ, "25000")
    sim.engine.process(ConnectionEvent(sim.now, "market", False), sim.now)
    assert sim.engine.view(ACC, sim.now).unrealized is None


def test_a_rest_bar_close_stands_in_labelled_and_the_alert_keeps_running() -> None:
    sim = Sim(LOSS_RULES)
    sim.position(NQ, 1, "25000")
    assert sim.engine.rest_marks_wanted(ACC, sim.now) == []  # its first quote may be coming
    out = sim.advance(seconds=10)
    assert kinds(out) == [("alert", "stale_mark")]
    assert sim.engine.rest_marks_wanted(ACC, sim.now) == [NQ]
    bar = QuoteEvent(sim.now, Quote(NQ, last_price=Decimal("24970")), source="rest_bar")
    out = sim.engine.process(bar, sim.now)  # −600: past the 500 unrealized limit
    assert ("close_position", "daily_unrealized_loss") in kinds(out)
    view = sim.engine.view(ACC, sim.now)
    assert view.positions[0].mark_source == "rest_bar"
    assert sim.engine.rest_marks_wanted(ACC, sim.now) == []  # fresh enough for now
    sim.now += timedelta(seconds=5)
    assert sim.engine.rest_marks_wanted(ACC, sim.now) == [NQ]  # fetched again before it lapses
    out = sim.advance(seconds=55)  # a minute after the first alert: still no live quote
    assert ("alert", "stale_mark") in kinds(out)
    sim.quote(NQ, "24990")
    assert sim.engine.view(ACC, sim.now).positions[0].mark_source == "quote"
    assert not [a for a in sim.advance(seconds=9) if a.rule == "stale_mark"]


def test_a_live_quote_after_a_rest_stand_in_drops_its_bid_and_ask() -> None:
    sim = Sim(rules(mark="bid_ask", daily_unrealized_loss={"limit": 500}))
    sim.position(NQ, 1, "25000")
    sim.advance(seconds=10)
    sim.engine.process(
        QuoteEvent(sim.now, Quote(NQ, last_price=Decimal("25000")), source="rest_bar"), sim.now
    )
    assert sim.engine.view(ACC, sim.now).unrealized == Decimal(0)
    sim.quote(NQ, "25001")  # live, last price only: no live bid for a long yet
    assert sim.engine.view(ACC, sim.now).unrealized is None


def test_a_stop_is_never_placed_from_a_price_the_position_never_saw() -> None:
    """A buy stop for a short was once trailed from a price hours old, 113 points off."""
    sim = Sim(rules(trade_management={"trailing": {"activate_ticks": 4, "trail_ticks": 8}}))
    sim.position(NQ, -1, "25000")
    sim.quote(NQ, "24887")
    sim.position(NQ, 0)
    sim.advance(hours=2)
    out = sim.position(NQ, -1, "25000")
    assert not [a for a in out if isinstance(a, PlaceOrder)]


def test_no_lock_and_no_flatten_from_an_old_mark_on_a_restart_snapshot_position() -> None:
    sim = Sim(LOSS_RULES)
    sim.quote(NQ, "25000")  # quotes of an order's contract, before any position
    sim.now += timedelta(minutes=5)
    sim.position(NQ, 1, "25200")
    assert not [a for a in sim.actions if isinstance(a, LockAccount | Flatten)]
