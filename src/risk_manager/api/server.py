"""The local API: health, metrics, account views, enforcement log, live stream, UI.

The read API has no login: it binds to 127.0.0.1 by default and exposes no secrets and no
actions. The admin API (``api/admin.py``) is the only one that changes anything, behind its
password, token and origin checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from prometheus_client import CONTENT_TYPE_LATEST
from yarl import URL

from risk_manager.api.admin import AdminSurface, add_admin_routes, admin_guard
from risk_manager.api.read_model import MetricsSource, ReadModel, dumps
from risk_manager.api.stream import Coalescer
from risk_manager.domain.errors import RefuseToStart
from risk_manager.runtime.slices import in_slices
from risk_manager.types import JSON

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
API_SHUTDOWN = 1.5  # seconds the runner gives open requests at shutdown (runtime/shutdown.py)
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
DEFAULT_HISTORY_DAYS = 7
# Seconds of silence after which the stream sends {"type": "heartbeat"}: a dashboard that hears
# nothing for three of them says "daemon unreachable" (issue 15: within two seconds).
HEARTBEAT = 0.5
VIEWS_PER_DUMP = 16  # account views serialized per loop callback (snapshots, REST reads)
MAX_DAYS = 31  # trading days one history read covers at most
STATIC_DIR = Path(str(resources.files("risk_manager.api") / "static"))

READ_MODEL = web.AppKey("read_model", ReadModel)
METRICS = web.AppKey("metrics", MetricsSource)
SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets")
SETTINGS: web.AppKey[JSON] = web.AppKey("settings")

_CSP = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'"
)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def _error(status: int, message: str, parameter: str | None = None) -> web.Response:
    body: JSON = {"error": message}
    if parameter is not None:
        body["parameter"] = parameter
    return _json(body, status)


def _int_param(raw: str, name: str, low: int, high: int | None = None) -> int | web.Response:
    try:
        value = int(raw)
    except ValueError:
        return _error(400, f"{name} must be an integer, got {raw!r}", name)
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        return _error(400, f"{name} must be {bounds}, got {value}", name)
    return value


async def _health(request: web.Request) -> web.Response:
    model = request.app[READ_MODEL]
    await model.current_health()
    health = model.health()
    return _json(health, 200 if health.get("status") == "ok" else 503)


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _accounts(request: web.Request) -> web.Response:
    model = request.app[READ_MODEL]
    await model.current()
    text = '{"accounts":' + await dumps_views(model.accounts()) + "}"
    return web.Response(text=text, content_type="application/json")


async def dumps_views(views: list[JSON]) -> str:
    """``views`` as one JSON array, serialized ``VIEWS_PER_DUMP`` at a time with the loop run
    between: 500 accounts with their day's P&L curves are ~13 MB of JSON, ~0.3 s in one call
    (a snapshot to a dashboard that connects, a REST read), and the loop guards with."""
    parts: list[str] = []
    async for part in in_slices(views, VIEWS_PER_DUMP):
        parts.extend(dumps(view) for view in part)
    return "[" + ",".join(parts) + "]"


async def _account(request: web.Request) -> web.Response:
    account_id = _int_param(request.match_info["id"], "id", 0)
    if isinstance(account_id, web.Response):
        return account_id
    model = request.app[READ_MODEL]
    await model.current()
    view = model.account(account_id)
    if view is None:
        return _error(404, f"account {account_id} is not monitored")
    return _json(view)


async def _enforcements(request: web.Request) -> web.Response:
    query = request.query
    account: int | None = None
    if query.get("account", "") != "":
        parsed = _int_param(query["account"], "account", 0)
        if isinstance(parsed, web.Response):
            return parsed
        account = parsed
    limit = _int_param(query.get("limit", str(DEFAULT_LIMIT)), "limit", 1, MAX_LIMIT)
    if isinstance(limit, web.Response):
        return limit
    entries = await request.app[READ_MODEL].enforcements(account, limit)
    return _json({"enforcements": entries})


async def _history(request: web.Request) -> web.Response:
    days = _int_param(request.query.get("days", str(DEFAULT_HISTORY_DAYS)), "days", 1, MAX_DAYS)
    if isinstance(days, web.Response):
        return days
    return _json(await request.app[READ_MODEL].history(days))


async def _stream(request: web.Request) -> web.StreamResponse:
    # WebSockets bypass CORS: refuse a browser page of another origin (cross-site hijacking).
    origin = request.headers.get("Origin")
    if origin is not None and URL(origin).raw_authority != request.host:
        return _error(403, f"Origin {origin!r} not allowed: the stream is same-origin only")
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    model = request.app[READ_MODEL]
    sockets = request.app[SOCKETS]
    # Subscribe before the snapshot so no change falls between the two.
    queue = model.subscribe()
    coalescer = Coalescer()
    sockets.add(ws)

    async def pump() -> None:
        while True:
            coalescer.push(await queue.get())
            while not queue.empty():  # drain eagerly: the queue never builds up
                coalescer.push(queue.get_nowait())

    async def send() -> None:
        await model.current()
        enforcements = await model.enforcements(None, DEFAULT_LIMIT)
        accounts = await dumps_views(model.accounts())  # the bulk, in pieces
        rest = dumps(
            {
                "type": "snapshot",
                "health": model.health(),
                "enforcements": enforcements,
                "settings": request.app[SETTINGS],
            }
        )
        await ws.send_str(rest[:-1] + ',"accounts":' + accounts + "}")
        while not ws.closed:
            try:
                async with asyncio.timeout(HEARTBEAT):
                    batch = await coalescer.next_batch()
            except TimeoutError:  # nothing changed: say we are alive (the pages' watchdog)
                batch = [{"type": "heartbeat"}]
            for message in batch:
                await ws.send_str(dumps(message))
                # A batch is up to one view per account: the loop polls between them, so a
                # breach's frame never waits behind a dashboard's whole batch.
                await asyncio.sleep(0)

    tasks = [
        asyncio.create_task(pump(), name="api-stream-pump"),
        asyncio.create_task(send(), name="api-stream-send"),
    ]
    try:
        reader = asyncio.create_task(_read_until_closed(ws), name="api-stream-read")
        done, _ = await asyncio.wait([reader, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not reader and not task.cancelled() and task.exception() is not None:
                log.info("stream client dropped: %s", task.exception())
        reader.cancel()
        tasks.append(reader)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        model.unsubscribe(queue)
        sockets.discard(ws)
        await ws.close()
    return ws


async def _read_until_closed(ws: web.WebSocketResponse) -> None:
    async for msg in ws:  # clients send nothing we act on; this loop sees close and ping
        if msg.type == WSMsgType.ERROR:
            return


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


async def _audit_page(request: web.Request) -> web.FileResponse:
    # The page holds no data: it logs in to the admin API and reads the audit from there.
    return web.FileResponse(STATIC_DIR / "audit.html", headers={"Cache-Control": "no-cache"})


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
LOOPBACK_ONLY = web.AppKey("loopback_only", bool)


def _hostname(netloc: str) -> str | None:
    return URL(f"http://{netloc}").host if netloc else None


@web.middleware
async def _guard(request: web.Request, handler: Any) -> web.StreamResponse:
    # DNS-rebinding guard: a page from another site that resolves its own name to 127.0.0.1
    # arrives with that name in Host; only loopback names may read a loopback-bound API.
    if request.app[LOOPBACK_ONLY] and _hostname(request.host) not in LOOPBACK_NAMES:
        return _error(403, f"Host {request.host!r} not allowed: use 127.0.0.1 or localhost")
    response: web.StreamResponse = await handler(request)
    return response


@web.middleware
async def _headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


async def _close_sockets(app: web.Application) -> None:
    sockets = app[SOCKETS]
    for ws in [*sockets]:
        await ws.close(code=1001, message=b"server shutting down")


def create_api_app(
    read_model: ReadModel,
    metrics: MetricsSource,
    *,
    loopback_only: bool = True,
    admin: AdminSurface | None = None,
    notify_on_lock: bool = False,
) -> web.Application:
    """The aiohttp application serving the API and the web dashboard.

    ``loopback_only``: answer only requests addressed to a loopback name (set it False when
    deliberately serving on another interface). ``admin``: serve the admin API too
    (``api/admin.py``, docs/ADMIN.md); without it there is none. ``notify_on_lock``: the
    dashboards sound and notify on each new lock (config ``api.notify_on_lock``; the stream's
    snapshot says so)."""
    app = web.Application(middlewares=[_guard, _headers, admin_guard])
    app[LOOPBACK_ONLY] = loopback_only
    app[SETTINGS] = {"notify_on_lock": notify_on_lock}
    app[READ_MODEL] = read_model
    app[METRICS] = metrics
    sockets: set[web.WebSocketResponse] = set()
    app[SOCKETS] = sockets
    app.router.add_get("/health", _health)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/api/v1/accounts", _accounts)
    app.router.add_get("/api/v1/accounts/{id}", _account)
    app.router.add_get("/api/v1/enforcements", _enforcements)
    app.router.add_get("/api/v1/history", _history)
    app.router.add_get("/api/v1/stream", _stream)
    app.router.add_get("/", _index)
    app.router.add_get("/audit", _audit_page)
    app.router.add_static("/static", STATIC_DIR)
    if admin is not None:
        add_admin_routes(app, admin)
    app.on_shutdown.append(_close_sockets)
    return app


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, port: int) -> str | None:
    """The warning for an API bound to a non-loopback address, or None when loopback: the API
    has no login, and off loopback its Host check is off too."""
    if _is_loopback(host):
        return None
    return (
        f"api.host {host} is not a loopback address: the local API has no login, so anyone "
        f"who can reach this machine on port {port} reads every account; bind 127.0.0.1 "
        "unless a firewall or an authenticating proxy stands in front"
    )


@dataclass(frozen=True)
class RunningApi:
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@contextlib.asynccontextmanager
async def running_api(
    read_model: ReadModel,
    metrics: MetricsSource,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    admin: AdminSurface | None = None,
    *,
    notify_on_lock: bool = False,
) -> AsyncIterator[RunningApi]:
    """Serve the API until the block exits; ``port=0`` picks a free port (see ``.url``);
    ``admin`` and ``notify_on_lock`` as in :func:`create_api_app`."""
    exposed = exposure_warning(host, port)
    if exposed is not None:
        log.warning("%s", exposed)
    app = create_api_app(
        read_model,
        metrics,
        loopback_only=exposed is None,
        admin=admin,
        notify_on_lock=notify_on_lock,
    )
    runner = web.AppRunner(app, shutdown_timeout=API_SHUTDOWN)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:  # the machine's problem, not the gateway's: retrying won't help
            raise RefuseToStart(
                f"cannot serve the API on {host}:{port} ({exc.strerror or exc}); another "
                "program (another risk-manager?) uses the port: stop it or set api.port"
            ) from None
        bound = runner.addresses[0][1]
        yield RunningApi(host=host, port=int(bound))
    finally:
        await runner.cleanup()
