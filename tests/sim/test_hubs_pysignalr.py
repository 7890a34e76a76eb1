"""The hub server accepts pysignalr (the client the product uses), with and without negotiate."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from pysignalr.client import SignalRClient
from pysignalr.exceptions import AuthorizationError, ServerError
from pysignalr.messages import CompletionMessage

from risk_manager.sim.hub_site import serving_hubs
from risk_manager.sim.hubs import HubServer
from support.polling import eventually

from .conftest import GOOD, running_hubs

USER_EVENTS = ("GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade")


REQUESTS: list[str] = []  # request paths seen by the test server, to tell negotiate happened


@web.middleware
async def record_path(request: web.Request, handler: Any) -> Any:
    REQUESTS.append(f"{request.method} {request.path}")
    return await handler(request)


@asynccontextmanager
async def recorded_hubs() -> AsyncIterator[tuple[HubServer, str]]:
    """The hub server recording request paths in ``REQUESTS``, and its ``host:port``."""
    REQUESTS.clear()
    async with running_hubs(middlewares=[record_path]) as (hubs, base):
        yield hubs, base.removeprefix("http://")


class Recorder:
    """A pysignalr client plus everything it received, keyed by event name."""

    def __init__(self, url: str, skip_negotiation: bool, events: tuple[str, ...]) -> None:
        self.client = SignalRClient(url, retry_count=1)
        # SignalRClient has no skip_negotiation argument; its WebsocketTransport does.
        self.client._transport._skip_negotiation = skip_negotiation
        self.received: list[tuple[str, list[Any]]] = []
        self.completions: list[CompletionMessage] = []
        self.opened = asyncio.Event()
        for name in events:
            self.client.on(name, self._recorder(name))
        self.client.on_open(self._on_open)

    def _recorder(self, name: str) -> Callable[[list[Any]], Any]:
        async def record(arguments: list[Any]) -> None:
            self.received.append((name, arguments))

        return record

    async def _on_open(self) -> None:
        self.opened.set()

    async def _on_completion(self, message: CompletionMessage) -> None:
        self.completions.append(message)

    async def invoke(self, method: str, arguments: list[Any]) -> None:
        """Send with an invocation id and wait for the server's Completion."""
        before = len(self.completions)
        await self.client.send(method, arguments, on_invocation=self._on_completion)  # type: ignore[arg-type]
        await eventually(lambda: len(self.completions) > before)
        assert self.completions[-1].error is None


@asynccontextmanager
async def connected(
    url: str, skip_negotiation: bool, events: tuple[str, ...]
) -> AsyncIterator[Recorder]:
    recorder = Recorder(url, skip_negotiation, events)
    task = asyncio.create_task(recorder.client.run())
    try:
        await asyncio.wait_for(recorder.opened.wait(), 5)
        yield recorder
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.parametrize("skip_negotiation", [True, False])
async def test_pysignalr_receives_user_events_in_the_action_data_wrapper(
    skip_negotiation: bool,
) -> None:
    async with recorded_hubs() as (hubs, host):
        scheme = "ws" if skip_negotiation else "http"
        url = f"{scheme}://{host}/hubs/user?access_token={GOOD}"
        async with connected(url, skip_negotiation, USER_EVENTS) as user:
            await user.invoke("SubscribeAccounts", [])
            for method in ("SubscribeOrders", "SubscribePositions", "SubscribeTrades"):
                await user.invoke(method, [20258288])
            order = {"id": 2934939816, "accountId": 20258288, "status": 6, "size": 15}
            position = {"id": 703034494, "accountId": 20258288, "type": 1, "size": 15}
            trade = {"id": 2555492505, "accountId": 20258288, "price": 49909, "fees": 5.55}
            account = {"id": 20258288, "name": "S1", "balance": 50000, "canTrade": True}
            await hubs.publish_user("GatewayUserOrder", 20258288, order, 1)
            await hubs.publish_user("GatewayUserPosition", 20258288, position, 1)
            await hubs.publish_user("GatewayUserTrade", 20258288, trade, 0)
            await hubs.publish_user("GatewayUserAccount", 20258288, account, 1)
            await eventually(lambda: len(user.received) == 4)
    negotiated = "POST /hubs/user/negotiate" in REQUESTS
    assert negotiated is not skip_negotiation
    assert user.received == [
        ("GatewayUserOrder", [{"action": 1, "data": order}]),
        ("GatewayUserPosition", [{"action": 1, "data": position}]),
        ("GatewayUserTrade", [{"action": 0, "data": trade}]),
        ("GatewayUserAccount", [{"action": 1, "data": account}]),
    ]


@pytest.mark.parametrize("skip_negotiation", [True, False])
async def test_pysignalr_receives_quotes_as_contract_and_object(skip_negotiation: bool) -> None:
    contract = "CON.F.US.EP.Z25"
    quote = {"symbol": "F.US.EP", "lastPrice": 6000.25, "bestBid": 6000, "bestAsk": 6000.25}
    async with recorded_hubs() as (hubs, host):
        scheme = "ws" if skip_negotiation else "http"
        url = f"{scheme}://{host}/hubs/market?access_token={GOOD}"
        async with connected(url, skip_negotiation, ("GatewayQuote",)) as market:
            await market.invoke("SubscribeContractQuotes", [contract])
            await hubs.publish_quote(contract, quote)
            await eventually(lambda: len(market.received) == 1)
            assert hubs.connection_count("market") == 1
    assert ("POST /hubs/market/negotiate" in REQUESTS) is not skip_negotiation
    assert market.received == [("GatewayQuote", [contract, quote])]


async def test_pysignalr_gets_the_depth_snapshot_on_subscribe_then_updates() -> None:
    contract = "CON.F.US.EP.Z25"
    book = [{"timestamp": "2026-05-06T13:36:03.4962790+00:00", "type": 6, "price": 6000,
             "volume": 0, "currentVolume": 0}]  # fmt: skip
    update = [{**book[0], "type": 2, "price": 5999.75, "volume": 12, "currentVolume": 12}]
    async with recorded_hubs() as (hubs, host):
        hubs.set_depth_snapshots(lambda cid: book if cid == contract else None)
        url = f"ws://{host}/hubs/market?access_token={GOOD}"
        async with connected(url, True, ("GatewayDepth",)) as market:
            await market.invoke("SubscribeContractMarketDepth", [contract])
            await eventually(lambda: len(market.received) == 1)
            await hubs.publish_depth(contract, update)
            await eventually(lambda: len(market.received) == 2)
    assert market.received == [
        ("GatewayDepth", [contract, book]),
        ("GatewayDepth", [contract, update]),
    ]


async def test_pysignalr_sees_gateway_logout_then_the_close() -> None:
    valid = {GOOD}
    async with serving_hubs(lambda token: token in valid) as (hubs, base):
        host = base.removeprefix("http://")
        recorder = Recorder(
            f"ws://{host}/hubs/market?access_token={GOOD}", True, ("GatewayLogout",)
        )
        task = asyncio.create_task(recorder.client.run())
        await asyncio.wait_for(recorder.opened.wait(), 5)
        valid.clear()
        assert hubs.log_out_ended_sessions() == 1
        with pytest.raises(ServerError, match="Connection closed with an error"):
            await asyncio.wait_for(task, 5)
    assert recorder.received == [("GatewayLogout", [])]


async def test_pysignalr_fire_and_forget_send_subscribes_too() -> None:
    async with recorded_hubs() as (hubs, host):
        url = f"ws://{host}/hubs/market?access_token={GOOD}"
        async with connected(url, True, ("GatewayQuote",)) as market:
            await market.client.send("SubscribeContractQuotes", ["C"])  # type: ignore[list-item]

            async def publish_until_received() -> None:
                while not market.received:
                    await hubs.publish_quote("C", {"lastPrice": 1})
                    await asyncio.sleep(0.01)

            await asyncio.wait_for(publish_until_received(), 5)
    assert market.received[0] == ("GatewayQuote", ["C", {"lastPrice": 1}])


async def test_pysignalr_negotiate_with_a_bad_token_is_unauthorized() -> None:
    async with recorded_hubs() as (_, host):
        client = SignalRClient(f"http://{host}/hubs/user?access_token=bad", retry_count=1)
        with pytest.raises(AuthorizationError):
            await asyncio.wait_for(client.run(), 5)


async def test_pysignalr_sees_the_dropped_connection_error() -> None:
    async with recorded_hubs() as (hubs, host):
        recorder = Recorder(f"ws://{host}/hubs/user?access_token={GOOD}", True, USER_EVENTS)
        task = asyncio.create_task(recorder.client.run())
        await asyncio.wait_for(recorder.opened.wait(), 5)
        await hubs.drop_connections()
        # pysignalr raises the Close message's error out of run().
        with pytest.raises(ServerError, match="Connection closed with an error"):
            await asyncio.wait_for(task, 5)
        assert hubs.connection_count() == 0
