"""The simulated exchange: P&L (§8.4), event order (§8.1), brackets (§8.3), triggers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from risk_manager.domain.contracts import DEFAULT_CATALOG
from risk_manager.domain.enums import OrderSide, OrderStatus
from risk_manager.sim.exchange import ACCOUNT_ID_BASE, Exchange
from risk_manager.sim.fills import apply_fill
from risk_manager.sim.orders import BracketRequest, PlaceRequest
from risk_manager.sim.records import SimEvent, UserEvent

NOW = datetime(2026, 5, 6, 13, 36, 3, 496279, tzinfo=UTC)
MYM = "CON.F.US.MYM.M26"
MNQ = "CON.F.US.MNQ.M26"
ZB = "CON.F.US.USA.M26"
ACCT = ACCOUNT_ID_BASE + 1
D = Decimal


def make() -> tuple[Exchange, list[SimEvent]]:
    events: list[SimEvent] = []
    ex = Exchange([("SIM-50K", D(50000))], clock=lambda: NOW, sink=events.append)
    return ex, events


def user(events: list[SimEvent]) -> list[UserEvent]:
    return [e for e in events if isinstance(e, UserEvent)]


def market(ex: Exchange, cid: str, side: int, size: int, **kw: object) -> int:
    out = ex.place(PlaceRequest(ACCT, cid, 2, side, size, **kw))  # type: ignore[arg-type]
    assert out.code == 0, out
    assert out.order_id is not None
    return out.order_id


def test_mym_long_round_trip_realizes_555_and_balance_moves_by_pnl_minus_costs() -> None:
    ex, _ = make()
    ex.set_price(MYM, D(49909), ask=D(49909))
    market(ex, MYM, 0, 15)
    ex.set_price(MYM, D(49983), bid=D(49983))
    market(ex, MYM, 1, 15)
    opening, closing = ex.trades
    assert opening.profit_and_loss is None
    assert closing.profit_and_loss == D("555.00")
    assert opening.fees == D("5.55") and opening.commissions == D("3.75")
    assert ex.accounts[ACCT].balance == D(50000) + D("555.00") - 2 * (D("5.55") + D("3.75"))


def test_zb_short_stopped_realizes_minus_468_75() -> None:
    ex, _ = make()
    ex.set_price(ZB, D("113.46875"), bid=D("113.46875"))
    market(ex, ZB, 1, 15)
    stop = ex.place(PlaceRequest(ACCT, ZB, 4, 0, 15, stop_price=D("113.50")))
    assert stop.code == 0
    ex.set_price(ZB, D("113.50"))
    assert ex.trades[-1].profit_and_loss == D("-468.75")
    assert ex.trades[-1].price == D("113.50")
    assert ex.orders[stop.order_id or 0].status is OrderStatus.FILLED


def test_same_price_close_realizes_zero() -> None:
    ex, _ = make()
    ex.set_price(MYM, D(49909), bid=D(49909), ask=D(49909))
    market(ex, MYM, 0, 2)
    market(ex, MYM, 1, 2)
    assert ex.trades[-1].profit_and_loss == D(0)


def test_market_fill_events_follow_live_order() -> None:
    ex, events = make()
    market(ex, MYM, 0, 15)
    seq = [(e.target, e.action, e.data.get("status")) for e in user(events)]
    assert seq == [
        ("GatewayUserOrder", 1, 6),
        ("GatewayUserTrade", 0, None),
        ("GatewayUserOrder", 1, 2),
        ("GatewayUserPosition", 1, None),
        ("GatewayUserAccount", 1, None),
        ("GatewayUserAccount", 1, None),
    ]
    pending = user(events)[0].data
    assert "limitPrice" not in pending and "customTag" not in pending  # nulls omitted
    assert pending["creationTimestamp"] == "2026-05-06T13:36:03.4962790+00:00"
    assert "profitAndLoss" not in user(events)[1].data


def test_flat_position_is_action_2_type_0_size_0() -> None:
    ex, events = make()
    market(ex, MYM, 0, 1)
    market(ex, MYM, 1, 1)
    flat = [e for e in user(events) if e.target == "GatewayUserPosition"][-1]
    assert (flat.action, flat.data["type"], flat.data["size"]) == (2, 0, 0)


def test_sell_bigger_than_long_flips_short() -> None:
    ex, _ = make()
    ex.set_price(MYM, D(100), bid=D(100), ask=D(100))
    market(ex, MYM, 0, 2)
    market(ex, MYM, 1, 5)
    (pos,) = ex.open_positions(ACCT)
    assert pos.net == -3 and pos.average_price == D(100)


def test_average_price_is_size_weighted() -> None:
    ex, _ = make()
    ex.set_price(MYM, D(100), ask=D(100))
    market(ex, MYM, 0, 1)
    ex.set_price(MYM, D(103), ask=D(103))
    market(ex, MYM, 0, 3)
    (pos,) = ex.open_positions(ACCT)
    assert pos.average_price == D("102.25")


def test_an_average_that_no_decimal_holds_goes_out_rounded_as_the_gateway_stores_prices() -> None:
    ex, events = make()
    ex.set_price(MNQ, D("21000.25"), ask=D("21000.25"))
    market(ex, MNQ, 0, 1)
    ex.set_price(MNQ, D("21000.5"), ask=D("21000.5"))
    market(ex, MNQ, 0, 2)  # 63001.25 / 3 = 21000.41666...
    sent = [e.data for e in user(events) if e.target == "GatewayUserPosition"][-1]
    assert sent["averagePrice"] == 21000.416666667  # 9 places, not 21000.416666666668
    assert json.dumps(sent).endswith('"averagePrice": 21000.416666667}')
    ex.set_price(MNQ, D(21001), bid=D(21001))
    market(ex, MNQ, 1, 1)
    market(ex, MNQ, 1, 2)
    # Against the exact average: 0.58333... x 2 $/pt = 1.1666 -> 1.17, then 2.3333 -> 2.33.
    assert [t.profit_and_loss for t in ex.trades[2:]] == [D("1.17"), D("2.33")]


MNQ_SPEC = DEFAULT_CATALOG.by_contract_id(MNQ)
FILLS = st.lists(st.tuples(st.integers(1, 7), st.integers(-400, 400)), min_size=1, max_size=6)


@given(FILLS, st.integers(-400, 400))
def test_closing_everything_realizes_the_exact_pnl_of_all_entries(
    entries: list[tuple[int, int]], exit_ticks: int
) -> None:
    """Opening at several prices and closing at once realizes sum(exit - entry) x size x $/pt
    to the cent, whatever the average's digits."""
    net, average = 0, Fraction(0)
    tick = MNQ_SPEC.tick_size
    for size, ticks in entries:
        step = apply_fill(net, average, OrderSide.BID, size, 21000 + ticks * tick, MNQ_SPEC)
        net, average = step.net, step.average_price
    exit_price = 21000 + exit_ticks * tick
    closed = apply_fill(net, average, OrderSide.ASK, net, exit_price, MNQ_SPEC)
    exact = sum((exit_ticks - ticks) * size for size, ticks in entries) * MNQ_SPEC.tick_value
    assert closed.net == 0 and closed.pnl == exact.quantize(D("0.01"))


def _bracket_entry(ex: Exchange, side: int) -> tuple[int, int, int]:
    """SL 10 and TP 20 ticks away, signed for the entry's direction (long: SL −, TP +)."""
    ex.set_price(MYM, D(1000), bid=D(1000), ask=D(1000))
    sign = 1 if side == 0 else -1
    out = ex.place(
        PlaceRequest(
            ACCT, MYM, 2, side, 1, custom_tag="T", stop_loss=BracketRequest(-10 * sign, 4),
            take_profit=BracketRequest(20 * sign, 1),
        )
    )  # fmt: skip
    assert out.code == 0 and out.order_id is not None
    return out.order_id, out.order_id + 1, out.order_id + 2


def test_bracket_children_suspended_then_activated_with_absolute_prices() -> None:
    ex, events = make()
    entry, sl, tp = _bracket_entry(ex, 0)
    burst = [e.data for e in user(events)[:3]]
    assert [(d["id"], d["status"]) for d in burst] == [(sl, 8), (entry, 6), (tp, 8)]
    assert burst[0]["customTag"] == "T-SL" and burst[2]["customTag"] == "T-TP"
    assert burst[0]["parentOrderId"] == entry and burst[2]["linkedOrderId"] == sl
    assert "linkedOrderId" not in burst[0] and "stopPrice" not in burst[0]
    assert (burst[0]["trailDistance"], burst[0]["trailPrice"]) == (-10, -10)
    assert (burst[2]["trailDistance"], burst[2]["trailPrice"]) == (20, 20)
    assert ex.orders[sl].stop_price == D(990) and ex.orders[tp].limit_price == D(1020)
    assert ex.orders[sl].status is OrderStatus.OPEN


def test_take_profit_fill_cancels_stop_loss() -> None:
    ex, _ = make()
    _, sl, tp = _bracket_entry(ex, 0)
    ex.set_price(MYM, D(1020))
    assert ex.orders[tp].status is OrderStatus.FILLED
    assert ex.orders[sl].status is OrderStatus.CANCELLED
    assert ex.trades[-1].profit_and_loss == D("10.00")


def test_stop_loss_fill_cancels_take_profit_on_a_short() -> None:
    ex, _ = make()
    _, sl, tp = _bracket_entry(ex, 1)
    assert ex.orders[sl].stop_price == D(1010) and ex.orders[tp].limit_price == D(980)
    ex.set_price(MYM, D(1011))
    assert ex.orders[sl].status is OrderStatus.FILLED
    assert ex.orders[tp].status is OrderStatus.CANCELLED
    assert ex.trades[-1].price == D(1011)


def test_limit_rests_then_fills_when_price_crosses() -> None:
    ex, _ = make()
    ex.set_price(MYM, D(1000))
    out = ex.place(PlaceRequest(ACCT, MYM, 1, 0, 1, limit_price=D(995)))
    assert ex.orders[out.order_id or 0].status is OrderStatus.OPEN
    ex.set_price(MYM, D(996))
    assert not ex.trades
    ex.set_price(MYM, D(995))
    assert ex.trades[-1].price == D(995)


def test_trailing_stop_trails_by_fixed_ticks_and_triggers() -> None:
    ex, _ = make()
    ex.set_price(MYM, D(1000))
    out = ex.place(PlaceRequest(ACCT, MYM, 5, 1, 1, trail_price=D(994)))
    order = ex.orders[out.order_id or 0]
    assert (order.trail_distance, order.trail_price, order.stop_price) == (6, D(6), D(994))
    ex.set_price(MYM, D(1010))
    assert order.stop_price == D(1004)
    ex.set_price(MYM, D(1007))
    assert order.stop_price == D(1004) and order.status is OrderStatus.OPEN
    ex.set_price(MYM, D(1004))
    assert ex.orders[order.id].status is OrderStatus.FILLED


def test_validation_codes() -> None:
    ex, _ = make()
    assert ex.place(PlaceRequest(ACCT, "CON.F.US.NOPE.M26", 2, 0, 1)).code == 8
    assert ex.place(PlaceRequest(ACCT + 99, MYM, 2, 0, 1)).code == 1
    assert ex.place(PlaceRequest(ACCT, MYM, 2, 0, 0)).code == 2
    assert ex.place(PlaceRequest(ACCT, ZB, 1, 0, 1, limit_price=D("113.1"))).code == 2
    assert ex.place(PlaceRequest(ACCT, MYM, 1, 0, 1, limit_price=D(1), custom_tag="x")).code == 0
    assert ex.place(PlaceRequest(ACCT, MYM, 1, 0, 1, limit_price=D(1), custom_tag="x")).code == 2
    ex.set_price(MYM, D(5000))
    far = ex.place(PlaceRequest(ACCT, MYM, 5, 1, 1, trail_price=D(3000)))
    assert (far.code, far.message) == (2, "Trail Distance exceeds maximum (1000)")


def test_cannot_trade_rejects_with_an_order_id() -> None:
    ex, events = make()
    ex.set_can_trade(ACCT, False)
    out = ex.place(PlaceRequest(ACCT, MYM, 2, 0, 1))
    assert out.code == 4 and out.order_id is not None
    statuses = [e.data["status"] for e in user(events) if e.target == "GatewayUserOrder"]
    assert statuses == [6, 5]
    assert not ex.trades


def test_close_and_partial_close() -> None:
    ex, _ = make()
    market(ex, MYM, 0, 5)
    assert ex.close_position(ACCT, MYM, 2).code == 0
    assert ex.open_positions(ACCT)[0].net == 3
    assert ex.close_position(ACCT, MYM, 4).code == 5  # InvalidCloseSize
    assert ex.close_position(ACCT, MYM).code == 0
    assert ex.open_positions(ACCT) == []
    assert ex.close_position(ACCT, MYM).code == 2  # PositionNotFound


def test_cancel_codes_and_cancelling_entry_cancels_suspended_children() -> None:
    ex, _ = make()
    assert ex.cancel(ACCT, 1).code == 2
    ex.set_price(MYM, D(1000))
    out = ex.place(
        PlaceRequest(ACCT, MYM, 1, 0, 1, limit_price=D(900), stop_loss=BracketRequest(-5, 4))
    )
    entry = out.order_id or 0
    assert ex.cancel(ACCT, entry).code == 0
    assert ex.orders[entry + 1].status is OrderStatus.CANCELLED
    assert ex.cancel(ACCT, entry).code == 5


def test_ids_exceed_32_bits() -> None:
    ex, _ = make()
    oid = market(ex, MYM, 0, 1)
    assert oid > 2**31 and ex.trades[0].id > 2**31


def test_random_walk_is_seeded_and_moves_in_whole_ticks() -> None:
    paths = []
    for _ in range(2):
        ex, events = make()
        for _ in range(5):
            ex.walk_step()
        market = ex.markets.market(ex.markets.front["MNQ"])
        paths.append(market.last)
        assert market.last % market.tick_size == 0
        assert any(not isinstance(e, UserEvent) for e in events)
    assert paths[0] == paths[1]


def test_closing_the_position_cancels_its_open_bracket_legs() -> None:
    ex, _ = make()
    _, sl, tp = _bracket_entry(ex, 0)
    assert ex.close_position(ACCT, MYM).code == 0
    assert ex.orders[sl].status is OrderStatus.CANCELLED
    assert ex.orders[tp].status is OrderStatus.CANCELLED


def test_partial_close_leaves_bracket_legs_alone() -> None:
    ex, _ = make()
    ex.set_price(MYM, D(1000), bid=D(1000), ask=D(1000))
    out = ex.place(
        PlaceRequest(
            ACCT, MYM, 2, 0, 3, stop_loss=BracketRequest(-10, 4), take_profit=BracketRequest(20, 1)
        )
    )
    entry = out.order_id or 0
    assert ex.close_position(ACCT, MYM, 1).code == 0
    assert ex.orders[entry + 1].status is OrderStatus.OPEN
    assert ex.orders[entry + 1].size == 3
