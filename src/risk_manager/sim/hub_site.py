"""The hub server alone on a loopback socket: for the hub tests and the quote benchmark (the
full simulator serves its hubs through ``sim.server.running_sim``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from risk_manager.sim.hubs import HubServer


@asynccontextmanager
async def serving_hubs(
    validate_token: Callable[[str], bool],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    middlewares: Iterable[Middleware] = (),
    **options: Any,
) -> AsyncIterator[tuple[HubServer, str]]:
    """Serve a ``HubServer(validate_token, **options)`` until the block exits, yielding it and
    its base URL (``http://host:port``; ``port=0`` picks a free port). The hubs close their
    connections when the block exits."""
    hubs = HubServer(validate_token, **options)
    app = web.Application(middlewares=middlewares)
    hubs.add_routes(app)

    async def on_shutdown(_: web.Application) -> None:
        await hubs.close()

    app.on_shutdown.append(on_shutdown)
    runner = web.AppRunner(app, access_log=None)  # hub URLs carry tokens
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        yield hubs, f"http://{bound_host}:{bound_port}"
    finally:
        await runner.cleanup()
