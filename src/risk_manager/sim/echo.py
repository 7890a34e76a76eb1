"""``/sim/echo``: the floor of ``risk-manager bench e2e`` (``risk-manager sim --timings``).

A breach's latency is stamped by the simulator: a user-hub event handed to its socket, then the
enforcement request arriving (sim/timings.py). The floor is the same two hops between the same
two processes with nothing in between: the client sends ``n`` on the ``/sim/echo`` WebSocket;
the simulator stamps ``time.time_ns()`` and sends ``{"n": n}`` back as a SignalR record; the
client answers with ``POST /sim/echo {"n": n}``, stamped on arrival; the reply carries the
difference (``{"latency_ns": …}``). Loopback peers only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from aiohttp import WSMsgType, web

from risk_manager.signalr import RECORD_SEPARATOR
from risk_manager.sim.control import is_loopback

MAX_WAITING = 10_000  # stamps kept for answers not come yet: a client that never answers is bounded


class Echo:
    """The two routes and the stamps of the messages sent and not answered yet."""

    def __init__(self, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._clock_ns = clock_ns
        self._sent: dict[int, int] = {}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/sim/echo", self._socket)
        app.router.add_post("/sim/echo", self._answer)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if not is_loopback(request.remote):
            return web.json_response({"error": "loopback peers only"}, status=403)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT or not msg.data.isdigit():
                continue
            n = int(msg.data)
            if len(self._sent) >= MAX_WAITING:
                self._sent.clear()
            self._sent[n] = self._clock_ns()  # before the write, as the hub's events are
            await ws.send_str(json.dumps({"n": n}) + RECORD_SEPARATOR)
        return ws

    async def _answer(self, request: web.Request) -> web.Response:
        at = self._clock_ns()
        if not is_loopback(request.remote):
            return web.json_response({"error": "loopback peers only"}, status=403)
        body = await request.json()
        n = body.get("n") if isinstance(body, dict) else None
        sent = self._sent.pop(n, None) if isinstance(n, int) else None
        if sent is None:
            return web.json_response({"error": "no such message"}, status=404)
        return web.json_response({"latency_ns": at - sent})
