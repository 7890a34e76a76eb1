"""A fill moves the position book at once (size and direction), before the broker's position
event; that event stays authoritative. Live order (API doc §8.1): trade → order Filled →
position, so without this the rules run on a trade see the position as before the fill."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.helpers import ACC, ES, NQ, Sim, rules
from risk_manager.domain.actions import ClosePosition, Flatten
from risk_manager.domain.enums import OrderSide, PositionType
from risk_manager.domain.events import SnapshotEvent, TradeEvent
from risk_manager.domain.models import Account, Position, Trade

BUY, SELL = 0, 1
MARKET, FILLED = 2, 2
MS = timedelta(milliseconds=1)


def book(sim: Sim) -> dict[str, int]:
    return {
        p.position.contract_id: p.position.signed_size
        for p in sim.engine.view(ACC, sim.now).positions
    }


def later(sim: Sim, ms: int = 5) -> None:
    sim.now += ms * MS


def test_a_closing_fill_shows_the_reduced_position_before_the_position_event() -> None:
    sim = Sim(rules())
    sim.position(NQ, 2, "100")
    later(sim)
    sim.trade(NQ, pnl="50", side=SELL, size=1, price="102.5")
    assert book(sim) == {NQ: 1}
    sim.position(NQ, 1, "100")
    assert book(sim) == {NQ: 1}


def test_a_closing_fill_flattens_the_book_at_once() -> None:
    sim = Sim(rules())
    sim.position(NQ, -3, "100")
    later(sim)
    sim.trade(NQ, pnl="-10", side=BUY, size=3)
    assert book(sim) == {}


def test_a_loss_cooldown_does_not_close_the_position_its_fill_closed() -> None:
    sim = Sim(rules(cooldown_after_loss={"tiers": [{"loss": 100, "cooldown": "5m"}]}))
    sim.position(NQ, 1, "100")
    later(sim)
    out = sim.trade(NQ, pnl="-150", side=SELL, size=1, order_id=77)
    assert [a.kind for a in out] == ["lock", "flatten"]
    assert book(sim) == {}  # the flatten finds nothing left to close
    later(sim, 1)
    sim.order(NQ, type_=MARKET, side=SELL, status=FILLED, order_id=77)
    later(sim, 1)
    sim.position(NQ, 0)
    sim.advance(seconds=3)
    assert [a for a in sim.actions if isinstance(a, ClosePosition)] == []


def test_an_opening_fill_opens_the_book_and_the_position_event_wins() -> None:
    sim = Sim(rules())
    later(sim)
    sim.trade(NQ, side=SELL, size=2, price="101")
    [view] = sim.engine.view(ACC, sim.now).positions
    assert (view.position.signed_size, view.position.average_price) == (-2, Decimal(101))
    later(sim)
    sim.position(NQ, -3, "101.25")  # the broker knows better (size, average price)
    [view] = sim.engine.view(ACC, sim.now).positions
    assert (view.position.signed_size, view.position.average_price) == (-3, Decimal("101.25"))


def test_a_fill_reversing_the_position() -> None:
    sim = Sim(rules())
    sim.position(NQ, 1, "100")
    later(sim)
    sim.trade(NQ, pnl="5", side=SELL, size=3, price="100.25")
    assert book(sim) == {NQ: -2}


def test_a_repeated_fill_moves_the_book_once() -> None:
    sim = Sim(rules())
    sim.position(NQ, 3)
    later(sim)
    sim.trade(NQ, pnl="1", side=SELL, size=1, trade_id=9)
    sim.trade(NQ, pnl="1", side=SELL, size=1, trade_id=9)
    later(sim)
    sim.trade(NQ, pnl="1", side=SELL, size=1, trade_id=9)
    assert book(sim) == {NQ: 2}


def test_a_fill_arriving_after_its_position_event_is_not_applied_twice() -> None:
    sim = Sim(rules())
    fill_at = sim.now
    later(sim)
    sim.position(NQ, 2)  # the broker's book already has the fill
    later(sim)
    sim.trade(NQ, side=BUY, size=2, at=fill_at)
    assert book(sim) == {NQ: 2}


def test_a_fill_after_its_order_filled_status_is_not_applied() -> None:
    """Filled status and position come after the fill: a fill behind them is in the book."""
    sim = Sim(rules())
    sim.position(NQ, 1)
    later(sim)
    sim.order(NQ, type_=MARKET, side=BUY, status=FILLED, order_id=55)
    sim.position(NQ, 2)
    later(sim)
    sim.trade(NQ, side=BUY, size=1, order_id=55)
    assert book(sim) == {NQ: 2}


def test_a_closing_fill_on_a_flat_book_is_already_there() -> None:
    sim = Sim(rules())
    sim.position(NQ, 1)
    later(sim)
    sim.position(NQ, 0)
    later(sim)
    sim.trade(NQ, pnl="-5", side=SELL)
    assert book(sim) == {}


def test_a_voided_fill_is_taken_back_out_of_the_book() -> None:
    sim = Sim(rules())
    later(sim)
    sim.trade(NQ, side=BUY, size=2, trade_id=4)
    sim.trade(NQ, side=BUY, size=2, trade_id=4, voided=True)
    assert book(sim) == {}


def test_snapshot_fills_are_already_in_its_positions() -> None:
    sim = Sim(rules())
    fill = Trade(1, ACC, ES, sim.now, Decimal(50), OrderSide.BID, 1, 3)
    later(sim)
    pos = Position(8, ACC, ES, PositionType.LONG, 1, Decimal(50), fill.created_at)
    snap = SnapshotEvent(sim.now, Account(ACC, "T", Decimal(50000), True), (pos,), (), (fill,))
    sim.engine.process(snap, sim.now)
    assert book(sim) == {ES: 1}
    later(sim)
    again = Trade(2, ACC, ES, fill.created_at, Decimal(50), OrderSide.BID, 1, 3)
    sim.engine.process(TradeEvent(sim.now, again), sim.now)  # hub copy of a pre-snapshot fill
    assert book(sim) == {ES: 1}


def test_an_opening_fill_while_hard_locked_is_closed_at_once() -> None:
    sim = Sim(rules(daily_realized_loss={"limit": 500}))
    sim.trade(pnl="-600")
    later(sim)
    out = sim.trade(NQ, side=BUY, size=1)
    assert [a.contract_id for a in out if isinstance(a, ClosePosition)] == [NQ]
    assert not [a for a in out if isinstance(a, Flatten)]


Fill = tuple[int, int]  # (side sign, size)


@settings(max_examples=60, deadline=None)
@given(
    fills=st.lists(st.tuples(st.sampled_from([1, -1]), st.integers(1, 3)), min_size=1, max_size=8),
    orders=st.lists(
        st.sampled_from(["trade_first", "position_first", "repeat"]), min_size=8, max_size=8
    ),
)
def test_the_book_ends_as_the_broker_says_whatever_the_order(
    fills: list[Fill], orders: list[str]
) -> None:
    """Each fill with its position event, in either order and repeated: the book always ends as
    the broker's last position event, and after a trade-first pair it already shows it."""
    sim = Sim(rules())
    signed = 0
    for n, ((sign, size), how) in enumerate(zip(fills, orders, strict=False)):
        later(sim)
        fill_at: datetime = sim.now
        pnl = None if signed == 0 or (signed > 0) == (sign > 0) else "1"
        signed += sign * size
        trade = {"pnl": pnl, "side": BUY if sign > 0 else SELL, "size": size, "trade_id": n + 1}
        if how == "position_first":
            later(sim)
            sim.position(NQ, signed)
            later(sim)
            sim.trade(NQ, at=fill_at, **trade)  # type: ignore[arg-type]
        else:
            sim.trade(NQ, **trade)  # type: ignore[arg-type]
            assert book(sim).get(NQ, 0) == signed
            later(sim)
            sim.position(NQ, signed)
            if how == "repeat":
                later(sim)
                sim.trade(NQ, at=fill_at, **trade)  # type: ignore[arg-type]
        assert book(sim).get(NQ, 0) == signed
