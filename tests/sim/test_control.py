"""The control API (/sim/...): prices, state, faults, reset, and event forwarding to hubs."""

from __future__ import annotations

import time

import aiohttp
from aiohttp.test_utils import make_mocked_request

from risk_manager.sim.control import is_loopback
from risk_manager.sim.records import UserEvent
from risk_manager.sim.server import SimSettings, running_sim
from support.polling import eventually

from .conftest import Client, FakeClock

MYM = "CON.F.US.MYM.M26"


async def test_price_moves_the_market_and_publishes_a_full_quote(client: Client) -> None:
    reply = await client.control("price", {"contractId": MYM, "price": 44010})
    quote = reply["quote"]
    assert set(quote) == {"symbol", "symbolName", "lastPrice", "bestBid", "bestAsk", "change",
                          "changePercent", "open", "high", "low", "volume", "lastUpdated",
                          "timestamp"}  # fmt: skip
    assert (quote["symbol"], quote["lastPrice"], quote["bestBid"], quote["bestAsk"]) == (
        "F.US.MYM", 44010, 44009, 44011
    )  # fmt: skip
    assert quote["change"] == 10 and quote["timestamp"].endswith("4962790+00:00")
    await client.sim.drained()
    kinds = [name for name, _ in client.hubs.calls]
    assert kinds == ["publish_market_trades", "publish_quote", "publish_depth"]
    assert client.hubs.calls[1][1] == (MYM, quote)
    contract, entries = client.hubs.calls[2][1]
    assert contract == MYM and entries[0]["type"] == 5 and entries[0]["price"] == 44010


async def test_bad_control_input_is_400_naming_the_field(client: Client) -> None:
    cases = [
        ("price", {"contractId": "CON.F.US.NOPE.M26", "price": 1}, "contractId"),
        ("price", {"contractId": MYM}, "price"),
        ("price", {"contractId": "CON.F.US.USA.M26", "price": 113.1}, "price"),
        ("fault", {"kind": "meteor"}, "kind"),
        ("fault", {"kind": "http_status", "path": "/nope", "status": 500}, "path"),
        ("fault", {"kind": "silence", "hub": "both", "seconds": 1}, "hub"),
        ("fault", {"kind": "hub_down", "hub": "user", "seconds": 0}, "seconds"),
        ("fault", {"kind": "raw_text", "hub": "user", "text": ""}, "text"),
        ("fault", {"kind": "can_trade", "accountId": 1, "value": False}, "accountId"),
    ]
    for path, body, field in cases:
        resp = await client.raw(f"/sim/{path}", body)
        assert resp.status == 400, body
        assert (await resp.json())["field"] == field


def test_control_api_is_loopback_only() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1")
    assert not is_loopback("192.168.1.20") and not is_loopback(None)


async def test_non_loopback_peer_gets_403(client: Client) -> None:
    app = aiohttp.web.Application()
    client.sim.control.add_routes(app)
    handler = next(
        r for r in app.router.routes() if r.resource and r.resource.canonical == "/sim/state"
    )
    transport = type(
        "T", (), {"get_extra_info": lambda self, name, default=None: ("10.0.0.9", 1)}
    )()
    request = make_mocked_request("GET", "/sim/state", transport=transport)
    assert request.remote == "10.0.0.9"
    resp = await handler.handler(request)
    assert resp.status == 403


async def test_state_lists_every_order_in_rest_models(client: Client) -> None:
    await client.login()
    acct = await client.account_id()
    await client.api("Order/place", {"accountId": acct, "contractId": MYM, "type": 2,
                                     "side": 0, "size": 1})  # fmt: skip
    limit = {"accountId": acct, "contractId": MYM, "type": 1, "side": 0, "size": 1,
             "limitPrice": 100}  # fmt: skip
    oid = (await client.api("Order/place", limit))["orderId"]
    await client.api("Order/cancel", {"accountId": acct, "orderId": oid})
    state = await client.control("state", method="GET")
    assert set(state) == {"accounts", "positions", "orders", "trades"}
    assert [o["status"] for o in state["orders"]] == [2, 3]
    assert state["orders"][1]["filledPrice"] is None  # explicit nulls, REST style
    assert state["trades"][0]["profitAndLoss"] is None
    assert state["positions"][0]["size"] == 1
    assert set(state["accounts"][0]) == {"id", "name", "balance", "canTrade", "isVisible",
                                         "simulated"}  # fmt: skip


async def test_user_events_reach_the_hubs_in_live_order(client: Client) -> None:
    await client.login()
    acct = await client.account_id()
    await client.api("Order/place", {"accountId": acct, "contractId": MYM, "type": 2,
                                     "side": 0, "size": 15})  # fmt: skip
    captured = [(e.target, e.action) for e in client.events if isinstance(e, UserEvent)]
    assert captured == [
        ("GatewayUserOrder", 1), ("GatewayUserTrade", 0), ("GatewayUserOrder", 1),
        ("GatewayUserPosition", 1), ("GatewayUserAccount", 1), ("GatewayUserAccount", 1),
    ]  # fmt: skip
    await client.sim.drained()
    published = [(c[1][0], c[1][3]) for c in client.hubs.calls if c[0] == "publish_user"]
    assert published == captured


async def test_fault_http_status_answers_the_next_n_requests(client: Client) -> None:
    await client.login()
    await client.control("fault", {"kind": "http_status", "path": "/api/Account/search",
                                   "status": 503, "count": 2})  # fmt: skip
    body = {"onlyActiveAccounts": True}
    got = [(await client.raw("/api/Account/search", body, token=client.token)).status
           for _ in range(3)]  # fmt: skip
    assert got == [503, 503, 200]


async def test_fault_expire_tokens_makes_every_token_401(client: Client) -> None:
    old = await client.login()
    await client.control("fault", {"kind": "expire_tokens"})
    assert (await client.raw("/api/Auth/validate", {}, token=old)).status == 401
    await client.login()  # a fresh login works again
    assert (await client.api("Auth/validate"))["success"]


async def test_fault_latency_delays_replies(client: Client) -> None:
    await client.control("fault", {"kind": "latency", "ms": 150})
    started = time.monotonic()
    await client.raw("/api/Status/ping", method="GET")
    assert time.monotonic() - started >= 0.15


async def test_fault_silence_and_drop_reach_the_hub_server(client: Client) -> None:
    await client.control("fault", {"kind": "silence", "hub": "market", "seconds": 2.5})
    await client.control("fault", {"kind": "drop_connections"})
    assert ("silence", ("market", 2.5)) in client.hubs.calls
    assert ("drop_connections", ()) in client.hubs.calls


async def test_fault_hub_down_and_raw_text_reach_the_hub_server(client: Client) -> None:
    await client.control("fault", {"kind": "hub_down", "hub": "user", "seconds": 10})
    await client.control("fault", {"kind": "raw_text", "hub": "user", "text": "garbage"})
    assert ("take_down", ("user", 10.0)) in client.hubs.calls
    assert ("publish_raw", ("user", "garbage")) in client.hubs.calls


async def test_fault_can_trade_flips_the_flag_and_emits_the_account(client: Client) -> None:
    await client.login()
    acct = await client.account_id()
    await client.control("fault", {"kind": "can_trade", "accountId": acct, "value": False})
    accounts = [e for e in client.events if isinstance(e, UserEvent)]
    assert [(e.target, e.data["canTrade"]) for e in accounts] == [("GatewayUserAccount", False)]
    rejected = await client.api("Order/place", {"accountId": acct, "contractId": MYM, "type": 2,
                                                "side": 0, "size": 1})  # fmt: skip
    assert (rejected["errorCode"], rejected["orderId"] is not None) == (4, True)


async def test_reset_returns_to_the_starting_state(client: Client) -> None:
    await client.login()
    acct = await client.account_id()
    await client.api("Order/place", {"accountId": acct, "contractId": MYM, "type": 2,
                                     "side": 0, "size": 1})  # fmt: skip
    await client.control("fault", {"kind": "latency", "ms": 5})
    await client.control("reset")
    state = await client.control("state", method="GET")
    assert (state["orders"], state["trades"], state["positions"]) == ([], [], [])
    assert state["accounts"][0]["balance"] == 50000
    assert client.sim.faults.latency_ms == 0


async def test_drop_connections_closes_a_real_hub_socket(clock: FakeClock) -> None:
    settings = SimSettings(port=0, clock=clock)  # the real HubServer
    async with running_sim(settings) as sim, aiohttp.ClientSession() as session:
        client = Client(sim, session)
        token = await client.login()
        async with session.ws_connect(f"{sim.url}/hubs/user?access_token={token}") as ws:
            await ws.send_str('{"protocol":"json","version":1}\x1e')
            assert (await ws.receive(timeout=5)).data == "{}\x1e"
            await client.control("fault", {"kind": "drop_connections"})
            while True:
                msg = await ws.receive(timeout=5)
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    break
        await eventually(lambda: sim.hubs.connection_count() == 0)  # type: ignore[attr-defined]
