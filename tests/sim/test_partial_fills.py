"""Partial fills (``partial_fill_size``): limit orders resting at the last price share that
many contracts per price print; through their price they fill in full. Off by default."""

from __future__ import annotations

from decimal import Decimal

from risk_manager.domain.enums import OrderStatus
from risk_manager.sim.exchange import Exchange
from risk_manager.sim.orders import BracketRequest, PlaceRequest
from risk_manager.sim.records import SimEvent
from risk_manager.sim.server import SimSettings

from .conftest import logged_in
from .test_exchange import ACCT, MYM, NOW, make, user

D = Decimal


def _partial(size: int) -> tuple[Exchange, list[SimEvent]]:
    events: list[SimEvent] = []
    ex = Exchange(
        [("SIM-50K", D(50000))], clock=lambda: NOW, sink=events.append, partial_fill_size=size
    )
    ex.set_price(MYM, D(1000))
    return ex, events


def _buy_limit(ex: Exchange, size: int, price: int, **kw: object) -> int:
    out = ex.place(PlaceRequest(ACCT, MYM, 1, 0, size, limit_price=D(price), **kw))  # type: ignore[arg-type]
    assert out.code == 0 and out.order_id is not None, out
    return out.order_id


def test_a_limit_at_the_touch_fills_piece_by_piece_then_in_full_through_its_price() -> None:
    ex, events = _partial(2)
    oid = _buy_limit(ex, 5, 995)
    ex.set_price(MYM, D(995))
    order = ex.orders[oid]
    assert (order.status, order.fill_volume, order.filled_price) == (OrderStatus.OPEN, 2, D(995))
    assert [t.size for t in ex.trades] == [2]
    update = [e.data for e in user(events) if e.target == "GatewayUserOrder"][-1]
    assert (update["status"], update["fillVolume"], update["filledPrice"]) == (1, 2, 995)
    (pos,) = ex.open_positions(ACCT)
    assert pos.net == 2
    ex.set_price(MYM, D(995))  # the next print at the price: two more
    assert order.fill_volume == 4 and order.status is OrderStatus.OPEN
    ex.set_price(MYM, D(994))  # traded through: the last one fills, at the limit or better
    assert (order.status, order.fill_volume) == (OrderStatus.FILLED, 5)
    assert [(t.size, t.price) for t in ex.trades] == [(2, D(995)), (2, D(995)), (1, D(994))]
    assert order.filled_price == D("994.8")  # the average over its fills
    assert ex.open_positions(ACCT)[0].net == 5


def test_limits_at_one_price_share_the_size_oldest_first() -> None:
    ex, _ = _partial(3)
    first, second = _buy_limit(ex, 2, 995), _buy_limit(ex, 2, 995)
    ex.set_price(MYM, D(995))
    assert (ex.orders[first].fill_volume, ex.orders[second].fill_volume) == (2, 1)
    assert ex.orders[first].status is OrderStatus.FILLED
    assert ex.orders[second].status is OrderStatus.OPEN


def test_a_partly_filled_order_cancels_with_its_fills_and_cannot_shrink_below_them() -> None:
    ex, _ = _partial(1)
    oid = _buy_limit(ex, 3, 995)
    ex.set_price(MYM, D(995))
    assert ex.modify(ACCT, oid, size=1).code == 3  # one is filled already
    assert ex.modify(ACCT, oid, size=2).code == 0  # a modify brings no size at the price
    assert ex.orders[oid].fill_volume == 1
    assert ex.cancel(ACCT, oid).code == 0
    order = ex.orders[oid]
    assert (order.status, order.fill_volume, order.size) == (OrderStatus.CANCELLED, 1, 2)


def test_a_new_limit_at_the_last_price_waits_for_the_next_print() -> None:
    ex, _ = _partial(2)
    oid = _buy_limit(ex, 2, 1000)  # at the touch: it joins the queue
    assert ex.orders[oid].fill_volume == 0
    ex.set_price(MYM, D(1000))
    assert ex.orders[oid].status is OrderStatus.FILLED
    through = _buy_limit(ex, 3, 1001)  # better than last: fills in full at once
    assert (ex.orders[through].fill_volume, ex.trades[-1].price) == (3, D(1000))


def test_bracket_entries_and_market_orders_fill_in_full() -> None:
    ex, _ = _partial(1)
    entry = _buy_limit(
        ex, 3, 995, stop_loss=BracketRequest(-10, 4), take_profit=BracketRequest(20, 1)
    )
    ex.set_price(MYM, D(995))
    assert ex.orders[entry].status is OrderStatus.FILLED
    assert [ex.orders[entry + i].size for i in (1, 2)] == [3, 3]
    market = ex.place(PlaceRequest(ACCT, MYM, 2, 0, 4))
    assert ex.orders[market.order_id or 0].fill_volume == 4


def test_off_by_default() -> None:
    ex, _ = make()
    ex.set_price(MYM, D(1000))
    oid = _buy_limit(ex, 5, 995)
    ex.set_price(MYM, D(995))
    assert (ex.orders[oid].status, ex.orders[oid].fill_volume) == (OrderStatus.FILLED, 5)


async def test_over_rest_a_partly_filled_order_stays_open(settings: SimSettings) -> None:
    async with logged_in(settings, partial_fills=1) as client:
        acct = await client.account_id()
        await client.control("price", {"contractId": MYM, "price": 1000})
        buy = {"accountId": acct, "contractId": MYM, "type": 1, "side": 0, "size": 2,
               "limitPrice": 995}  # fmt: skip
        oid = (await client.api("Order/place", buy))["orderId"]
        await client.control("price", {"contractId": MYM, "price": 995})
        (order,) = (await client.api("Order/searchOpen", {"accountId": acct}))["orders"]
        assert (order["id"], order["status"], order["fillVolume"]) == (oid, 1, 1)
        (pos,) = (await client.api("Position/searchOpen", {"accountId": acct}))["positions"]
        assert pos["size"] == 1
