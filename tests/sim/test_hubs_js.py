"""The hub server accepts Microsoft's JavaScript client (@microsoft/signalr under Node)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from .conftest import GOOD, running_hubs

JS_DIR = Path(__file__).parent / "js"
USER_EVENTS = ["GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade"]


@pytest.fixture(scope="module")
def node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        reason = "node/npm not found on PATH: cannot run the @microsoft/signalr client"
        print(reason)
        if os.environ.get("CI"):  # .ci/run installs node: a skip there would hide a gap
            pytest.fail(reason)
        pytest.skip(reason)
    if not (JS_DIR / "node_modules" / "@microsoft" / "signalr").is_dir():
        # Installs the locked version into tests/sim/js/node_modules (gitignored).
        subprocess.run(
            [npm, "ci", "--silent", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True, timeout=300
        )
    return node


class JsClient:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[dict[str, Any]] = []

    async def next_line(self, within_s: float = 10.0) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), within_s)
        if not raw:
            assert self.process.stderr is not None
            err = (await self.process.stderr.read()).decode()
            raise AssertionError(f"JS client exited early; stderr: {err}")
        line: dict[str, Any] = json.loads(raw)
        self.lines.append(line)
        return line

    async def until(self, key: str) -> list[dict[str, Any]]:
        """Lines up to and including the first that has `key`."""
        lines = []
        while True:
            line = await self.next_line()
            lines.append(line)
            if key in line:
                return lines


@asynccontextmanager
async def js_client(node: str, **config: Any) -> AsyncIterator[JsClient]:
    process = await asyncio.create_subprocess_exec(
        node,
        str(JS_DIR / "client.mjs"),
        json.dumps(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield JsClient(process)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await process.wait()


@pytest.mark.parametrize(
    ("skip_negotiation", "query"),
    [
        (True, f"?access_token={GOOD}"),  # the official example: URL token and factory
        (True, ""),  # bare URL: Node sends the factory's token as Authorization: Bearer
        (False, ""),  # negotiate v1 first, then the WebSocket with id=connectionToken
    ],
)
async def test_js_client_subscribes_and_receives_user_events(
    node: str, skip_negotiation: bool, query: str
) -> None:
    async with (
        running_hubs() as (hubs, base),
        js_client(
            node,
            url=f"{base}/hubs/user{query}",
            token=GOOD,
            skipNegotiation=skip_negotiation,
            events=USER_EVENTS,
            invoke=[
                ["SubscribeAccounts"],
                ["SubscribeOrders", 7],
                ["SubscribePositions", 7],
                ["SubscribeTrades", 7],
            ],
            expect=4,
        ) as client,
    ):
        setup = await client.until("ready")
        assert [line.get("invoked") for line in setup[:-1]] == [
            "SubscribeAccounts",
            "SubscribeOrders",
            "SubscribePositions",
            "SubscribeTrades",
        ]
        await hubs.publish_user("GatewayUserTrade", 7, {"id": 1, "price": 49909}, 0)
        await hubs.publish_user("GatewayUserOrder", 7, {"id": 2, "status": 2}, 1)
        await hubs.publish_user("GatewayUserPosition", 7, {"id": 3, "size": 0}, 2)
        await hubs.publish_user("GatewayUserAccount", 7, {"id": 7, "balance": 5}, 1)
        received = await client.until("closed")
    assert received == [
        {"event": "GatewayUserTrade", "args": [{"action": 0, "data": {"id": 1, "price": 49909}}]},
        {"event": "GatewayUserOrder", "args": [{"action": 1, "data": {"id": 2, "status": 2}}]},
        {"event": "GatewayUserPosition", "args": [{"action": 2, "data": {"id": 3, "size": 0}}]},
        {"event": "GatewayUserAccount", "args": [{"action": 1, "data": {"id": 7, "balance": 5}}]},
        {"closed": True, "error": None},
    ]


async def test_js_client_receives_market_events(node: str) -> None:
    contract = "CON.F.US.EP.Z25"
    async with (
        running_hubs() as (hubs, base),
        js_client(
            node,
            url=f"{base}/hubs/market",
            token=GOOD,
            skipNegotiation=True,
            events=["GatewayQuote", "GatewayTrade", "GatewayDepth"],
            invoke=[
                ["SubscribeContractQuotes", contract],
                ["SubscribeContractTrades", contract],
                ["SubscribeContractMarketDepth", contract],
                ["SubscribeOrders", 7],  # a user-hub method: the invoke must be rejected
            ],
            expect=3,
        ) as client,
    ):
        setup = await client.until("ready")
        await hubs.publish_quote(contract, {"symbol": "F.US.EP", "lastPrice": 6000.25})
        await hubs.publish_market_trades(contract, [{"price": 6000.25, "volume": 2}])
        await hubs.publish_depth(contract, [{"type": 6, "price": 0}])
        received = await client.until("closed")
    assert setup[-2]["invokeError"] == "SubscribeOrders"
    assert "does not exist" in setup[-2]["message"]
    assert [line.get("event") for line in received[:3]] == [
        "GatewayQuote",
        "GatewayTrade",
        "GatewayDepth",
    ]
    assert received[0]["args"] == [contract, {"symbol": "F.US.EP", "lastPrice": 6000.25}]
    assert received[1]["args"] == [contract, [{"price": 6000.25, "volume": 2}]]


async def test_js_client_is_refused_with_a_bad_token(node: str) -> None:
    async with running_hubs() as (hubs, base):
        for skip in (True, False):
            async with js_client(
                node,
                url=f"{base}/hubs/user",
                token="bad",
                skipNegotiation=skip,
                events=[],
                invoke=[],
                expect=0,
            ) as client:
                line = await client.next_line()
            assert "startError" in line, line
            if not skip:  # the negotiate reply's 401 reaches the caller
                assert "401" in line["startError"], line
        assert hubs.connection_count() == 0


async def test_js_client_sees_a_dropped_connection_with_its_error(node: str) -> None:
    async with (
        running_hubs() as (hubs, base),
        js_client(
            node,
            url=f"{base}/hubs/user",
            token=GOOD,
            skipNegotiation=True,
            events=USER_EVENTS,
            invoke=[["SubscribeAccounts"]],
            expect=1,
        ) as client,
    ):
        await client.until("ready")
        await hubs.drop_connections()
        closed = await client.until("closed")
    expected = "Server returned an error on close: Connection closed with an error."
    assert closed[-1]["error"] == expected
