"""A small fake gateway (aiohttp on 127.0.0.1, port 0) and a fake clock (ProjectX client tests)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def make_jwt(issued: datetime, lifetime: timedelta = timedelta(hours=24), nonce: int = 0) -> str:
    def seg(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "n": nonce,
    }
    return f"{seg({'alg': 'HS256', 'typ': 'JWT'})}.{seg(claims)}.c2lnbmF0dXJl{nonce}"


class FakeClock:
    """Wall clock + monotonic clock + sleep that advances time instead of waiting."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start
        self.mono = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(max(seconds, 0.0))
        await asyncio.sleep(0)


Reply = tuple[int, Any, dict[str, str]]
Handler = Callable[[dict[str, Any], str | None], Reply]


def ok(**payload: Any) -> Reply:
    return 200, {"success": True, "errorCode": 0, "errorMessage": None, **payload}, {}


def refused(code: int, message: str | None = None, **payload: Any) -> Reply:
    return 200, {"success": False, "errorCode": code, "errorMessage": message, **payload}, {}


EMPTY_LISTS = {
    "Account/search": "accounts",
    "Contract/search": "contracts",
    "Contract/available": "contracts",
    "Position/searchOpen": "positions",
    "Order/searchOpen": "orders",
    "Order/search": "orders",
    "Trade/search": "trades",
}


@dataclass
class FakeGateway:
    clock: FakeClock
    lifetime: timedelta = timedelta(hours=24)
    handlers: dict[str, Handler] = field(default_factory=dict)
    scripted: dict[str, list[Reply]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)
    issued: list[str] = field(default_factory=list)
    url: str = ""
    ping_body: str = '"pong"'  # the JSON string the gateway most likely sends (API doc §12b)

    def script(self, endpoint: str, *replies: Reply) -> None:
        """Replies used (in order) before falling back to the handler."""
        self.scripted.setdefault(endpoint, []).extend(replies)

    def calls(self, endpoint: str) -> int:
        return sum(1 for ep, _, _ in self.requests if ep == endpoint)

    def issue(self) -> str:
        token = make_jwt(self.clock.now, self.lifetime, nonce=len(self.issued))
        self.issued.append(token)
        self.valid.add(token)
        return token

    async def handle(self, request: web.Request) -> web.StreamResponse:
        endpoint = request.match_info["path"]
        raw = await request.text()
        body = json.loads(raw) if raw else {}
        auth = request.headers.get("Authorization")
        bearer = auth.removeprefix("Bearer ") if auth else None
        self.requests.append((endpoint, body, bearer))
        if self.scripted.get(endpoint):
            status, payload, headers = self.scripted[endpoint].pop(0)
        elif endpoint == "Auth/loginKey":
            status, payload, headers = ok(token=self.issue())
        elif bearer not in self.valid:
            status, payload, headers = 401, "", {}
        elif endpoint == "Auth/validate":
            status, payload, headers = ok(newToken=self.issue())
        elif endpoint in self.handlers:
            status, payload, headers = self.handlers[endpoint](body, bearer)
        else:  # a read answers its (empty) list, as the gateway does (API doc §2)
            key = EMPTY_LISTS.get(endpoint)
            status, payload, headers = ok(**({key: []} if key else {}))
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return web.Response(status=status, text=text, headers=headers)

    async def ping(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(("Status/ping", {}, None))
        return web.Response(text=self.ping_body, content_type="application/json")


class FakeTokens:
    """A TokenSource whose token changes whenever ``rotate`` or ``invalidate`` is called."""

    def __init__(self) -> None:
        self.n = 0
        self.invalidated: list[str] = []

    @property
    def current(self) -> str:
        return f"hub.token.{self.n}"

    def rotate(self) -> None:
        self.n += 1

    async def get(self) -> str:
        return self.current

    async def invalidate(self, rejected: str) -> str:
        self.invalidated.append(rejected)
        if rejected == self.current:
            self.rotate()
        return self.current


@dataclass
class FakeHubServer:
    """A minimal SignalR JSON-protocol server: handshake, completions, events, drops."""

    accept: Callable[[str], bool] = lambda token: True
    ping_every: float | None = None
    fail_targets: set[str] = field(default_factory=set)
    stall_handshake: bool = False  # accept the socket, never answer the handshake
    reply_delay: float = 0.0  # seconds before each completion (a slow gateway)
    handshake_frames: tuple[str, ...] = ("{}\x1e",)  # the handshake reply, frame by frame
    sockets: dict[str, list[web.WebSocketResponse]] = field(default_factory=dict)
    invocations: list[tuple[str, int, str, list[Any]]] = field(default_factory=list)
    tokens_seen: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    def hub_url(self, hub: str) -> str:
        return f"{self.url}/hubs/{hub}"

    def connections(self, hub: str) -> int:
        return len(self.sockets.get(hub, []))

    def calls(self, hub: str, conn: int | None = None) -> list[tuple[str, list[Any]]]:
        return [
            (target, args)
            for h, c, target, args in self.invocations
            if h == hub and (conn is None or c == conn)
        ]

    async def send(self, hub: str, target: str, arguments: list[Any]) -> None:
        record = json.dumps({"type": 1, "target": target, "arguments": arguments}) + "\x1e"
        for ws in self.sockets.get(hub, []):
            if not ws.closed:
                await ws.send_str(record)

    async def send_raw(self, hub: str, frame: str) -> None:
        """``frame`` as one WebSocket text frame, as given (a part of a record, several...)."""
        for ws in self.sockets.get(hub, []):
            if not ws.closed:
                await ws.send_str(frame)

    async def drop(self, hub: str) -> None:
        for ws in self.sockets.get(hub, []):
            await ws.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        hub = request.match_info["hub"]
        token = request.query.get("access_token", "")
        self.tokens_seen.append((hub, token))
        if not self.accept(token):
            return web.Response(status=401)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conns = self.sockets.setdefault(hub, [])
        conns.append(ws)
        index = len(conns) - 1
        pinger = None
        if self.stall_handshake:
            async for _ in ws:  # until the client gives up and closes
                pass
            return ws
        first = await ws.receive()
        if first.type is not web.WSMsgType.TEXT or '"protocol"' not in first.data:
            await ws.close()
            return ws
        for frame in self.handshake_frames:
            await ws.send_str(frame)
        if self.ping_every is not None:
            pinger = asyncio.create_task(self._ping(ws, self.ping_every))
        try:
            async for msg in ws:
                if msg.type is not web.WSMsgType.TEXT:
                    continue
                for part in msg.data.split("\x1e"):
                    if not part:
                        continue
                    record = json.loads(part)
                    if record.get("type") != 1:
                        continue
                    target, args = record["target"], record.get("arguments", [])
                    self.invocations.append((hub, index, target, args))
                    if "invocationId" in record:
                        if self.reply_delay:
                            await asyncio.sleep(self.reply_delay)
                        reply: dict[str, Any] = {"type": 3, "invocationId": record["invocationId"]}
                        if target in self.fail_targets:
                            reply["error"] = f"{target} failed"
                        await ws.send_str(json.dumps(reply) + "\x1e")
        finally:
            if pinger is not None:
                pinger.cancel()
        return ws

    @staticmethod
    async def _ping(ws: web.WebSocketResponse, every: float) -> None:
        while not ws.closed:
            await ws.send_str('{"type":6}\x1e')
            await asyncio.sleep(every)
