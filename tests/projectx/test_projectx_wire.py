"""The wire boundary: malformed REST replies are errors (never an empty list), hub frames with
``NaN`` literals are read record by record, and rejections are counted and logged once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from projectx.px_fakes import FakeGateway, Reply, ok
from risk_manager.domain.enums import OrderSide, OrderType
from risk_manager.domain.errors import RetryLater
from risk_manager.domain.events import TradeEvent
from risk_manager.projectx import wire_values
from risk_manager.projectx.client import ProjectXClient
from risk_manager.projectx.mapping import decode_user
from risk_manager.projectx.wire_faults import WireFaults
from risk_manager.projectx.wire_values import Fault, WireError
from risk_manager.runtime.metrics import Metrics
from risk_manager.signalr import RECORD_SEPARATOR, RecordBuffer, parse_object

AT = datetime(2026, 5, 6, 13, 36, 4, tzinfo=UTC)
POSITION = {"id": 5, "accountId": 1, "contractId": "C", "type": 1, "size": 2, "averagePrice": 10}

Read = Callable[[ProjectXClient], Awaitable[list[Any]]]
READS: dict[str, tuple[str, Read]] = {
    "Position/searchOpen": ("positions", lambda px: px.search_open_positions(1)),
    "Order/searchOpen": ("orders", lambda px: px.search_open_orders(1)),
    "Order/search": ("orders", lambda px: px.search_orders(1, AT)),
    "Trade/search": ("trades", lambda px: px.search_trades(1, AT)),
    "Account/search": ("accounts", lambda px: px.search_accounts()),
    "Contract/search": ("contracts", lambda px: px.search_contracts("NQ")),
    "Contract/available": ("contracts", lambda px: px.available_contracts()),
}


def _malformed_replies(key: str) -> dict[str, Reply]:
    return {
        "missing key": ok(),
        "null list": ok(**{key: None}),
        "not a list": ok(**{key: {"0": POSITION}}),
        "a string row": ok(**{key: ["row"]}),
        "a list row": ok(**{key: [[1, 2]]}),
    }


@pytest.mark.parametrize("endpoint", READS)
@pytest.mark.parametrize("shape", list(_malformed_replies("x")))
async def test_a_malformed_rest_reply_is_retry_later_never_an_empty_list(
    client: ProjectXClient, gateway: FakeGateway, endpoint: str, shape: str
) -> None:
    key, read = READS[endpoint]
    gateway.script(endpoint, _malformed_replies(key)[shape])
    with pytest.raises(RetryLater, match=endpoint):
        await read(client)
    assert client.wire_faults.count("rest", endpoint) == 1
    assert await read(client) == []  # the next, well-formed reply reads as it is


async def test_one_bad_row_fails_the_whole_snapshot(
    client: ProjectXClient, gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    # Raw JSON text: Python's parser turns the NaN literal into a float NaN.
    row = '{"id":9,"accountId":1,"contractId":"C","type":1,"size":2,"averagePrice":NaN}'
    good = '{"id":8,"accountId":1,"contractId":"D","type":1,"size":1,"averagePrice":5}'
    text = f'{{"success":true,"errorCode":0,"errorMessage":null,"positions":[{good},{row}]}}'
    gateway.script("Position/searchOpen", (200, text, {}))
    with pytest.raises(RetryLater, match=r"averagePrice.*finite.*record id 9"):
        await client.search_open_positions(1)
    assert "averagePrice" in caplog.text and "Position/searchOpen" in caplog.text
    assert not any(r.exc_info for r in caplog.records)


async def test_contract_by_id_without_contract_is_malformed_not_not_found(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    gateway.script("Contract/searchById", ok())
    with pytest.raises(RetryLater, match="contract"):
        await client.contract_by_id("C")


def test_a_nan_literal_in_a_hub_frame_rejects_that_record_only() -> None:
    trade = (
        '{{"id":{id},"accountId":1,"contractId":"C","creationTimestamp":"2026-05-06T13:36:03Z",'
        '"price":20950.25,"profitAndLoss":{pnl},"fees":0.74,"side":1,"size":1,"orderId":3}}'
    )
    records = ",".join(
        '{"action":0,"data":' + trade.format(id=i, pnl=pnl) + "}"
        for i, pnl in ((1, "-10.5"), (2, "NaN"), (3, "Infinity"), (4, "-Infinity"), (5, "0.0"))
    )
    (text,) = RecordBuffer(1 << 20).feed(
        f'{{"type":1,"target":"GatewayUserTrade","arguments":[{records}]}}{RECORD_SEPARATOR}'
    )
    message = parse_object(text, parse_float=Decimal)
    decoded = decode_user(message["target"], message["arguments"], AT)
    trades = [e.trade for e in decoded.events if isinstance(e, TradeEvent)]
    assert [(t.id, t.profit_and_loss) for t in trades] == [(1, Decimal("-10.5")), (5, Decimal(0))]
    assert [(e.record_id, e.fault) for e in decoded.rejected] == [
        (2, Fault.NOT_FINITE),
        (3, Fault.NOT_FINITE),
        (4, Fault.NOT_FINITE),
    ]


def test_a_number_with_a_huge_exponent_rejects_that_record_only() -> None:
    """``1e999999999`` parses to a ``Decimal`` whose arithmetic traps (``decimal.Overflow``):
    the record is refused as out of range, the others kept, the message never dropped."""
    trade = (
        '{{"id":{id},"accountId":1,"contractId":"C","creationTimestamp":"2026-05-06T13:36:03Z",'
        '"price":{price},"profitAndLoss":-1.5,"fees":0.74,"side":1,"size":1,"orderId":3}}'
    )
    records = ",".join(
        '{"action":0,"data":' + trade.format(id=i, price=price) + "}"
        for i, price in ((1, "20950.25"), (2, "1e999999999"), (3, "-1E+999999999"), (4, "7"))
    )
    (text,) = RecordBuffer(1 << 20).feed(
        f'{{"type":1,"target":"GatewayUserTrade","arguments":[{records}]}}{RECORD_SEPARATOR}'
    )
    message = parse_object(text, parse_float=Decimal)
    decoded = decode_user(message["target"], message["arguments"], AT)
    assert [e.trade.id for e in decoded.events if isinstance(e, TradeEvent)] == [1, 4]
    assert [(e.record_id, e.fault) for e in decoded.rejected] == [
        (2, Fault.BAD_VALUE),
        (3, Fault.BAD_VALUE),
    ]


def test_rejections_are_logged_once_per_kind_with_a_count_and_counted_on_metrics(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="risk_manager.projectx.wire_faults")
    metrics = Metrics()
    faults = WireFaults(metrics.wire_record_rejected)
    nan = WireError("profitAndLoss", Fault.NOT_FINITE, "not a finite number (float nan)")
    nan.record_id = 7002
    wrong = WireError("canTrade", Fault.WRONG_TYPE, "expected a JSON boolean, got str 'false'")
    for _ in range(25):
        faults.reject("user", "GatewayUserTrade", nan)
    faults.reject("user", "GatewayUserAccount", wrong)
    faults.reject("rest", "Trade/search", nan)
    lines = [r.getMessage() for r in caplog.records]
    # The first of each kind, then the 10th of the flood: 4 lines for 27 rejections.
    assert len(lines) == 4, lines
    assert "GatewayUserTrade" in lines[0] and "1 so far" in lines[0]
    assert "profitAndLoss" in lines[0] and "float nan" in lines[0] and "7002" in lines[0]
    assert "10 so far" in lines[1]
    assert "canTrade" in lines[2] and "str 'false'" in lines[2]
    assert "Trade/search" in lines[3]
    assert not any(r.exc_info for r in caplog.records)  # no traceback
    assert faults.count() == 27 and faults.count("user", "GatewayUserTrade") == 25
    text = metrics.render().decode()
    assert (
        'risk_manager_wire_records_rejected_total{fault="not_finite",source="user",'
        'target="GatewayUserTrade"} 25.0'
    ) in text
    assert (
        'risk_manager_wire_records_rejected_total{fault="not_finite",source="rest",'
        'target="Trade/search"} 1.0'
    ) in text


async def test_an_order_id_that_is_a_boolean_is_no_order_id(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    gateway.script("Order/place", ok(orderId=True))
    with pytest.raises(RetryLater, match="orderId"):
        await client.place_order(1, "C", OrderType.MARKET, OrderSide.BID, 1)


def _frame_records() -> list[tuple[str, list[Any]]]:
    """A breach's user-hub frame as the hub's parser reads it (fractions as ``Decimal``): the
    buy's order, its fill, the order filled, the position, the account."""
    texts = [
        '{"type":1,"target":"GatewayUserOrder","arguments":[{"action":1,"data":{"id":3,'
        '"accountId":1,"contractId":"C","creationTimestamp":"2026-05-06T13:36:04.5452180+00:00",'
        '"status":2,"type":2,"side":0,"size":1,"fillVolume":1,"filledPrice":19999.75}}]}',
        '{"type":1,"target":"GatewayUserTrade","arguments":[{"action":0,"data":{"id":26,'
        '"accountId":1,"contractId":"C","creationTimestamp":"2026-05-06T13:36:04.5453070Z",'
        '"price":19999.75,"profitAndLoss":-1,"fees":0.37,"commissions":0.25,"side":0,"size":1,'
        '"voided":false,"orderId":3}}]}',
        '{"type":1,"target":"GatewayUserPosition","arguments":[{"action":1,"data":{"id":7,'
        '"accountId":1,"contractId":"C","type":1,"size":2,"averagePrice":20000.25}}]}',
        '{"type":1,"target":"GatewayUserAccount","arguments":[{"action":1,"data":{"id":1,'
        '"name":"A","balance":49976.98,"canTrade":true,"isVisible":true,"simulated":true}}]}',
    ]
    records = [parse_object(text, parse_float=Decimal) for text in texts]
    return [(r["target"], r["arguments"]) for r in records]


def test_a_well_formed_hub_frame_is_read_without_the_careful_readers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A breach's frame is read before its position reaches the actor: plain good values
    (ints and ``Decimal`` fractions in range, booleans) are taken at once, and the readers that
    give a fault its detail run only for what is not plain (docs/PERFORMANCE.md)."""
    calls: list[str] = []
    for name in ("to_int", "to_decimal", "to_bool"):
        reader = getattr(wire_values, name)

        def counted(value: object, field: str, _read: Any = reader, _name: str = name) -> Any:
            calls.append(_name)
            return _read(value, field)

        monkeypatch.setattr(wire_values, name, counted)
    events = [
        e for target, args in _frame_records() for e in decode_user(target, args, AT).strict()
    ]
    assert calls == []
    trade = next(e for e in events if isinstance(e, TradeEvent)).trade
    assert (trade.price, trade.profit_and_loss, trade.fees, trade.voided) == (
        Decimal("19999.75"),
        Decimal(-1),
        Decimal("0.37"),
        False,
    )


@pytest.mark.parametrize(
    "value",
    [
        0, -1, 2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 10**15 - 1, 10**15, -(10**15),
        Decimal("19999.75"), Decimal("-0.5"), Decimal("999999999999999.9"), Decimal("1e15"),
        Decimal("-1e15"), Decimal("NaN"), Decimal("Infinity"), Decimal("1e999999"),
        1.5, float("nan"), True, False, None, "1", [1],
    ],
)  # fmt: skip
def test_the_fast_readers_agree_with_the_careful_ones(value: object) -> None:
    """Every value reads through ``Fields`` exactly as through ``to_int`` / ``to_decimal`` /
    ``to_bool``: the same value (and type), or the same fault."""
    fields = wire_values.Fields({"k": value})
    for fast, careful in (
        (fields.integer, wire_values.to_int),
        (fields.decimal, wire_values.to_decimal),
        (fields.boolean, wire_values.to_bool),
        (fields.opt_integer, lambda v, k: None if v is None else wire_values.to_int(v, k)),
        (fields.opt_decimal, wire_values.opt_decimal),
    ):
        try:
            expected: object = careful(value, "k")
        except WireError as exc:
            with pytest.raises(WireError) as got:
                fast("k")
            assert (got.value.fault, str(got.value)) == (exc.fault, str(exc))
        else:
            result = fast("k")
            assert (result, type(result)) == (expected, type(expected))
            if isinstance(expected, Decimal):
                assert str(result) == str(expected)
