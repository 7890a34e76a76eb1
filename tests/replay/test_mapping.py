"""projectx.mapping: the live payload shapes of API doc §7.4 become domain events."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from risk_manager.domain.enums import OrderStatus, OrderType, PositionType
from risk_manager.domain.events import OrderEvent, PositionEvent, QuoteEvent, TradeEvent
from risk_manager.projectx.mapping import (
    WireError,
    market_events,
    parse_time,
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
