"""ProjectXClient against a fake gateway: envelopes, parsing, retries, 401, 429, breaker."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from projectx.px_fakes import T0, FakeClock, FakeGateway, Reply, ok, refused
from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
from risk_manager.domain.errors import AuthenticationFailed, BrokerRefused, RetryLater
from risk_manager.projectx.circuit import CircuitOpen
from risk_manager.projectx.client import Bracket, ProjectXClient
from risk_manager.projectx.error_map import OrderRefused, RateLimited

ORDER_ROW = {
    "id": 3345169271,
    "accountId": 704,
    "contractId": "CON.F.US.EP.U25",
    "symbolId": "F.US.EP",
    "creationTimestamp": "2025-07-18T21:00:01.268009+00:00",
    "updateTimestamp": "2026-05-06T13:36:03.4962794+00:00",
    "status": 2,
    "type": 2,
    "side": 0,
    "size": 1,
    "limitPrice": None,
    "stopPrice": None,
    "fillVolume": 1,
    "filledPrice": 6335.250000000,
    "customTag": None,
}


def raw(status: int, text: str = "", headers: dict[str, str] | None = None) -> Reply:
    return status, text, headers or {}


async def test_login_then_search_accounts_parses_decimals(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    gateway.handlers["Account/search"] = lambda body, _: (
        200,
        '{"success":true,"errorCode":0,"errorMessage":null,"accounts":[{"id":20258288,'
        '"name":"150KTC","balance":150175.38,"canTrade":true,"isVisible":true,"simulated":true}]}',
        {},
    )
    accounts = await client.search_accounts()
    assert accounts[0].id == 20258288
    assert accounts[0].balance == Decimal("150175.38")
    login = gateway.requests[0]
    assert login[0] == "Auth/loginKey"
    assert login[1] == {"userName": "trader", "apiKey": "secret-api-key"}
    assert gateway.requests[1] == (
        "Account/search",
        {"onlyActiveAccounts": True},
        gateway.issued[0],
    )


async def test_search_orders_reads_64_bit_ids_and_7_digit_timestamps(
    client: ProjectXClient, gateway: FakeGateway, clock: FakeClock
) -> None:
    gateway.handlers["Order/search"] = lambda body, _: (
        200,
        json.dumps({"success": True, "errorCode": 0, "errorMessage": None, "orders": [ORDER_ROW]}),
        {},
    )
    orders = await client.search_orders(704, clock.now - timedelta(hours=1), clock.now)
    assert orders[0].id == 3345169271
    assert orders[0].status is OrderStatus.FILLED
    assert orders[0].filled_price == Decimal("6335.25")
    assert orders[0].updated_at is not None and orders[0].updated_at.microsecond == 496279
    sent = gateway.requests[-1][1]
    assert sent["startTimestamp"] == "2026-03-02T13:30:00+00:00"
    assert sent["endTimestamp"] == "2026-03-02T14:30:00+00:00"


async def test_positions_and_trades_parse(client: ProjectXClient, gateway: FakeGateway) -> None:
    gateway.handlers["Position/searchOpen"] = lambda body, _: ok(
        positions=[
            {
                "id": 703034494,
                "accountId": body["accountId"],
                "contractId": "C",
                "creationTimestamp": "2026-05-06T13:36:03.6247335+00:00",
                "type": 2,
                "size": 15,
                "averagePrice": 49909,
            }
        ]
    )
    gateway.handlers["Trade/search"] = lambda body, _: ok(
        trades=[
            {
                "id": 2555492505,
                "accountId": 1,
                "contractId": "C",
                "orderId": 2934939816,
                "creationTimestamp": "2026-05-06T13:36:03.6185676+00:00",
                "price": 49909,
                "profitAndLoss": None,
                "fees": 5.55,
                "side": 0,
                "size": 15,
                "voided": False,
            }
        ]
    )
    (position,) = await client.search_open_positions(1)
    assert position.type is PositionType.SHORT and position.size == 15
    (trade,) = await client.search_trades(1, position.created_at)  # type: ignore[arg-type]
    assert trade.id == 2555492505 and trade.profit_and_loss is None
    assert trade.fees == Decimal("5.55")


async def test_contract_by_id_accepts_contract_or_contracts(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    row = {
        "id": "CON.F.US.MNQ.Z25",
        "name": "MNQZ5",
        "description": "Micro",
        "tickSize": 0.25,
        "tickValue": 0.5,
        "activeContract": True,
        "symbolId": "F.US.MNQ",
    }
    gateway.script("Contract/searchById", ok(contract=row), ok(contracts=[row]))
    first = await client.contract_by_id("CON.F.US.MNQ.Z25")
    second = await client.contract_by_id("CON.F.US.MNQ.Z25")
    assert first == second
    assert first.tick_size == Decimal("0.25") and first.tick_value == Decimal("0.5")
    gateway.script("Contract/searchById", refused(1))
    with pytest.raises(BrokerRefused) as info:
        await client.contract_by_id("CON.F.US.NOPE.Z25")
    assert info.value.name == "CONTRACT_NOT_FOUND"


async def test_place_order_sends_exact_prices_and_brackets(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    gateway.handlers["Order/place"] = lambda body, _: ok(orderId=3345169271)
    order_id = await client.place_order(
        1,
        "CON.F.US.MNQ.Z25",
        OrderType.LIMIT,
        OrderSide.ASK,
        2,
        limit_price=Decimal("21000.25"),
        custom_tag="rm-x",
        stop_loss_bracket=Bracket(-40, OrderType.STOP),
    )
    assert order_id == 3345169271
    sent = gateway.requests[-1][1]
    assert sent["limitPrice"] == 21000.25 and sent["type"] == 1 and sent["side"] == 1
    assert sent["stopLossBracket"] == {"ticks": -40, "type": 4}
    assert "takeProfitBracket" not in sent


async def test_refused_place_raises_even_with_an_order_id(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    gateway.script("Order/place", refused(2, "You must enable Auto OCO Brackets.", orderId=9057))
    with pytest.raises(OrderRefused) as info:
        await client.place_order(1, "C", OrderType.MARKET, OrderSide.BID, 1)
    assert info.value.order_id == 9057
    assert info.value.name == "ORDER_REJECTED"
    assert gateway.calls("Order/place") == 1


async def test_bad_credentials_raise_authentication_failed(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    gateway.script("Auth/loginKey", refused(3, None, token=None))
    with pytest.raises(AuthenticationFailed, match="INVALID_CREDENTIALS"):
        await client.search_accounts()


async def test_401_on_a_read_renews_the_token_once_and_retries(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    await client.search_accounts()
    gateway.valid.clear()  # the server forgets every session
    await client.search_accounts()
    assert gateway.calls("Auth/loginKey") == 2
    assert gateway.calls("Account/search") == 3
    assert gateway.requests[-1][2] == gateway.issued[-1]


async def test_401_twice_raises_authentication_failed(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    await client.search_accounts()
    gateway.script("Account/search", raw(401), raw(401))
    with pytest.raises(AuthenticationFailed):
        await client.search_accounts()
    assert gateway.calls("Account/search") == 3  # first call, then original + one retry


async def test_401_on_a_write_renews_but_does_not_resend(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    await client.search_accounts()
    gateway.valid.clear()
    with pytest.raises(RetryLater, match="read the account state"):
        await client.close_position(1, "C")
    assert gateway.calls("Position/closeContract") == 1
    assert gateway.calls("Auth/loginKey") == 2  # renewed for the caller's next read


@pytest.mark.parametrize(
    "call",
    [
        lambda px: px.place_order(1, "C", OrderType.MARKET, OrderSide.BID, 1),
        lambda px: px.modify_order(1, 5, stop_price=Decimal("10.5")),
        lambda px: px.cancel_order(1, 5),
        lambda px: px.close_position(1, "C"),
        lambda px: px.partial_close_position(1, "C", 1),
    ],
)
async def test_writes_are_never_retried_on_gateway_errors(
    client: ProjectXClient,
    gateway: FakeGateway,
    call: Callable[[ProjectXClient], Awaitable[object]],
) -> None:
    await client.search_accounts()
    for endpoint in (
        "Order/place",
        "Order/modify",
        "Order/cancel",
        "Position/closeContract",
        "Position/partialCloseContract",
    ):
        gateway.script(endpoint, raw(503), raw(503))
    before = len(gateway.requests)
    with pytest.raises(RetryLater):
        await call(client)
    assert len(gateway.requests) == before + 1


async def test_reads_are_retried_with_backoff_then_succeed(
    client: ProjectXClient, gateway: FakeGateway, clock: FakeClock
) -> None:
    gateway.script("Order/searchOpen", raw(502), raw(500))
    gateway.handlers["Order/searchOpen"] = lambda body, _: ok(orders=[ORDER_ROW])
    orders = await client.search_open_orders(704)
    assert len(orders) == 1
    assert gateway.calls("Order/searchOpen") == 3
    assert len(clock.slept) == 2 and all(s > 0 for s in clock.slept)


async def test_reads_give_up_after_the_attempt_cap(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    gateway.script("Order/searchOpen", *[raw(500)] * 10)
    with pytest.raises(RetryLater):
        await client.search_open_orders(704)
    assert gateway.calls("Order/searchOpen") == 4


async def test_429_retry_after_seconds_is_obeyed(
    client: ProjectXClient, gateway: FakeGateway, clock: FakeClock
) -> None:
    await client.search_accounts()
    gateway.script("Account/search", raw(429, "", {"Retry-After": "7"}))
    start = clock.mono
    await client.search_accounts()
    assert clock.mono - start >= 7
    assert gateway.calls("Account/search") == 3


async def test_429_on_a_write_holds_later_calls_back(
    client: ProjectXClient, gateway: FakeGateway, clock: FakeClock
) -> None:
    await client.search_accounts()
    gateway.script("Order/cancel", raw(429, "", {"Retry-After": "4"}))
    with pytest.raises(RateLimited) as info:
        await client.cancel_order(1, 2)
    assert info.value.retry_after == 4
    start = clock.mono
    await client.search_accounts()
    assert clock.mono - start >= 4


async def test_429_without_header_backs_off(
    client: ProjectXClient, gateway: FakeGateway, clock: FakeClock
) -> None:
    await client.search_accounts()
    gateway.script("Account/search", raw(429), raw(429))
    start = clock.mono
    await client.search_accounts()
    assert clock.mono - start >= 1.0  # two growing back-offs, each at least half its ceiling
    assert gateway.calls("Account/search") == 4


async def test_circuit_opens_after_consecutive_failures_and_recovers(
    client: ProjectXClient, gateway: FakeGateway, clock: FakeClock
) -> None:
    await client.search_accounts()
    gateway.script("Order/cancel", *[raw(500)] * 5)
    for _ in range(5):
        with pytest.raises(RetryLater):
            await client.cancel_order(1, 2)
    before = len(gateway.requests)
    with pytest.raises(CircuitOpen) as info:
        await client.search_accounts()
    assert len(gateway.requests) == before  # failed fast, nothing sent
    assert info.value.retry_after is not None and info.value.retry_after > 0
    clock.advance(31)
    await client.search_accounts()
    assert client.breaker.state == "closed"


async def test_connection_refused_is_retry_later(clock: FakeClock) -> None:
    async with ProjectXClient(
        "http://127.0.0.1:9",
        "u",
        "k",
        clock=clock,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        read_attempts=2,
    ) as px:
        with pytest.raises(RetryLater):
            await px.search_accounts()


@pytest.mark.parametrize("body", ['"pong"', "pong"])
async def test_ping_reads_the_json_string_or_plain_text(
    client: ProjectXClient, gateway: FakeGateway, body: str
) -> None:
    gateway.ping_body = body
    assert await client.ping() == "pong"


async def test_a_4xx_is_refused_without_retry(client: ProjectXClient, gateway: FakeGateway) -> None:
    await client.search_accounts()
    gateway.script("Order/search", raw(400, '{"title":"bad"}'))
    with pytest.raises(BrokerRefused) as info:
        await client.search_orders(1, T0)
    assert info.value.name == "HTTP400"
    assert gateway.calls("Order/search") == 1


async def test_a_body_without_envelope_is_retry_later(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    await client.search_accounts()
    gateway.script("Order/searchOpen", *[raw(200, "<html>oops</html>")] * 4)
    with pytest.raises(RetryLater, match="not JSON"):
        await client.search_open_orders(1)


async def test_retry_after_on_a_503_stretches_the_read_backoff(
    client: ProjectXClient, gateway: FakeGateway, clock: FakeClock
) -> None:
    await client.search_accounts()
    gateway.script("Account/search", raw(503, "", {"Retry-After": "20"}))
    await client.search_accounts()
    assert clock.slept == [20.0]


async def test_naive_timestamps_are_rejected_before_sending(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await client.search_trades(1, T0.replace(tzinfo=None))
    assert gateway.calls("Trade/search") == 0


async def test_history_and_general_requests_are_counted_in_their_buckets(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    await client.search_accounts()
    await client.rest.call(
        "History/retrieveBars",
        {"contractId": "C", "live": False, "startTime": "2026-01-01T00:00:00Z",
         "endTime": "2026-01-02T00:00:00Z", "unit": 2, "unitNumber": 5, "limit": 10,
         "includePartialBar": False},
    )  # fmt: skip
    assert client.limiter.history.in_window() == 1
    assert client.limiter.general.in_window() == 2  # login + Account/search


async def test_a_request_counts_in_the_window_from_its_answer(
    client: ProjectXClient, gateway: FakeGateway, clock: FakeClock
) -> None:
    """The gateway counted it somewhere between the send and the answer: the client's window
    must not free its slot before the gateway's does (projectx/rate_limit.py ``settle``)."""
    await client.search_accounts()  # logged in: only Account/search below

    def slow(body: dict[str, object], bearer: str | None) -> Reply:
        clock.advance(3.0)  # the answer comes 3 s after the send
        return ok(accounts=[])

    gateway.handlers["Account/search"] = slow
    sent = clock.mono
    await client.search_accounts()
    assert max(client.limiter.general._starts) == sent + 3.0


async def test_an_unreadable_row_is_retry_later_naming_the_field(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    gateway.handlers["Position/searchOpen"] = lambda body, _: ok(
        positions=[{"id": 1, "accountId": 1, "type": 1, "size": 1, "averagePrice": 5}]
    )
    with pytest.raises(RetryLater, match="contractId"):
        await client.search_open_positions(1)


async def test_every_failed_attempt_is_reported_by_endpoint_and_kind(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    seen: list[tuple[str, str]] = []
    await client.search_accounts()
    client.rest.on_error = lambda endpoint, kind: seen.append((endpoint, kind))
    gateway.script("Account/search", raw(429, "", {"Retry-After": "1"}), raw(503))
    await client.search_accounts()
    gateway.script("Order/cancel", refused(2, "gone"))
    with pytest.raises(BrokerRefused):
        await client.cancel_order(1, 2)
    assert seen == [
        ("Account/search", "rate_limited"),
        ("Account/search", "unavailable"),
        ("Order/cancel", "refused"),
    ]
