"""Fixtures for the ProjectX client tests; the fakes live in ``px_fakes``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from projectx.px_fakes import FakeClock, FakeGateway, FakeHubServer
from risk_manager.projectx.client import ProjectXClient


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def gateway(clock: FakeClock) -> AsyncIterator[FakeGateway]:
    fake = FakeGateway(clock)
    app = web.Application()
    app.router.add_get("/api/Status/ping", fake.ping)
    app.router.add_post("/api/{path:.*}", fake.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()


@pytest.fixture
async def client(gateway: FakeGateway, clock: FakeClock) -> AsyncIterator[ProjectXClient]:
    async with ProjectXClient(
        gateway.url,
        "trader",
        "secret-api-key",
        clock=clock,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        timeout=2.0,
    ) as px:
        yield px


@pytest.fixture
async def hub_server() -> AsyncIterator[FakeHubServer]:
    fake = FakeHubServer()
    app = web.Application()
    app.router.add_get("/hubs/{hub}", fake.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield fake
    finally:
        for sockets in fake.sockets.values():
            for ws in sockets:
                await ws.close()
        await runner.cleanup()
