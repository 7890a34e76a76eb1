"""Fixtures for the ProjectX client tests; the fakes live in ``px_fakes``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from px_fakes import FakeClock, FakeGateway

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
    runner = web.AppRunner(app)
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
