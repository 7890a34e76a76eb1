"""The simulator process: settings, the aiohttp app, event forwarding to the hubs.

``running_sim(settings)`` starts everything on a real socket (port 0 picks a free one) and
stops it on exit; the CLI and the tests both use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal

from aiohttp import web

from risk_manager.sim.auth import RateLimiter, TokenIssuer, retry_after_header
from risk_manager.sim.control import ControlApi, HubPort
from risk_manager.sim.echo import Echo
from risk_manager.sim.exchange import Exchange
from risk_manager.sim.faults import Faults
from risk_manager.sim.hours import TradingHours
from risk_manager.sim.hubs import HubServer
from risk_manager.sim.records import (
    DepthEvent,
    MarketTradeEvent,
    SimEvent,
    SimQuoteEvent,
    UserEvent,
)
from risk_manager.sim.rest import CLAIMS_KEY, TOKEN_KEY, UNAUTHENTICATED, RestApi
from risk_manager.sim.timings import Timings
from risk_manager.types import Clock, utc_now

log = logging.getLogger(__name__)
BARS_PATH = "/api/History/retrieveBars"
DEFAULT_USERNAME = "demo"
# At least 10 characters: project-x-py refuses a shorter PROJECT_X_API_KEY before it logs in.
DEFAULT_API_KEY = "demo-api-key"


def _real_hubs(validate_token: Callable[[str], bool]) -> HubPort:
    return HubServer(validate_token)


@dataclass(frozen=True, slots=True)
class SimSettings:
    host: str = "127.0.0.1"
    port: int = 5800
    username: str = DEFAULT_USERNAME
    api_key: str = DEFAULT_API_KEY
    accounts: tuple[tuple[str, Decimal], ...] = (("SIM-50K", Decimal(50000)),)
    seed: int = 0
    walk: bool = False
    walk_interval: float = 1.0  # seconds between random-walk steps
    rate_limit: tuple[int, float] = (200, 60.0)
    bars_rate_limit: tuple[int, float] = (50, 30.0)
    account_event_copies: int = 2
    clock: Clock = field(default=utc_now)
    hub_factory: Callable[[Callable[[str], bool]], HubPort] = field(default=_real_hubs)
    timings: bool = False  # keep the wall-clock event/request log of sim/timings.py
    # Gateway behaviours that are off by default so tests and the demo trade at any hour and
    # fill in full (docs/SIMULATOR.md says why):
    trading_hours: bool = False  # refuse orders outside CME Globex hours; no closed-hour bars
    partial_fills: int | None = None  # contracts limit orders get at their price per print
    unsigned_bracket_ticks: bool = False  # accept bracket ticks of either sign


class SimServer:
    """Owns the exchange, tokens, limits, faults and hubs of one simulator app."""

    def __init__(self, settings: SimSettings) -> None:
        self.settings = settings
        self.url = ""
        self.tokens = TokenIssuer(settings.clock)
        self.faults = Faults()
        self.limiter = RateLimiter(*settings.rate_limit)
        self.bars_limiter = RateLimiter(*settings.bars_rate_limit)
        self.listeners: list[Callable[[SimEvent], None]] = []  # e.g. tests capturing events
        self.timings: Timings | None = None  # set when settings.timings
        self._queue: asyncio.Queue[SimEvent] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        hours = TradingHours() if settings.trading_hours else None
        self.exchange = Exchange(
            settings.accounts,
            clock=settings.clock,
            sink=self._on_event,
            seed=settings.seed,
            account_event_copies=settings.account_event_copies,
            signed_bracket_ticks=not settings.unsigned_bracket_ticks,
            partial_fill_size=settings.partial_fills,
            hours=hours,
        )
        self.hubs = settings.hub_factory(self.tokens.valid)
        # A revoked or expired session is logged out of both hubs at once (GatewayLogout).
        self.tokens.on_revoke.append(self.hubs.log_out_ended_sessions)
        self.hubs.set_depth_snapshots(self.exchange.depth_snapshot)
        self.rest = RestApi(
            self.exchange,
            self.tokens,
            username=settings.username,
            api_key=settings.api_key,
            seed=settings.seed,
            clock=settings.clock,
            hours=hours,
        )
        self.control = ControlApi(self.exchange, self.tokens, self.faults, self.hubs, self.reset)

    @property
    def hub_urls(self) -> tuple[str, str]:
        return f"{self.url}/hubs/user", f"{self.url}/hubs/market"

    def reset(self) -> None:
        self.exchange.reset()
        self.faults.clear()
        self.limiter.clear()
        self.bars_limiter.clear()

    def _on_event(self, event: SimEvent) -> None:
        for listener in self.listeners:
            listener(event)
        self._queue.put_nowait(event)

    async def drained(self) -> None:
        """Wait until every event so far has been handed to the hubs."""
        await self._queue.join()

    async def _forward(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                if isinstance(event, UserEvent):
                    await self.hubs.publish_user(
                        event.target, event.account_id, event.data, event.action
                    )
                elif isinstance(event, SimQuoteEvent):
                    await self.hubs.publish_quote(event.contract_id, event.data)
                elif isinstance(event, MarketTradeEvent):
                    await self.hubs.publish_market_trades(event.contract_id, event.prints)
                elif isinstance(event, DepthEvent):
                    await self.hubs.publish_depth(event.contract_id, event.entries)
            except Exception:  # one bad publish must not stop the stream
                log.exception("publishing %s to the hubs failed", type(event).__name__)
            finally:
                self._queue.task_done()

    async def _walk(self) -> None:
        while True:
            await asyncio.sleep(self.settings.walk_interval)
            self.exchange.walk_step()

    async def start(self, app: web.Application) -> None:
        self._tasks.append(asyncio.create_task(self._forward(), name="sim-hub-forwarder"))
        if self.settings.walk:
            self._tasks.append(asyncio.create_task(self._walk(), name="sim-random-walk"))

    async def shutdown(self, app: web.Application) -> None:
        await self.hubs.close()

    async def stop(self, app: web.Application) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    @web.middleware
    async def api_middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Faults, bearer check and rate limits for ``/api/``; everything else passes."""
        path = request.path
        if not path.startswith("/api/"):
            return await handler(request)
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        injected = self.faults.take_status(path)
        if injected is not None:
            return web.Response(status=injected)
        if request.match_info.http_exception is not None:
            return await handler(request)  # 404 / 405 from the router
        if path in UNAUTHENTICATED:
            key = f"peer:{request.remote}"
        else:
            token = bearer_token(request)
            claims = self.tokens.claims(token) if token else None
            if token is None or claims is None:
                return web.Response(status=401)
            request[TOKEN_KEY], request[CLAIMS_KEY] = token, claims
            key = f"token:{token}"
        limiter = self.bars_limiter if path == BARS_PATH else self.limiter
        wait = limiter.check(key, self.settings.clock().timestamp())
        if wait is not None:
            return web.Response(status=429, headers={"Retry-After": retry_after_header(wait)})
        return await handler(request)


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


SIM_KEY = web.AppKey("sim", SimServer)


def create_app(settings: SimSettings) -> web.Application:
    timings = Timings() if settings.timings else None
    if timings is not None:
        make_hubs = settings.hub_factory
        settings = replace(settings, hub_factory=lambda valid: timings.wrap(make_hubs(valid)))
    server = SimServer(settings)
    middlewares = [server.api_middleware]
    if timings is not None:
        middlewares.insert(0, timings.middleware)  # outermost: stamped before any fault
        server.timings = timings
    app = web.Application(middlewares=middlewares)
    app[SIM_KEY] = server
    if timings is not None:
        timings.add_routes(app)
        Echo().add_routes(app)  # the e2e benchmark's floor, measured beside its timings
    server.rest.add_routes(app)
    server.control.add_routes(app)
    server.hubs.add_routes(app)
    app.on_startup.append(server.start)
    app.on_shutdown.append(server.shutdown)
    app.on_cleanup.append(server.stop)
    return app


@asynccontextmanager
async def running_sim(settings: SimSettings) -> AsyncIterator[SimServer]:
    """Serve the simulator until the block exits; ``sim.url`` is the base URL."""
    app = create_app(settings)
    runner = web.AppRunner(app, shutdown_timeout=2.0, access_log=None)  # URLs carry tokens
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        host, port = runner.addresses[0][:2]
        server = app[SIM_KEY]
        server.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        yield server
    finally:
        await runner.cleanup()


async def run_sim(settings: SimSettings, on_ready: Callable[[SimServer], None]) -> None:
    """Serve until cancelled (Ctrl+C in the CLI)."""
    async with running_sim(settings) as sim:
        on_ready(sim)
        await asyncio.Event().wait()
