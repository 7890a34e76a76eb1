"""Shared fixtures for the simulator's tests: a sim on port 0 and a client (REST/control), and
the hub server alone (hub tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from risk_manager.sim.hub_site import serving_hubs
from risk_manager.sim.hubs import HubServer
from risk_manager.sim.records import SimEvent
from risk_manager.sim.server import SimServer, SimSettings, running_sim
from support.sim_gateway import CREDENTIALS

START = datetime(2026, 5, 6, 13, 36, 3, 496279, tzinfo=UTC)
GOOD = "good-token"  # the one token the hub tests' servers accept


def running_hubs(**options: Any) -> AbstractAsyncContextManager[tuple[HubServer, str]]:
    """The hub server alone on 127.0.0.1 accepting ``GOOD``, and its ``http://host:port``;
    ``options`` go to ``serving_hubs`` (``middlewares``) and ``HubServer``."""
    return serving_hubs(lambda token: token == GOOD, **options)


@dataclass
class FakeClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class FakeHubs:
    """Stand-in for ``sim.hubs.HubServer`` that records what it was asked to do."""

    validate_token: Callable[[str], bool]
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    depth_snapshots: Callable[[str], list[dict[str, Any]] | None] | None = None

    def add_routes(self, app: web.Application) -> None:
        return None

    async def publish_user(
        self, target: str, account_id: int, data: dict[str, Any], action: int
    ) -> None:
        self.calls.append(("publish_user", (target, account_id, data, action)))

    async def publish_user_frame(
        self, target: str, account_id: int, records: list[Any], action: int
    ) -> None:
        self.calls.append(("publish_user_frame", (target, account_id, records, action)))

    async def publish_quote(self, contract_id: str, data: dict[str, Any]) -> None:
        self.calls.append(("publish_quote", (contract_id, data)))

    async def publish_market_trades(self, contract_id: str, prints: list[dict[str, Any]]) -> None:
        self.calls.append(("publish_market_trades", (contract_id, prints)))

    async def publish_depth(self, contract_id: str, entries: list[dict[str, Any]]) -> None:
        self.calls.append(("publish_depth", (contract_id, entries)))

    def set_depth_snapshots(self, source: Callable[[str], list[dict[str, Any]] | None]) -> None:
        self.depth_snapshots = source

    async def drop_connections(self) -> None:
        self.calls.append(("drop_connections", ()))

    def log_out_ended_sessions(self) -> int:
        self.calls.append(("log_out_ended_sessions", ()))
        return 0

    def silence(self, hub: str, seconds: float) -> None:
        self.calls.append(("silence", (hub, seconds)))

    async def take_down(self, hub: str, seconds: float) -> None:
        self.calls.append(("take_down", (hub, seconds)))

    def publish_raw(self, hub: str, text: str) -> None:
        self.calls.append(("publish_raw", (hub, text)))

    async def close(self) -> None:
        self.calls.append(("close", ()))


class Client:
    """Talks to a running sim over a real socket."""

    def __init__(self, sim: SimServer, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session
        self.token: str | None = None
        self.events: list[SimEvent] = []
        sim.listeners.append(self.events.append)

    @property
    def hubs(self) -> FakeHubs:
        assert isinstance(self.sim.hubs, FakeHubs)
        return self.sim.hubs

    async def raw(
        self, path: str, body: Any = None, *, token: str | None = None, method: str = "POST"
    ) -> aiohttp.ClientResponse:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = await self.session.request(method, self.sim.url + path, json=body, headers=headers)
        await resp.read()
        return resp

    async def api(self, path: str, body: Any = None) -> dict[str, Any]:
        """POST to /api/<path> with the current token; the reply must be 200 JSON."""
        resp = await self.raw(f"/api/{path}", body if body is not None else {}, token=self.token)
        assert resp.status == 200, (path, resp.status, await resp.text())
        data: dict[str, Any] = await resp.json()
        return data

    async def login(self) -> str:
        reply = await self.api("Auth/loginKey", CREDENTIALS)
        assert reply["success"], reply
        self.token = reply["token"]
        return str(self.token)

    async def control(self, path: str, body: Any = None, method: str = "POST") -> Any:
        resp = await self.raw(f"/sim/{path}", body, method=method)
        assert resp.status == 200, (path, resp.status, await resp.text())
        return await resp.json()

    async def account_id(self) -> int:
        reply = await self.api("Account/search", {"onlyActiveAccounts": True})
        return int(reply["accounts"][0]["id"])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(clock: FakeClock) -> SimSettings:
    return SimSettings(port=0, clock=clock, hub_factory=FakeHubs, rate_limit=(30, 60.0))


@pytest.fixture
async def client(settings: SimSettings) -> AsyncIterator[Client]:
    async with running_sim(settings) as sim, aiohttp.ClientSession() as session:
        yield Client(sim, session)


@asynccontextmanager
async def logged_in(settings: SimSettings, **changes: Any) -> AsyncIterator[Client]:
    """A sim with ``settings`` changed by ``changes`` and a client logged in to it."""
    async with (
        running_sim(replace(settings, **changes)) as sim,
        aiohttp.ClientSession() as session,
    ):
        client = Client(sim, session)
        await client.login()
        yield client
