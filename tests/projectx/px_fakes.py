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
        else:
            status, payload, headers = ok()
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return web.Response(status=status, text=text, headers=headers)

    async def ping(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(("Status/ping", {}, None))
        return web.Response(text="pong")
