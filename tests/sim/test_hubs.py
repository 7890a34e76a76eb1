"""The hub server over real sockets, driven by a raw aiohttp WebSocket client (wire level)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from risk_manager.sim import hubs as hubs_module
from risk_manager.sim import signalr_protocol
from risk_manager.sim.hub_site import serving_hubs
from support.polling import eventually

from .conftest import GOOD, running_hubs

RS = "\x1e"


class RawClient:
    """Speaks the JSON hub protocol by hand and checks the server's framing on every frame."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.frames: list[str] = []
        self._records: list[dict[str, Any]] = []

    async def send(self, *messages: dict[str, Any]) -> None:
        await self.ws.send_str("".join(json.dumps(m) + RS for m in messages))

    async def recv(self, within_s: float = 5.0) -> dict[str, Any]:
        while not self._records:
            msg = await self.ws.receive(timeout=within_s)
            assert msg.type == aiohttp.WSMsgType.TEXT, f"socket ended: {msg}"
            assert msg.data.endswith(RS), f"frame does not end with the separator: {msg.data!r}"
            self.frames.append(msg.data)
            self._records.extend(json.loads(r) for r in msg.data.split(RS) if r)
        return self._records.pop(0)

    async def recv_skipping_pings(self, within_s: float = 5.0) -> dict[str, Any]:
        while True:
            record = await self.recv(within_s)
            if record != {"type": 6}:
                return record

    async def invoke(self, invocation_id: str, target: str, *arguments: Any) -> dict[str, Any]:
        await self.send(
            {"type": 1, "invocationId": invocation_id, "target": target, "arguments": [*arguments]}
        )
        return await self.recv_skipping_pings()


@asynccontextmanager
async def raw_client(
    base: str, hub: str, query: str = f"?access_token={GOOD}", **ws_options: Any
) -> AsyncIterator[RawClient]:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{base}/hubs/{hub}{query}", **ws_options) as ws,
    ):
        client = RawClient(ws)
        await client.send({"protocol": "json", "version": 1})
        assert await client.recv() == {}
        yield client


async def test_negotiate_without_version_answers_version_0() -> None:
    async with running_hubs() as (_, base), aiohttp.ClientSession() as session:
        resp = await session.post(f"{base}/hubs/user/negotiate?access_token={GOOD}")
        assert resp.status == 200
        body = await resp.json()
    assert body["negotiateVersion"] == 0
    assert body["connectionId"]
    assert "connectionToken" not in body
    assert body["availableTransports"] == [
        {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
    ]


async def test_negotiate_version_1_with_bearer_header_adds_connection_token() -> None:
    async with running_hubs() as (_, base), aiohttp.ClientSession() as session:
        resp = await session.post(
            f"{base}/hubs/market/negotiate?negotiateVersion=1",
            headers={"Authorization": f"Bearer {GOOD}"},
        )
        body = await resp.json()
    assert body["negotiateVersion"] == 1
    assert body["connectionToken"] and body["connectionToken"] != body["connectionId"]


@pytest.mark.parametrize(
    ("query", "headers"),
    [("", {}), ("?access_token=bad", {}), ("", {"Authorization": "Bearer bad"})],
)
async def test_negotiate_and_upgrade_refuse_a_bad_token_with_401(
    query: str, headers: dict[str, str]
) -> None:
    async with running_hubs() as (hubs, base), aiohttp.ClientSession() as session:
        resp = await session.post(f"{base}/hubs/user/negotiate{query}", headers=headers)
        assert resp.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await session.ws_connect(f"{base}/hubs/user{query}", headers=headers)
        assert info.value.status == 401
        assert hubs.connection_count() == 0


async def test_upgrade_takes_the_first_access_token_or_the_bearer_header() -> None:
    async with running_hubs() as (hubs, base):
        async with raw_client(base, "user", f"?access_token={GOOD}&access_token={GOOD}&id=x"):
            assert hubs.connection_count("user") == 1
        async with raw_client(base, "market", "", headers={"Authorization": f"Bearer {GOOD}"}):
            assert hubs.connection_count("market") == 1
        await eventually(lambda: hubs.connection_count() == 0)


async def test_unknown_protocol_gets_a_handshake_error_then_close() -> None:
    async with (
        running_hubs() as (hubs, base),
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{base}/hubs/user?access_token={GOOD}") as ws,
    ):
        await ws.send_str(json.dumps({"protocol": "messagepack", "version": 1}) + RS)
        msg = await ws.receive(timeout=5)
        assert json.loads(msg.data.rstrip(RS)) == {
            "error": "Requested protocol 'messagepack' is not available."
        }
        assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
        assert hubs.connection_count() == 0


async def test_a_version_0_handshake_after_a_version_0_negotiate_is_served() -> None:
    # signalrcore sends the negotiate's negotiateVersion (0 without the query parameter) as the
    # handshake's protocol version; ASP.NET Core accepts any JSON version up to its own.
    async with running_hubs() as (hubs, base), aiohttp.ClientSession() as session:
        resp = await session.post(f"{base}/hubs/market/negotiate?access_token={GOOD}")
        negotiated = await resp.json()
        assert negotiated["negotiateVersion"] == 0
        url = f"{base}/hubs/market?access_token={GOOD}&id={negotiated['connectionId']}"
        async with session.ws_connect(url) as ws:
            client = RawClient(ws)
            await client.send({"protocol": "json", "version": negotiated["negotiateVersion"]})
            assert await client.recv() == {}
            reply = await client.invoke("1", "SubscribeContractQuotes", "CON.F.US.EP.M26")
            assert reply == {"type": 3, "invocationId": "1"}
            await hubs.publish_quote("CON.F.US.EP.M26", {"lastPrice": 6000})
            event = await client.recv_skipping_pings()
        assert event["target"] == "GatewayQuote"
        assert event["arguments"] == ["CON.F.US.EP.M26", {"lastPrice": 6000}]


async def test_records_after_the_handshake_in_the_same_frame_are_handled() -> None:
    async with (
        running_hubs() as (_, base),
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{base}/hubs/user?access_token={GOOD}") as ws,
    ):
        client = RawClient(ws)
        await client.send(
            {"protocol": "json", "version": 1},
            {"type": 1, "invocationId": "7", "target": "SubscribeAccounts", "arguments": []},
        )
        assert await client.recv() == {}
        assert await client.recv() == {"type": 3, "invocationId": "7"}


async def test_completions_for_good_unknown_and_badly_typed_invocations() -> None:
    async with running_hubs() as (_, base), raw_client(base, "user") as client:
        # signalrcore/pysignalr add `headers`; the spec allows `streamIds`: both are ignored.
        await client.send(
            {
                "type": 1,
                "invocationId": "1",
                "target": "SubscribeOrders",
                "arguments": [123],
                "headers": {"Authorization": "Bearer x"},
                "streamIds": [],
            }
        )
        assert await client.recv_skipping_pings() == {"type": 3, "invocationId": "1"}
        unknown = await client.invoke("2", "SubscribeEverything", 1)
        assert unknown["invocationId"] == "2"
        assert "SubscribeEverything" in unknown["error"]
        wrong_type = await client.invoke("3", "SubscribeOrders", "123")
        assert wrong_type["invocationId"] == "3" and "SubscribeOrders" in wrong_type["error"]
        wrong_count = await client.invoke("4", "SubscribeAccounts", 1)
        assert "argument" in wrong_count["error"]
        market_method = await client.invoke("5", "SubscribeContractQuotes", "CON.F.US.EP.Z25")
        assert "does not exist" in market_method["error"]  # the user hub has no such method


async def test_invocations_without_id_and_pings_get_no_reply() -> None:
    async with running_hubs() as (_, base), raw_client(base, "user") as client:
        await client.send(
            {"type": 6},
            {"type": 1, "target": "SubscribeOrders", "arguments": [5]},
            {"type": 1, "target": "NoSuchMethod", "arguments": []},
            {"type": 1, "invocationId": "9", "target": "SubscribeTrades", "arguments": [5]},
        )
        assert await client.recv_skipping_pings() == {"type": 3, "invocationId": "9"}


async def test_user_events_reach_only_matching_subscriptions_once() -> None:
    async with running_hubs() as (hubs, base), raw_client(base, "user") as client:
        await client.invoke("1", "SubscribeOrders", 10)
        await client.invoke("2", "SubscribeOrders", 10)  # duplicate: still one subscription
        await client.invoke("3", "SubscribeAccounts")
        await hubs.publish_user("GatewayUserOrder", 11, {"id": 1}, 1)  # other account
        await hubs.publish_user("GatewayUserTrade", 10, {"id": 2}, 0)  # not subscribed
        await hubs.publish_user("GatewayUserOrder", 10, {"id": 3, "price": Decimal("5.25")}, 1)
        await hubs.publish_user("GatewayUserAccount", 99, {"id": 99, "balance": Decimal(50)}, 1)
        assert await client.recv_skipping_pings() == {
            "type": 1,
            "target": "GatewayUserOrder",
            "arguments": [{"action": 1, "data": {"id": 3, "price": 5.25}}],
        }
        assert await client.recv_skipping_pings() == {
            "type": 1,
            "target": "GatewayUserAccount",
            "arguments": [{"action": 1, "data": {"id": 99, "balance": 50}}],
        }
        await client.invoke("4", "UnsubscribeOrders", 10)
        await hubs.publish_user("GatewayUserOrder", 10, {"id": 4}, 1)
        await hubs.publish_user("GatewayUserAccount", 99, {"id": 99}, 1)
        event = await client.recv_skipping_pings()
        assert event["target"] == "GatewayUserAccount"  # the order event was not sent
        with pytest.raises(ValueError, match="GatewayUserThing"):
            await hubs.publish_user("GatewayUserThing", 1, {}, 1)


async def test_market_events_have_contract_and_array_shapes() -> None:
    contract = "CON.F.US.EP.Z25"
    async with running_hubs() as (hubs, base), raw_client(base, "market") as client:
        for i, method in enumerate(
            ["SubscribeContractQuotes", "SubscribeContractTrades", "SubscribeContractMarketDepth"]
        ):
            assert await client.invoke(str(i), method, contract) == {
                "type": 3,
                "invocationId": str(i),
            }
        await hubs.publish_quote("CON.F.US.NQ.Z25", {"lastPrice": 1})
        await hubs.publish_quote(contract, {"symbol": "F.US.EP", "lastPrice": 6000.25})
        await hubs.publish_market_trades(contract, [{"price": 1}, {"price": 2}])
        await hubs.publish_depth(contract, [{"type": 6}])
        events = [await client.recv_skipping_pings() for _ in range(3)]
    assert [e["target"] for e in events] == ["GatewayQuote", "GatewayTrade", "GatewayDepth"]
    assert events[0]["arguments"] == [contract, {"symbol": "F.US.EP", "lastPrice": 6000.25}]
    assert events[1]["arguments"] == [contract, [{"price": 1}, {"price": 2}]]
    assert events[2]["arguments"] == [contract, [{"type": 6}]]
    assert all("invocationId" not in e for e in events)


async def test_subscriptions_do_not_survive_a_reconnect() -> None:
    async with running_hubs() as (hubs, base):
        async with raw_client(base, "user") as first:
            await first.invoke("1", "SubscribeAccounts")
        await eventually(lambda: hubs.connection_count() == 0)
        async with raw_client(base, "user") as second:
            await hubs.publish_user("GatewayUserAccount", 1, {"id": 1}, 1)
            await second.invoke("1", "SubscribeOrders", 1)  # the next record is this reply
            await hubs.publish_user("GatewayUserOrder", 1, {"id": 2}, 1)
            assert (await second.recv_skipping_pings())["target"] == "GatewayUserOrder"


async def test_pings_arrive_on_an_idle_connection() -> None:
    async with running_hubs(ping_interval=0.05) as (_, base), raw_client(base, "market") as c:
        assert await c.recv() == {"type": 6}
        assert await c.recv() == {"type": 6}


async def test_a_token_that_runs_out_is_logged_out_at_the_next_ping_tick() -> None:
    valid = {GOOD}
    async with (
        serving_hubs(lambda token: token in valid, ping_interval=0.05) as (hubs, base),
        raw_client(base, "market") as client,
    ):
        await eventually(lambda: hubs.connection_count("market") == 1)
        valid.clear()  # expired: nothing told the hubs
        logout = await client.recv_skipping_pings()
        close = await client.recv_skipping_pings()
        await eventually(lambda: hubs.connection_count() == 0)
    assert logout == {"type": 1, "target": "GatewayLogout", "arguments": []}
    assert close["type"] == 7 and close["allowReconnect"] is True


async def test_client_close_message_ends_the_connection() -> None:
    async with running_hubs() as (hubs, base), raw_client(base, "user") as client:
        await client.send({"type": 7})
        assert (await client.ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
        await eventually(lambda: hubs.connection_count() == 0)


async def test_drop_connections_sends_close_with_error_then_closes() -> None:
    async with (
        running_hubs() as (hubs, base),
        raw_client(base, "user") as user,
        raw_client(base, "market") as market,
    ):
        assert hubs.connection_count() == 2
        await hubs.drop_connections()
        for client in (user, market):
            assert await client.recv_skipping_pings() == {
                "type": 7,
                "error": "Connection closed with an error.",
                "allowReconnect": True,
            }
            assert (await client.ws.receive(timeout=5)).type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
            )
        assert hubs.connection_count() == 0


async def test_silence_mutes_one_hub_for_its_duration_only() -> None:
    now = [1000.0]
    async with (
        running_hubs(ping_interval=0.05, clock=lambda: now[0]) as (hubs, base),
        raw_client(base, "user") as user,
        raw_client(base, "market") as market,
    ):
        await user.invoke("1", "SubscribeAccounts")
        await market.invoke("1", "SubscribeContractQuotes", "C")
        hubs.silence("market", 20)
        await hubs.publish_quote("C", {"n": 1})  # muted
        await hubs.publish_user("GatewayUserAccount", 1, {"n": 2}, 1)
        assert (await user.recv_skipping_pings())["arguments"][0]["data"] == {"n": 2}
        assert await market.recv() == {"type": 6}  # the socket stays alive: pings go on
        now[0] += 20.0
        await hubs.publish_quote("C", {"n": 3})
        assert (await market.recv_skipping_pings())["arguments"] == ["C", {"n": 3}]
        with pytest.raises(ValueError, match="'both'"):
            hubs.silence("both", 1)


async def test_a_slow_subscriber_is_dropped_without_holding_up_others() -> None:
    pad = "x" * 64_000
    async with (
        running_hubs(max_pending=20) as (hubs, base),
        raw_client(base, "market") as slow,
        raw_client(base, "market") as fast,
    ):
        await slow.invoke("1", "SubscribeContractQuotes", "C")
        await fast.invoke("1", "SubscribeContractQuotes", "C")
        # `slow` never reads: once the socket buffers fill, its queue overflows and it is dropped,
        # while `fast` keeps receiving every event in order.
        for n in range(2000):
            await hubs.publish_quote("C", {"n": n, "pad": pad})
            assert (await fast.recv_skipping_pings())["arguments"][1]["n"] == n
            if hubs.connection_count("market") == 1:
                break
        await eventually(lambda: hubs.connection_count("market") == 1)
        await hubs.publish_quote("C", {"n": -1})
        assert (await fast.recv_skipping_pings())["arguments"][1] == {"n": -1}


async def test_a_client_frame_over_1_mib_closes_the_connection() -> None:
    async with running_hubs() as (hubs, base), raw_client(base, "user") as client:
        big = {"type": 1, "target": "SubscribeAccounts", "arguments": [], "x": "y" * (1 << 20)}
        await client.send(big)
        msg = await client.ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        await eventually(lambda: hubs.connection_count() == 0)


async def test_a_malformed_record_closes_with_an_error() -> None:
    async with running_hubs() as (hubs, base), raw_client(base, "user") as client:
        await client.ws.send_str("not json" + RS)
        assert (await client.recv_skipping_pings())["type"] == 7
        await eventually(lambda: hubs.connection_count() == 0)


async def test_close_ends_every_connection() -> None:
    async with running_hubs(ping_interval=0.05) as (hubs, base), raw_client(base, "user") as c:
        await hubs.close()
        assert hubs.connection_count() == 0
        while (msg := await c.ws.receive(timeout=5)).type == aiohttp.WSMsgType.TEXT:
            assert msg.data in ('{"type":6}' + RS, '{"type":7}' + RS)


async def test_an_event_is_encoded_once_for_all_its_subscribers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = signalr_protocol.invocation_record

    def counting(target: str, arguments: list[Any]) -> str:
        calls.append(target)
        return real(target, arguments)

    monkeypatch.setattr(hubs_module, "invocation_record", counting)
    async with (
        running_hubs() as (hubs, base),
        raw_client(base, "market") as a,
        raw_client(base, "market") as b,
        raw_client(base, "market") as c,
    ):
        for client in (a, b, c):
            await client.invoke("1", "SubscribeContractQuotes", "C")
        await hubs.publish_quote("C", {"lastPrice": 1})
        for client in (a, b, c):
            assert (await client.recv_skipping_pings())["arguments"] == ["C", {"lastPrice": 1}]
    assert calls == ["GatewayQuote"]


async def test_clients_can_reconnect_after_a_drop() -> None:
    async with running_hubs() as (hubs, base):
        async with raw_client(base, "user") as first:
            await hubs.drop_connections()
            assert (await first.recv_skipping_pings())["type"] == 7
        async with raw_client(base, "user") as second:
            assert await second.invoke("1", "SubscribeAccounts") == {"type": 3, "invocationId": "1"}
            assert hubs.connection_count("user") == 1


async def test_a_handshake_and_records_split_across_frames_are_reassembled() -> None:
    async with (
        running_hubs() as (_, base),
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{base}/hubs/user?access_token={GOOD}") as ws,
    ):
        client = RawClient(ws)
        await ws.send_str('{"protocol":"json",')
        await ws.send_str('"version":1}' + RS + '{"type":1,"invocationId":"1","tar')
        await ws.send_str('get":"SubscribeAccounts","arguments":[]}' + RS)
        assert await client.recv() == {}
        assert await client.recv() == {"type": 3, "invocationId": "1"}


async def test_a_burst_larger_than_the_queue_bound_reaches_a_healthy_subscriber() -> None:
    # Publishers that never yield otherwise (a tight loop over a backlog of events) must still
    # let the writers run, or a healthy subscriber would be dropped as "slow".
    async with running_hubs(max_pending=1_000) as (hubs, base), raw_client(base, "market") as c:
        await c.invoke("1", "SubscribeContractQuotes", "C")
        for n in range(5_000):
            await hubs.publish_quote("C", {"n": n})
        for n in range(5_000):
            assert (await c.recv_skipping_pings())["arguments"] == ["C", {"n": n}]
        assert hubs.connection_count("market") == 1


async def test_nothing_is_sent_before_the_handshake_reply() -> None:
    async with (
        running_hubs(ping_interval=0.01) as (hubs, base),
        raw_client(base, "user") as other,
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{base}/hubs/user?access_token={GOOD}") as ws,
    ):
        # Pings flow to the connection that finished its handshake meanwhile...
        for _ in range(3):
            assert await other.recv() == {"type": 6}
        await hubs.publish_user("GatewayUserAccount", 1, {"id": 1}, 1)
        # ...but the first record on the new one is the handshake reply.
        client = RawClient(ws)
        await client.send({"protocol": "json", "version": 1})
        assert await client.recv() == {}
        assert client.frames[0].startswith("{}" + RS)


async def test_take_down_closes_one_hub_and_refuses_it_for_its_duration_only() -> None:
    now = [1000.0]
    async with (
        running_hubs(clock=lambda: now[0]) as (hubs, base),
        raw_client(base, "market") as market,
    ):
        async with raw_client(base, "user") as user:
            await hubs.take_down("user", 10)
            assert (await user.recv_skipping_pings())["type"] == 7
        assert hubs.connection_count("user") == 0 and hubs.connection_count("market") == 1
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with raw_client(base, "user"):
                pass
        assert refused.value.status == 503
        assert await market.invoke("1", "SubscribeContractQuotes", "C") == {
            "type": 3,
            "invocationId": "1",
        }
        now[0] += 10.0
        async with raw_client(base, "user") as back:
            assert await back.invoke("1", "SubscribeAccounts") == {"type": 3, "invocationId": "1"}


async def test_publish_raw_sends_the_text_as_given_to_one_hub() -> None:
    async with (
        running_hubs() as (hubs, base),
        raw_client(base, "user") as user,
        raw_client(base, "market") as market,
    ):
        hubs.publish_raw("user", "not json" + RS)
        msg = await user.ws.receive(timeout=5)
        assert msg.data == "not json" + RS
        hubs.publish_raw("market", '{"type":6}' + RS)
        assert await market.recv() == {"type": 6}
        with pytest.raises(ValueError, match="'both'"):
            hubs.publish_raw("both", "x")
