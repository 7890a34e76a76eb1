from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from risk_manager.api import read_model, server
from risk_manager.api.memory import MemoryReadModel
from risk_manager.api.server import RunningApi
from risk_manager.runtime.metrics import FAMILIES, Metrics
from support.polling import eventually

LOCKED, CALM = 20258288, 20258301


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, str, Any]:
    async with http.get(url) as r:
        body = await r.text()
        data = json.loads(body) if r.content_type == "application/json" else body
        return r.status, r.content_type, data


async def test_health_is_200_when_ok_and_503_otherwise(
    api: RunningApi, http: aiohttp.ClientSession, model: MemoryReadModel
) -> None:
    status, ctype, body = await get(http, f"{api.url}/health")
    assert (status, ctype) == (200, "application/json")
    assert body["status"] == "ok"
    assert body["accounts_monitored"] == 2
    assert {"uptime", "signalr_connected", "database_accessible", "last_event", "hubs"} <= set(body)
    model.set_health(status="degraded", signalr_connected=False)
    status, _, body = await get(http, f"{api.url}/health")
    assert (status, body["status"], body["signalr_connected"]) == (503, "degraded", False)
    model.set_health(status="down")
    assert (await get(http, f"{api.url}/health"))[0] == 503


async def test_accounts_lists_every_view_with_money_as_strings(
    api: RunningApi, http: aiohttp.ClientSession
) -> None:
    status, ctype, body = await get(http, f"{api.url}/api/v1/accounts")
    assert (status, ctype) == (200, "application/json")
    ids = [a["id"] for a in body["accounts"]]
    assert ids == [LOCKED, CALM]
    locked = body["accounts"][0]
    assert locked["locked"] is True
    assert locked["pnl"]["net"] == "-499.40"
    assert locked["room_to_loss_lock"] == "100.60"
    assert locked["positions"][0]["side"] == "long"
    assert locked["locks"][0]["kind"] == "soft"
    assert locked["locks"][0]["ends_at"].endswith("Z")
    assert {"at", "net"} == set(locked["pnl_curve"][0])


async def test_account_by_id_and_its_errors(api: RunningApi, http: aiohttp.ClientSession) -> None:
    status, _, body = await get(http, f"{api.url}/api/v1/accounts/{CALM}")
    assert (status, body["name"]) == (200, "50KTC-V2-478426-11873342")
    status, ctype, body = await get(http, f"{api.url}/api/v1/accounts/999")
    assert (status, ctype) == (404, "application/json")
    assert "999" in body["error"]
    status, ctype, body = await get(http, f"{api.url}/api/v1/accounts/abc")
    assert (status, ctype, body["parameter"]) == (400, "application/json", "id")
    assert "'abc'" in body["error"]


async def test_enforcements_filter_limit_and_order(
    api: RunningApi, http: aiohttp.ClientSession, model: MemoryReadModel
) -> None:
    model.record_enforcement(
        {"id": 43, "at": "2026-03-10T19:31:00Z", "account_id": CALM, "rule": "symbol_blocks",
         "kind": "cancel_order", "reason": "RTY blocked", "outcome": "confirmed"}
    )  # fmt: skip
    _, _, body = await get(http, f"{api.url}/api/v1/enforcements")
    assert [e["id"] for e in body["enforcements"]] == [43, 42, 41]  # newest first
    _, _, body = await get(http, f"{api.url}/api/v1/enforcements?account={LOCKED}&limit=1")
    assert [e["id"] for e in body["enforcements"]] == [42]
    _, _, body = await get(http, f"{api.url}/api/v1/enforcements?account=&limit=500")
    assert len(body["enforcements"]) == 3


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("limit=0", "limit"), ("limit=501", "limit"), ("limit=x", "limit"),
     ("account=x", "account"), ("account=-1", "account")],
)  # fmt: skip
async def test_enforcements_rejects_bad_parameters_naming_them(
    api: RunningApi, http: aiohttp.ClientSession, query: str, parameter: str
) -> None:
    status, ctype, body = await get(http, f"{api.url}/api/v1/enforcements?{query}")
    assert (status, ctype, body["parameter"]) == (400, "application/json", parameter)
    assert parameter in body["error"]


async def test_metrics_exposes_every_family(
    api: RunningApi, http: aiohttp.ClientSession, metrics: Metrics
) -> None:
    metrics.event_processed("fill")
    metrics.observe_latency(0.0007)
    metrics.enforcement("daily_realized_loss", "confirmed")
    metrics.set_active_locks(LOCKED, 1)
    metrics.hub_state("user", True)
    metrics.hub_reconnect("market")
    metrics.rest_error("/api/Order/cancel", "timeout")
    metrics.rest_error("/api/Order/search", "rate_limited")
    async with http.get(f"{api.url}/metrics") as r:
        assert r.status == 200
        assert r.content_type == "text/plain"
        text = await r.text()
    for family in FAMILIES:
        assert f"# TYPE {family}" in text, family
    assert 'risk_manager_events_processed_total{kind="fill"} 1.0' in text
    assert 'risk_manager_event_to_action_seconds_bucket{le="5e-05"} 0.0' in text
    assert 'risk_manager_event_to_action_seconds_bucket{le="0.001"} 1.0' in text
    assert 'risk_manager_active_locks{account="20258288"} 1.0' in text
    assert 'risk_manager_hub_connected{hub="user"} 1.0' in text
    assert 'risk_manager_rest_rate_limited_total{endpoint="/api/Order/search"} 1.0' in text
    rss = [ln for ln in text.splitlines() if ln.startswith("risk_manager_process_resident")]
    assert rss and float(rss[0].split()[1]) > 1_000_000


async def test_dashboard_page_and_assets_are_served(
    api: RunningApi, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{api.url}/") as r:
        assert (r.status, r.content_type) == (200, "text/html")
        html = await r.text()
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert "/static/app.js" in html
    async with http.get(f"{api.url}/static/app.js") as r:
        assert r.status == 200
        assert "javascript" in r.content_type
    async with http.get(f"{api.url}/static/nope.js") as r:
        assert r.status == 404


async def next_json(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), timeout=5)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    data: dict[str, Any] = json.loads(msg.data)
    return data


async def test_stream_sends_a_snapshot_then_updates(
    api: RunningApi, http: aiohttp.ClientSession, model: MemoryReadModel
) -> None:
    async with http.ws_connect(f"{api.url}/api/v1/stream") as ws:
        snap = await next_json(ws)
        assert snap["type"] == "snapshot"
        assert [a["id"] for a in snap["accounts"]] == [LOCKED, CALM]
        assert snap["health"]["status"] == "ok"
        assert [e["id"] for e in snap["enforcements"]] == [42, 41]
        model.update_account(CALM, locked=True, balance="50100.00")
        msg = await next_json(ws)
        assert msg["type"] == "account"
        assert (msg["account"]["id"], msg["account"]["locked"]) == (CALM, True)
        model.record_enforcement({"id": 50, "account_id": CALM, "rule": "x"})
        assert (await next_json(ws))["entry"]["id"] == 50
        model.set_health(status="degraded")
        assert (await next_json(ws))["health"]["status"] == "degraded"
    # the server forgets the client once it leaves
    await eventually(lambda: model.subscriber_count == 0)


async def test_stream_closes_clients_when_the_server_stops(
    model: MemoryReadModel, metrics: Metrics, http: aiohttp.ClientSession
) -> None:
    from risk_manager.api.server import running_api

    async with running_api(model, metrics, port=0) as server:
        ws = await http.ws_connect(f"{server.url}/api/v1/stream")
        assert (await next_json(ws))["type"] == "snapshot"
    msg = await asyncio.wait_for(ws.receive(), timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    await ws.close()


async def test_a_foreign_host_name_is_refused_on_a_loopback_bind(
    api: RunningApi, http: aiohttp.ClientSession
) -> None:
    # What a DNS-rebinding page would send: its own name resolving to 127.0.0.1.
    async with http.get(f"{api.url}/api/v1/accounts", headers={"Host": "evil.example"}) as r:
        assert r.status == 403
        assert "evil.example" in (await r.json())["error"]
    async with http.get(f"{api.url}/health", headers={"Host": f"localhost:{api.port}"}) as r:
        assert r.status == 200


async def test_the_stream_refuses_a_page_from_another_origin(
    api: RunningApi, http: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(f"{api.url}/api/v1/stream", origin="https://evil.example")
    assert refused.value.status == 403
    async with http.ws_connect(f"{api.url}/api/v1/stream", origin=api.url) as ws:
        assert (await next_json(ws))["type"] == "snapshot"


async def test_a_client_that_does_not_read_gets_the_latest_view_not_a_backlog(
    api: RunningApi, http: aiohttp.ClientSession, model: MemoryReadModel
) -> None:
    async with http.ws_connect(f"{api.url}/api/v1/stream") as ws:
        assert (await next_json(ws))["type"] == "snapshot"
        updates = 3000
        for i in range(updates):
            model.update_account(LOCKED, balance=f"{i}.00")
            if i % 50 == 0:
                await asyncio.sleep(0)  # let the server send while the client reads nothing
        received = 0
        while True:
            msg = await next_json(ws)
            received += 1
            if msg["account"]["balance"] == f"{updates - 1}.00":
                break
        assert received < updates / 10, received


async def test_many_account_views_are_serialized_with_the_loop_run_between(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A snapshot of 500 accounts with their day's curves was ~0.3 s of JSON in one call on
    the loop the daemon guards with: it is made VIEWS_PER_DUMP views at a time."""
    views = [
        {"id": i, "pnl_curve": [{"at": "2026-03-10T15:00:00Z", "net": "1.00"}]} for i in range(40)
    ]
    ran: list[str] = []
    seen: list[int] = []
    dump = read_model.dumps

    def counting(data: Any) -> str:
        seen.append(len(ran))
        return dump(data)

    monkeypatch.setattr(server, "dumps", counting)
    asyncio.get_running_loop().call_soon(ran.append, "the loop's other work")
    text = await server.dumps_views(views)
    assert json.loads(text) == views
    assert seen[: server.VIEWS_PER_DUMP] == [0] * server.VIEWS_PER_DUMP  # one callback
    assert seen[-1] == 1  # the other work ran before the last piece
