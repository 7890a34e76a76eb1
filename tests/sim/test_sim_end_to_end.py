"""REST order → exchange → real HubServer → a WebSocket subscriber, in the live order."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from risk_manager.sim.server import SimSettings, running_sim

from .conftest import Client, FakeClock

RS = "\x1e"


async def _records(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    """The next ``count`` non-ping records."""
    got: list[dict[str, Any]] = []
    while len(got) < count:
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        got += [json.loads(r) for r in msg.data.split(RS) if r]
        got = [r for r in got if r.get("type") != 6]
    return got


async def test_a_market_order_reaches_a_hub_subscriber_in_live_order(clock: FakeClock) -> None:
    async with (
        running_sim(SimSettings(port=0, clock=clock)) as sim,
        aiohttp.ClientSession() as session,
    ):
        client = Client(sim, session)
        token = await client.login()
        acct = await client.account_id()
        async with session.ws_connect(f"{sim.url}/hubs/user?access_token={token}") as ws:
            await ws.send_str('{"protocol":"json","version":1}' + RS)
            assert (await ws.receive(timeout=5)).data == "{}" + RS
            subscribe = [
                {"type": 1, "invocationId": str(i), "target": target, "arguments": args}
                for i, (target, args) in enumerate(
                    [
                        ("SubscribeAccounts", []),
                        ("SubscribeOrders", [acct]),
                        ("SubscribePositions", [acct]),
                        ("SubscribeTrades", [acct]),
                    ]
                )
            ]
            await ws.send_str("".join(json.dumps(m) + RS for m in subscribe))
            completions = await _records(ws, 4)
            assert [c["type"] for c in completions] == [3, 3, 3, 3]
            order = {"accountId": acct, "contractId": "CON.F.US.MYM.M26", "type": 2,
                     "side": 0, "size": 15}  # fmt: skip
            assert (await client.api("Order/place", order))["success"]
            events = await _records(ws, 6)
        seq = [(e["target"], e["arguments"][0]["action"]) for e in events]
        assert seq == [
            ("GatewayUserOrder", 1), ("GatewayUserTrade", 0), ("GatewayUserOrder", 1),
            ("GatewayUserPosition", 1), ("GatewayUserAccount", 1), ("GatewayUserAccount", 1),
        ]  # fmt: skip
        assert all("invocationId" not in e for e in events)
        trade = events[1]["arguments"][0]["data"]
        assert "profitAndLoss" not in trade and isinstance(trade["price"], int)
        assert trade["id"] > 2**31


async def test_expired_tokens_are_refused_by_the_hub_too(clock: FakeClock) -> None:
    async with (
        running_sim(SimSettings(port=0, clock=clock)) as sim,
        aiohttp.ClientSession() as session,
    ):
        client = Client(sim, session)
        token = await client.login()
        await client.control("fault", {"kind": "expire_tokens"})
        resp = await session.post(f"{sim.url}/hubs/user/negotiate?access_token={token}")
        assert resp.status == 401


async def _hub(
    session: aiohttp.ClientSession, url: str, token: str
) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(f"{url}?access_token={token}")
    await ws.send_str('{"protocol":"json","version":1}' + RS)
    assert (await ws.receive(timeout=5)).data == "{}" + RS
    return ws


async def _until_closed(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """Every non-ping record until the server closes the socket."""
    got: list[dict[str, Any]] = []
    while (msg := await ws.receive(timeout=5)).type is aiohttp.WSMsgType.TEXT:
        got += [r for r in (json.loads(p) for p in msg.data.split(RS) if p) if r["type"] != 6]
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), msg
    return got


LOGGED_OUT = [
    {"type": 1, "target": "GatewayLogout", "arguments": []},
    {"type": 7, "error": "Connection closed with an error.", "allowReconnect": True},
]


async def test_expired_tokens_log_both_hubs_out(clock: FakeClock) -> None:
    async with (
        running_sim(SimSettings(port=0, clock=clock)) as sim,
        aiohttp.ClientSession() as session,
    ):
        token = await Client(sim, session).login()
        user_url, market_url = sim.hub_urls
        user, market = await _hub(session, user_url, token), await _hub(session, market_url, token)
        await Client(sim, session).control("fault", {"kind": "expire_tokens"})
        assert await _until_closed(user) == LOGGED_OUT
        assert await _until_closed(market) == LOGGED_OUT


async def test_logout_ends_only_the_sessions_of_its_token(clock: FakeClock) -> None:
    async with (
        running_sim(SimSettings(port=0, clock=clock)) as sim,
        aiohttp.ClientSession() as session,
    ):
        leaving, staying = Client(sim, session), Client(sim, session)
        await leaving.login()
        await staying.login()
        assert leaving.token is not None and staying.token is not None
        gone = await _hub(session, sim.hub_urls[0], leaving.token)
        kept = await _hub(session, sim.hub_urls[0], staying.token)
        assert (await leaving.api("Auth/logout"))["success"]
        assert await _until_closed(gone) == LOGGED_OUT
        await kept.send_str(
            '{"type":1,"invocationId":"1","target":"SubscribeAccounts","arguments":[]}' + RS
        )
        assert await _records(kept, 1) == [{"type": 3, "invocationId": "1"}]
        await kept.close()
