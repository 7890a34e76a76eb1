"""A fill is counted once, whatever the order of its trade and position events and whatever
the broker's clock says (RULES.md §4). It once counted twice when the position event came first
and the trade was stamped a millisecond or two after it arrived: a −250 loss seen as −500."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.helpers import ACC, NQ, Sim, rules
from engine.test_provisional_fills import book
from risk_manager.domain.actions import LockAccount

BUY, SELL = 0, 1
MS = timedelta(milliseconds=1)


def test_position_event_first_and_a_trade_stamped_later_is_not_counted_twice() -> None:
    sim = Sim(rules(daily_net_loss={"limit": 400}))
    sim.position(NQ, 1, "25000")  # the broker's position event came first
    sim.now += MS
    sim.trade(NQ, side=BUY, size=1, price="25000", at=sim.now + 2 * MS)  # broker's clock ahead
    assert book(sim) == {NQ: 1}
    sim.now += MS
    sim.quote(NQ, "24987.5")  # −250 on one contract; −500 on two would lock
    view = sim.engine.view(ACC, sim.now)
    assert view.unrealized == -250
    assert not [a for a in sim.actions if isinstance(a, LockAccount)]


def test_a_new_fill_after_an_explained_one_still_moves_the_book() -> None:
    sim = Sim(rules())
    sim.position(NQ, 1, "100")
    sim.now += MS
    sim.trade(NQ, side=BUY, size=1)  # the position event's own fill
    sim.now += MS
    sim.trade(NQ, side=BUY, size=2)  # a new fill, ahead of its position event
    assert book(sim) == {NQ: 3}


def test_an_unexplained_change_lapses() -> None:
    """A position change whose fill never comes must not swallow a fill seconds later."""
    sim = Sim(rules())
    sim.position(NQ, 1, "100")
    sim.now += timedelta(seconds=11)
    sim.trade(NQ, side=BUY, size=1)
    assert book(sim) == {NQ: 2}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([BUY, SELL]),
            st.integers(1, 3),
            st.booleans(),  # position event before its trade
            st.integers(-3, 3),  # broker clock skew of the trade's stamp, ms
        ),
        min_size=1,
        max_size=12,
    )
)
def test_book_matches_the_broker_after_every_fill_in_any_order(
    fills: list[tuple[int, int, bool, int]],
) -> None:
    sim = Sim(rules())
    signed = 0
    for side, size, position_first, skew in fills:
        before = signed
        signed += size if side == BUY else -size
        closing = before != 0 and (before > 0) != (signed - before > 0)
        pnl = "0" if closing else None

        def trade() -> None:
            sim.trade(NQ, side=side, size=size, pnl=pnl, at=sim.now + skew * MS)  # noqa: B023

        if position_first:
            sim.position(NQ, signed, "100")
            sim.now += MS
            trade()
        else:
            trade()
            sim.now += MS
            sim.position(NQ, signed, "100")
        assert book(sim) == ({NQ: signed} if signed else {})
        sim.now += 5 * MS
