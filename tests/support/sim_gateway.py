"""The simulator over HTTP as the end-to-end tests drive it: REST as a trader (with the token
from the gateway login) and ``/sim/`` control calls as the test's hand. ``e2e.helpers.SimTrader``
and ``e2e_recovery.harness.SimClient`` build on it."""

from __future__ import annotations

from typing import Any

import aiohttp

from risk_manager.sim.server import DEFAULT_API_KEY, DEFAULT_USERNAME

CREDENTIALS = {"userName": DEFAULT_USERNAME, "apiKey": DEFAULT_API_KEY}  # the simulator's login


class SimGateway:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.token = ""

    async def login(self) -> None:
        reply = await self.api("Auth/loginKey", CREDENTIALS)
        assert reply["success"], reply
        self.token = reply["token"]

    async def api(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to the gateway REST API with the token (once logged in); the reply must be 200."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.post(f"{self.url}/api/{path}", json=body, headers=headers) as r:
            assert r.status == 200, (path, r.status, await r.text())
            data: dict[str, Any] = await r.json()
        return data

    async def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """GET ``/sim/<path>`` without a body, else POST it; the reply must be 200."""
        method = "GET" if body is None else "POST"
        async with self.session.request(method, f"{self.url}/sim/{path}", json=body) as r:
            assert r.status == 200, (path, r.status, await r.text())
            return await r.json()

    async def state(self) -> dict[str, Any]:
        data: dict[str, Any] = await self.control("state")
        return data

    async def fault(self, kind: str, **fields: Any) -> None:
        await self.control("fault", {"kind": kind, **fields})
