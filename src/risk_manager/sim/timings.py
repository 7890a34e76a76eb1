"""An optional wall-clock log for end-to-end latency runs (``risk-manager sim --timings``).

It records ``time.time_ns()`` when each user-hub event is handed to the hub server (before the
socket write, so a measurement from it includes the simulator's own send) and when each write
request (``Order/*``, ``Position/*Close*``) arrives, before faults, auth and rate limits. The
daemon under test runs on the same machine, so the two processes' wall clocks agree.

``GET /sim/timings`` returns both logs; ``POST /sim/timings/clear`` empties them.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from risk_manager.sim.control import HubPort, is_loopback

RECORDED_PATHS = frozenset(
    {
        "/api/Order/place",
        "/api/Order/modify",
        "/api/Order/cancel",
        "/api/Position/closeContract",
        "/api/Position/partialCloseContract",
    }
)
MAX_ENTRIES = 200_000  # each log is bounded: a forgotten --timings cannot grow without end

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Timings:
    def __init__(self, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._clock_ns = clock_ns
        # (t_ns, target, account_id, position size or None)
        self.events: deque[tuple[int, str, int, int | None]] = deque(maxlen=MAX_ENTRIES)
        # (t_ns, path, account_id, contract_id, size)
        self.requests: deque[tuple[int, str, int | None, str | None, int | None]] = deque(
            maxlen=MAX_ENTRIES
        )

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in RECORDED_PATHS:
            at = self._clock_ns()
            body = await _body(request)  # aiohttp caches it: the handler reads it again
            self.requests.append(
                (
                    at,
                    request.path.removeprefix("/api/"),
                    _int(body.get("accountId")),
                    body.get("contractId") if isinstance(body.get("contractId"), str) else None,
                    _int(body.get("size")),
                )
            )
        return await handler(request)

    def wrap(self, hubs: HubPort) -> HubPort:
        return _TimedHubs(hubs, self)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/sim/timings", self._get)
        app.router.add_post("/sim/timings/clear", self._clear)

    def snapshot(self) -> dict[str, Any]:
        return {
            "events": [
                {"t_ns": t, "target": target, "accountId": acct, "size": size}
                for t, target, acct, size in self.events
            ],
            "requests": [
                {"t_ns": t, "path": path, "accountId": acct, "contractId": cid, "size": size}
                for t, path, acct, cid, size in self.requests
            ],
        }

    async def _get(self, request: web.Request) -> web.Response:
        if not is_loopback(request.remote):
            return web.json_response({"error": "loopback peers only"}, status=403)
        return web.json_response(self.snapshot())

    async def _clear(self, request: web.Request) -> web.Response:
        if not is_loopback(request.remote):
            return web.json_response({"error": "loopback peers only"}, status=403)
        self.events.clear()
        self.requests.clear()
        return web.json_response({"ok": True})


class _TimedHubs:
    """The hub server with user events stamped on their way out; everything else passes."""

    def __init__(self, inner: HubPort, timings: Timings) -> None:
        self._inner = inner
        self._timings = timings

    def add_routes(self, app: web.Application) -> None:
        self._inner.add_routes(app)

    async def publish_user(
        self, target: str, account_id: int, data: dict[str, Any], action: int
    ) -> None:
        size = _int(data.get("size")) if target == "GatewayUserPosition" else None
        self._timings.events.append((self._timings._clock_ns(), target, account_id, size))
        await self._inner.publish_user(target, account_id, data, action)

    async def publish_quote(self, contract_id: str, data: dict[str, Any]) -> None:
        await self._inner.publish_quote(contract_id, data)

    async def publish_market_trades(self, contract_id: str, prints: list[dict[str, Any]]) -> None:
        await self._inner.publish_market_trades(contract_id, prints)

    async def publish_depth(self, contract_id: str, entries: list[dict[str, Any]]) -> None:
        await self._inner.publish_depth(contract_id, entries)

    def set_depth_snapshots(self, source: Callable[[str], list[dict[str, Any]] | None]) -> None:
        self._inner.set_depth_snapshots(source)

    async def drop_connections(self) -> None:
        await self._inner.drop_connections()

    def log_out_ended_sessions(self) -> int:
        return self._inner.log_out_ended_sessions()

    def silence(self, hub: str, seconds: float) -> None:
        self._inner.silence(hub, seconds)

    async def take_down(self, hub: str, seconds: float) -> None:
        await self._inner.take_down(hub, seconds)

    def publish_raw(self, hub: str, text: str) -> None:
        self._inner.publish_raw(hub, text)

    async def close(self) -> None:
        await self._inner.close()

    def __getattr__(self, name: str) -> Any:  # the rest of the hub server's surface
        return getattr(self._inner, name)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
