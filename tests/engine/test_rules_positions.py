"""RULE-001, 002, 004, 005, 008, 011, 012: position and order rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.helpers import ACC, ES, MNQ, NQ, Sim, closes, kinds, one, rules
from risk_manager.domain.actions import CancelOrder, ModifyOrder, PlaceOrder


@pytest.mark.parametrize(("size", "expected"), [(3, []), (4, [(NQ, 1)]), (6, [(NQ, 3)])])
def test_max_contracts_reduces_the_excess(size: int, expected: list[tuple[str, int]]) -> None:
    sim = Sim(rules(max_contracts={"limit": 3}))
    assert closes(sim.position(NQ, size)) == expected


def test_max_contracts_takes_excess_from_the_position_that_grew_last() -> None:
    sim = Sim(rules(max_contracts={"limit": 3}))
    sim.position(NQ, 2)
    out = sim.position(ES, -2)
    assert closes(out) == [(ES, 1)]


def test_max_contracts_net_count_and_micro_weight() -> None:
    gross = Sim(rules(max_contracts={"limit": 3}))
    net = Sim(rules(max_contracts={"limit": 3, "count": "net"}))
    for sim in (gross, net):
        sim.position(NQ, 2)
        sim.position(ES, -2)
    assert closes(gross.actions) and not closes(net.actions)
    weighted = Sim(rules(max_contracts={"limit": 3, "micro_weight": "0.1"}))
    assert not closes(weighted.position(MNQ, 30))
    assert closes(weighted.position(MNQ, 31)) == [(MNQ, 1)]


def test_max_contracts_per_instrument_limits_and_unlisted() -> None:
    sim = Sim(rules(max_contracts_per_instrument={"limits": {"NQ": 2}}))
    assert not sim.position(NQ, 2)
    assert closes(sim.position(NQ, 3)) == [(NQ, 1)]
    assert not sim.position(ES, 5)  # unlisted: allow
    block = Sim(rules(max_contracts_per_instrument={"limits": {"NQ": 2}, "unlisted": "block"}))
    assert closes(block.position(ES, 5)) == [(ES, None)]


@pytest.mark.parametrize(("last", "fires"), [("90.05", False), ("90", True)])
def test_daily_unrealized_loss_per_position(last: str, fires: bool) -> None:
    sim = Sim(rules(daily_unrealized_loss={"limit": 200}))
    sim.position(NQ, 1, "100")
    assert bool(closes(sim.quote(NQ, last))) is fires


def test_daily_unrealized_loss_total_flattens() -> None:
    per = Sim(rules(daily_unrealized_loss={"limit": 200}))
    total = Sim(rules(daily_unrealized_loss={"limit": 200, "scope": "total"}))
    for sim in (per, total):
        sim.quote(NQ, "100")
        sim.quote(ES, "100")
        sim.position(NQ, 1, "100")
        sim.position(ES, 1, "100")
        sim.quote(NQ, "95")  # -100
        sim.quote(ES, "98")  # -100 (ES $50/pt)
    assert ("flatten", "daily_unrealized_loss") in kinds(total.actions)
    assert not per.actions


@pytest.mark.parametrize(("last", "fires"), [("109.95", False), ("110", True)])
def test_max_unrealized_profit_target(last: str, fires: bool) -> None:
    sim = Sim(rules(max_unrealized_profit={"target": 200}))
    sim.position(NQ, 1, "100")
    assert bool(closes(sim.quote(NQ, last))) is fires


def test_mark_bid_ask_values_longs_at_bid() -> None:
    last = Sim(rules(max_unrealized_profit={"target": 200}))
    bidask = Sim(rules(max_unrealized_profit={"target": 200}, mark="bid_ask"))
    for sim in (last, bidask):
        sim.position(NQ, 1, "100")
        sim.quote(NQ, "110", bid="109.75", ask="110.25")
    assert closes(last.actions) and not closes(bidask.actions)


def test_no_stop_loss_grace_closes_after_grace_without_stop() -> None:
    sim = Sim(rules(no_stop_loss_grace={"grace": "30s"}))
    sim.position(NQ, 1)
    assert not closes(sim.advance(seconds=29.9))
    assert closes(sim.advance(seconds=0.1)) == [(NQ, None)]


def test_no_stop_loss_grace_accepts_a_stop_on_the_exit_side_only() -> None:
    sim = Sim(rules(no_stop_loss_grace={"grace": "10s"}))
    sim.position(NQ, 1)
    sim.order(NQ, side=0, type_=4, stop="90")  # a buy stop does not protect a long
    assert closes(sim.advance(seconds=10))
    ok = Sim(rules(no_stop_loss_grace={"grace": "10s"}))
    ok.position(NQ, 1)
    ok.order(NQ, side=1, type_=4, stop="90", status=8)  # suspended bracket child counts
    assert not closes(ok.advance(seconds=60))


def test_symbol_blocks_cancels_orders_and_closes_positions() -> None:
    sim = Sim(rules(symbol_blocks={"blocked": ["E*"]}))  # ES matches, NQ does not
    out = sim.order(ES, order_id=77)
    assert [(a.kind, getattr(a, "order_id", None)) for a in out] == [("cancel_order", 77)]
    assert not sim.order(NQ)
    assert closes(sim.position(ES, 1)) == [(ES, None)]
    keep = Sim(rules(symbol_blocks={"blocked": ["ES"], "close_existing": False}))
    assert not keep.position(ES, 1)


def test_trade_management_places_stop_and_target_and_trails() -> None:
    sim = Sim(
        rules(
            trade_management={
                "stop_loss_ticks": 8,
                "take_profit_ticks": 16,
                "trailing": {"activate_ticks": 8, "trail_ticks": 4},
            }
        )
    )
    out = sim.position(NQ, 1, "100")
    places = [a for a in out if isinstance(a, PlaceOrder)]
    placed = {a.type.name: (a.price, a.size, a.side.name) for a in places}
    assert placed == {"STOP": (Decimal(98), 1, "ASK"), "LIMIT": (Decimal(104), 1, "ASK")}
    tags = [a.custom_tag for a in places]
    assert all(t.startswith("rm-") for t in tags) and len(set(tags)) == 2
    sim.order(NQ, side=1, type_=4, stop="98", tag=tags[0], order_id=901)
    sim.order(NQ, side=1, type_=1, limit="104", tag=tags[1], order_id=902)
    assert not sim.quote(NQ, "101.75")  # 7 ticks: not yet
    out = sim.quote(NQ, "102.50")  # 10 ticks: trail 4 behind → 101.50
    modify = one(out, ModifyOrder)
    assert (modify.order_id, modify.price) == (901, Decimal("101.5"))
    sim.order(NQ, side=1, type_=4, stop="101.50", tag=tags[0], order_id=901)
    assert not sim.quote(NQ, "102.00")  # never loosened


def test_trade_management_breakeven_and_cleanup_when_flat() -> None:
    sim = Sim(
        rules(
            trade_management={
                "stop_loss_ticks": 8,
                "breakeven": {"trigger_ticks": 4, "offset_ticks": 1},
            }
        )
    )
    out = sim.position(NQ, -1, "100")
    tag = next(a.custom_tag for a in out if isinstance(a, PlaceOrder))
    sim.order(NQ, side=0, type_=4, stop="102", tag=tag, order_id=903)
    out = sim.quote(NQ, "99")
    assert one(out, ModifyOrder).price == Decimal("99.75")
    out = sim.position(NQ, 0)
    assert one(out, CancelOrder).order_id == 903


def test_stale_mark_alerts_once_for_a_position_without_quotes() -> None:
    sim = Sim(rules())
    sim.position(NQ, 1)
    assert not sim.advance(seconds=9)
    out = sim.advance(seconds=1)
    assert kinds(out) == [("alert", "stale_mark")]
    assert not sim.advance(seconds=30)
    sim.quote(NQ, "100")
    assert not sim.advance(seconds=9)
    assert kinds(sim.advance(seconds=1)) == [("alert", "stale_mark")]


def test_trade_management_resizes_by_placing_then_cancelling_the_stale_order() -> None:
    sim = Sim(rules(trade_management={"stop_loss_ticks": 8}))
    out = sim.position(NQ, 1, "100")
    (place,) = [a for a in out if isinstance(a, PlaceOrder)]
    sim.order(NQ, side=1, type_=4, size=1, stop="98", tag=place.custom_tag, order_id=910)
    out = sim.position(NQ, 2, "100")
    (bigger,) = [a for a in out if isinstance(a, PlaceOrder)]
    assert (bigger.size, bigger.price) == (2, Decimal(98)) and bigger.custom_tag != place.custom_tag
    out = sim.order(NQ, side=1, type_=4, size=2, stop="98", tag=bigger.custom_tag, order_id=911)
    assert one(out, CancelOrder).order_id == 910


def test_max_contracts_per_instrument_measures_what_it_enforces_across_months() -> None:
    # Two months of NQ count together, |size| each (what evaluate reduces): long 2 + short 2
    # is 4 contracts against the limit, not a net 0, for the view and for warn_at.
    nq_m = "CON.F.US.ENQ.M26"
    sim = Sim(rules(max_contracts_per_instrument={"limits": {"NQ": 5}, "warn_at": 0.8}))
    sim.position(NQ, 2)
    out = sim.position(nq_m, -2)
    assert [a.kind for a in out] == ["alert"] and "4 is 80% of 5" in out[0].reason
    (view,) = [
        r for r in sim.engine.view(ACC, sim.now).rules if r.key == "max_contracts_per_instrument"
    ]
    assert (view.value, view.limit, view.state) == (Decimal(4), Decimal(5), "warning")
    assert closes(sim.position(nq_m, -4)) == [(nq_m, 1)]  # 6 > 5: the month that grew last


def test_a_count_at_its_limit_is_not_shown_as_breached() -> None:
    # RULE-001 triggers at count > limit: holding exactly the limit is allowed.
    sim = Sim(rules(max_contracts={"limit": 2, "warn_at": 0.5}))
    assert not [a for a in sim.position(NQ, 2) if a.kind == "close_position"]
    (view,) = [r for r in sim.engine.view(ACC, sim.now).rules if r.key == "max_contracts"]
    assert (view.value, view.limit, view.state) == (Decimal(2), Decimal(2), "warning")
    sim.position(NQ, 3)
    (view,) = [r for r in sim.engine.view(ACC, sim.now).rules if r.key == "max_contracts"]
    assert view.state == "breached"
