"""projectx.mapping: the live payload shapes of API doc §7.4 become domain events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from risk_manager.domain.enums import OrderStatus, OrderType, PositionType
from risk_manager.domain.events import OrderEvent, PositionEvent, QuoteEvent, TradeEvent
from risk_manager.projectx.mapping import (
    Fault,
    WireError,
    decode_market,
    decode_user,
    market_events,
    parse_time,
    position_from_wire,
    trade_from_wire,
    user_events,
)

AT = datetime(2026, 5, 6, 13, 36, 4, tzinfo=UTC)


def test_live_order_with_seven_digit_fractions_and_omitted_nulls() -> None:
    data = {
        "id": 2934939816,
        "accountId": 20258288,
        "contractId": "CON.F.US.MYM.M26",
        "symbolId": "F.US.MYM",
        "creationTimestamp": "2026-05-06T13:36:03.6112156+00:00",
        "updateTimestamp": "2026-05-06T13:36:03.6112156+00:00",
        "status": 6,
        "type": 2,
        "side": 0,
        "size": 15,
        "fillVolume": 0,
    }
    (ev,) = user_events("GatewayUserOrder", [{"action": 1, "data": data}], AT)
    assert isinstance(ev, OrderEvent)
    o = ev.order
    assert o.id == 2934939816 and o.status is OrderStatus.PENDING and o.type is OrderType.MARKET
    assert o.limit_price is None and o.custom_tag is None
    assert o.created_at == datetime(2026, 5, 6, 13, 36, 3, 611215, tzinfo=UTC)


def test_bare_object_without_envelope_is_accepted() -> None:
    data = {
        "id": 1,
        "accountId": 2,
        "contractId": "CON.F.US.MYM.M26",
        "type": 0,
        "size": 0,
        "averagePrice": 49909,
    }
    (ev,) = user_events("GatewayUserPosition", [data], AT)
    assert isinstance(ev, PositionEvent) and ev.position.is_flat
    assert ev.position.type is PositionType.UNDEFINED


def test_trade_money_is_exact_decimal() -> None:
    t = trade_from_wire(
        {
            "id": 2555492505,
            "accountId": 1,
            "contractId": "CON.F.US.MYM.M26",
            "creationTimestamp": "2026-05-06T13:36:03.6185676+00:00",
            "price": 49909,
            "fees": 5.55,
            "commissions": 3.75,
            "side": 0,
            "size": 15,
            "voided": False,
            "orderId": 2934939816,
        }
    )
    assert t.fees == Decimal("5.55") and t.profit_and_loss is None and not t.is_closing
    (ev,) = user_events(
        "GatewayUserTrade",
        [
            {
                "action": 0,
                "data": {
                    "id": 3,
                    "accountId": 1,
                    "contractId": "X",
                    "creationTimestamp": "2026-05-06T13:36Z",
                    "price": 1,
                    "profitAndLoss": 0.0,
                    "side": 1,
                    "size": 1,
                    "orderId": 9,
                },
            }
        ],
        AT,
    )
    assert isinstance(ev, TradeEvent) and ev.trade.is_closing  # 0.0 at breakeven still closes


def test_quote_object_or_array_and_missing_keys() -> None:
    (q,) = market_events("GatewayQuote", ["CON.F.US.EP.H26", {"lastPrice": 6000.25}], AT)
    assert isinstance(q, QuoteEvent) and q.quote.last_price == Decimal("6000.25")
    assert q.quote.best_bid is None
    two = market_events("GatewayQuote", ["C", [{"bestBid": 1}, {"bestAsk": 2}]], AT)
    assert len(two) == 2


@pytest.mark.parametrize("bad", ["yesterday", 12, "2026-13-01T00:00:00Z"])
def test_bad_timestamps_name_the_field(bad: object) -> None:
    with pytest.raises(WireError, match="creationTimestamp"):
        parse_time(bad, "creationTimestamp")


def test_unknown_target_and_missing_id() -> None:
    with pytest.raises(KeyError):
        user_events("GatewayUserNothing", [{}], AT)
    with pytest.raises(WireError, match="accountId"):
        user_events("GatewayUserOrder", [{"action": 1, "data": {"id": 1}}], AT)


# -- numbers from the wire that are not numbers (issue: one NaN froze the day's P&L) ---------

TRADE = {
    "id": 7001,
    "accountId": 1,
    "contractId": "CON.F.US.MNQ.Z25",
    "creationTimestamp": "2026-05-06T13:36:03.6185676+00:00",
    "price": 20950.25,
    "profitAndLoss": -50.5,
    "fees": 0.74,
    "commissions": 0.0,
    "side": 1,
    "size": 1,
    "voided": False,
    "orderId": 9001,
}
ACCOUNT = {"id": 1, "name": "50KTC", "balance": 50000, "canTrade": True}
POSITION = {"id": 5, "accountId": 1, "contractId": "C", "type": 1, "size": 2, "averagePrice": 10}
ORDER = {"id": 8, "accountId": 1, "contractId": "C", "status": 1, "type": 1, "side": 0, "size": 1}
TARGETS = {
    id(TRADE): "GatewayUserTrade",
    id(ACCOUNT): "GatewayUserAccount",
    id(POSITION): "GatewayUserPosition",
    id(ORDER): "GatewayUserOrder",
}


def _hub_json(text: str) -> object:
    """A value as the hub reader parses it (``NaN``/``Infinity`` literals become floats)."""
    return json.loads(text, parse_float=Decimal)


NOT_FINITE = [_hub_json("NaN"), _hub_json("Infinity"), _hub_json("-Infinity"), Decimal("NaN")]


@pytest.mark.parametrize("bad", NOT_FINITE, ids=["NaN", "Infinity", "-Infinity", "Decimal-NaN"])
@pytest.mark.parametrize("key", ["profitAndLoss", "fees", "commissions", "price"])
def test_a_non_finite_trade_number_rejects_the_record(key: str, bad: object) -> None:
    with pytest.raises(WireError) as caught:
        trade_from_wire(TRADE | {key: bad})
    assert caught.value.fault is Fault.NOT_FINITE and caught.value.field == key
    assert key in str(caught.value) and "finite" in str(caught.value)


@pytest.mark.parametrize(
    ("record", "key", "bad"),
    [
        (TRADE, "profitAndLoss", "-50.5"),  # a string number
        (TRADE, "fees", "NaN"),  # a string that Decimal() would read as NaN
        (TRADE, "price", True),  # a bool is not a number
        (TRADE, "size", True),  # a bool is not an int
        (TRADE, "size", Decimal("1.0")),  # 1.0 is not an integer on the wire
        (TRADE, "id", "7001"),
        (TRADE, "voided", "false"),
        (ACCOUNT, "canTrade", "false"),  # read as true before: the account looked tradable
        (ACCOUNT, "canTrade", 0),
        (ACCOUNT, "balance", "50000"),
        (POSITION, "size", "2"),
        (POSITION, "type", 1.0),
        (ORDER, "side", False),
        (ORDER, "customTag", 12),
    ],
)
def test_a_wrongly_typed_field_rejects_the_record_naming_field_and_type(
    record: dict[str, object], key: str, bad: object
) -> None:
    data = record | {key: bad}
    decoded = decode_user(TARGETS[id(record)], [{"action": 1, "data": data}], AT)
    assert decoded.events == []
    (error,) = decoded.rejected
    assert error.fault is Fault.WRONG_TYPE and error.field == key
    assert type(bad).__name__ in str(error)
    assert f"(record id {data['id']!r})" in str(error)


@pytest.mark.parametrize(
    ("record", "key"),
    [
        (TRADE, "price"),
        (TRADE, "side"),  # absent: not "a buy" by default
        (TRADE, "creationTimestamp"),
        (ACCOUNT, "canTrade"),  # absent: not "can trade" by default
        (ACCOUNT, "balance"),
        (POSITION, "type"),  # absent: not "flat" by default
        (POSITION, "averagePrice"),  # an open position needs its price
        (ORDER, "size"),
    ],
)
def test_null_or_absent_in_a_required_field_rejects_the_record(
    record: dict[str, object], key: str
) -> None:
    for data in (record | {key: None}, {k: v for k, v in record.items() if k != key}):
        (error,) = decode_user(TARGETS[id(record)], [data], AT).rejected
        assert error.fault is Fault.MISSING and error.field == key


def test_impossible_values_are_rejected_not_guessed() -> None:
    with pytest.raises(WireError, match="side") as caught:
        trade_from_wire(TRADE | {"side": 2})
    assert caught.value.fault is Fault.BAD_VALUE
    with pytest.raises(WireError, match="type"):  # type 0 would read a held position as flat
        position_from_wire(POSITION | {"type": 0})
    with pytest.raises(WireError, match="size"):
        position_from_wire(POSITION | {"size": -2})
    flat = position_from_wire(POSITION | {"type": 0, "size": 0, "averagePrice": None})
    assert flat.is_flat and flat.average_price == 0


def test_one_bad_record_costs_only_itself_the_frame_goes_on() -> None:
    bad = TRADE | {"id": 7002, "profitAndLoss": _hub_json("NaN")}
    good = TRADE | {"id": 7003}
    frame = [{"action": 0, "data": TRADE}, {"action": 0, "data": bad}, "junk", {"data": good}]
    decoded = decode_user("GatewayUserTrade", frame, AT)
    assert [e.trade.id for e in decoded.events if isinstance(e, TradeEvent)] == [7001, 7003]
    assert [(e.field, e.fault, e.record_id) for e in decoded.rejected] == [
        ("profitAndLoss", Fault.NOT_FINITE, 7002),
        ("arguments[2]", Fault.MALFORMED, None),
    ]
    assert all(
        isinstance(e, TradeEvent) and e.trade.profit_and_loss == Decimal("-50.5")
        for e in decoded.events
    )
    with pytest.raises(WireError, match="profitAndLoss"):  # replay: a bad line is an error
        user_events("GatewayUserTrade", frame, AT)


def test_quotes_of_one_frame_are_read_one_by_one() -> None:
    items = [
        {"lastPrice": 1},
        {"lastPrice": _hub_json("Infinity")},
        {"bestBid": "2"},
        {"bestAsk": 3},
    ]
    decoded = decode_market("GatewayQuote", ["C", items], AT)
    quotes = [e.quote for e in decoded.events if isinstance(e, QuoteEvent)]
    assert [q.last_price or q.best_ask for q in quotes] == [1, 3]
    assert [e.fault for e in decoded.rejected] == [Fault.NOT_FINITE, Fault.WRONG_TYPE]
    (shape,) = decode_market("GatewayQuote", [{"lastPrice": 1}], AT).rejected
    assert shape.fault is Fault.MALFORMED
