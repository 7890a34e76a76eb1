"""The control API under ``/sim/``: move prices, read state, inject faults, reset.

Loopback peers only (403 otherwise), no token. Bad input is a 400 naming the bad field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from risk_manager.sim import wire
from risk_manager.sim.auth import TokenIssuer
from risk_manager.sim.body import BadField, get_bool, get_decimal, get_int, get_str, read_body
from risk_manager.sim.exchange import Exchange
from risk_manager.sim.faults import Faults
from risk_manager.sim.fills import aligned

LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
USER_TARGETS = ("GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade")
FAULT_KINDS = (
    "drop_connections",
    "http_status",
    "expire_tokens",
    "latency",
    "silence",
    "can_trade",
    "user_frame",
    "hub_down",
    "raw_text",
)


class HubPort(Protocol):
    """What the simulator needs of the SignalR hub server (``sim.hubs.HubServer``)."""

    def add_routes(self, app: web.Application) -> None: ...
    async def publish_user(
        self, target: str, account_id: int, data: dict[str, Any], action: int
    ) -> None: ...
    async def publish_user_frame(
        self, target: str, account_id: int, records: list[Any], action: int
    ) -> None: ...
    async def publish_quote(self, contract_id: str, data: dict[str, Any]) -> None: ...
    async def publish_market_trades(
        self, contract_id: str, prints: list[dict[str, Any]]
    ) -> None: ...
    async def publish_depth(self, contract_id: str, entries: list[dict[str, Any]]) -> None: ...
    def set_depth_snapshots(self, source: Callable[[str], list[dict[str, Any]] | None]) -> None: ...
    async def drop_connections(self) -> None: ...
    def log_out_ended_sessions(self) -> int: ...
    def silence(self, hub: str, seconds: float) -> None: ...
    async def take_down(self, hub: str, seconds: float) -> None: ...
    def publish_raw(self, hub: str, text: str) -> None: ...
    async def close(self) -> None: ...


def _hub(body: dict[str, Any]) -> str:
    hub = get_str(body, "hub")
    if hub not in ("user", "market"):
        raise BadField("hub", f"must be 'user' or 'market', got {hub!r}")
    return hub


def is_loopback(remote: str | None) -> bool:
    return remote in LOOPBACK


def bad_input(error: BadField) -> web.Response:
    return web.json_response({"error": str(error), "field": error.name}, status=400)


Handler = Callable[[web.Request], Awaitable[web.Response]]


class ControlApi:
    def __init__(
        self,
        exchange: Exchange,
        tokens: TokenIssuer,
        faults: Faults,
        hubs: HubPort,
        on_reset: Callable[[], None],
    ) -> None:
        self.exchange = exchange
        self.tokens = tokens
        self.faults = faults
        self.hubs = hubs
        self._on_reset = on_reset

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/sim/price", self._guard(self.price))
        app.router.add_get("/sim/state", self._guard(self.state))
        app.router.add_post("/sim/fault", self._guard(self.fault))
        app.router.add_post("/sim/reset", self._guard(self.reset))

    @staticmethod
    def _guard(handler: Handler) -> Handler:
        async def run(request: web.Request) -> web.Response:
            if not is_loopback(request.remote):
                msg = f"the control API answers loopback peers only, not {request.remote}"
                return web.json_response({"error": msg}, status=403)
            try:
                return await handler(request)
            except BadField as error:
                return bad_input(error)

        return run

    async def price(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        cid = get_str(body, "contractId")
        assert cid is not None
        spec = self.exchange.markets.spec(cid)
        if spec is None:
            raise BadField("contractId", f"unknown contract {cid!r}")
        prices = {
            name: get_decimal(body, name, required=name == "price")
            for name in ("price", "bestBid", "bestAsk")
        }
        for name, value in prices.items():
            if value is not None and (value <= 0 or not aligned(value, spec.tick_size)):
                raise BadField(name, f"{value} is not a positive multiple of {spec.tick_size}")
        price = prices["price"]
        assert price is not None
        self.exchange.set_price(cid, price, prices["bestBid"], prices["bestAsk"])
        quote = wire.quote_model(self.exchange.markets.market(cid))
        return web.json_response({"contractId": cid, "quote": quote})

    async def state(self, request: web.Request) -> web.Response:
        ex = self.exchange
        return web.json_response(
            {
                "accounts": [wire.account_model(a) for a in ex.accounts.values()],
                "positions": [wire.position_model(p) for p in ex.positions.values() if p.net],
                "orders": [wire.order_model(o) for o in ex.orders.values()],
                "trades": [wire.trade_model(t) for t in ex.trades],
            }
        )

    async def fault(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        kind = get_str(body, "kind")
        if kind == "drop_connections":
            await self.hubs.drop_connections()
        elif kind == "expire_tokens":
            self.tokens.expire_all()
        elif kind == "http_status":
            self._http_status(body)
        elif kind == "latency":
            ms = get_int(body, "ms")
            if ms is None or ms < 0:
                raise BadField("ms", f"must be >= 0, got {ms}")
            self.faults.latency_ms = ms
        elif kind == "silence":
            hub, seconds = _hub(body), get_decimal(body, "seconds")
            if seconds is None or seconds <= 0:
                raise BadField("seconds", f"must be > 0, got {seconds}")
            self.hubs.silence(hub, float(seconds))
        elif kind == "hub_down":
            hub, seconds = _hub(body), get_decimal(body, "seconds")
            if seconds is None or seconds <= 0:
                raise BadField("seconds", f"must be > 0, got {seconds}")
            await self.hubs.take_down(hub, float(seconds))
        elif kind == "raw_text":
            hub, text = _hub(body), get_str(body, "text")
            if not text:
                raise BadField("text", "must be a non-empty string, sent as given")
            self.hubs.publish_raw(hub, text)
        elif kind == "can_trade":
            account_id, value = get_int(body, "accountId"), get_bool(body, "value")
            assert account_id is not None and value is not None
            if not self.exchange.set_can_trade(account_id, value):
                raise BadField("accountId", f"no account {account_id}")
        elif kind == "user_frame":
            await self._user_frame(body)
        else:
            raise BadField("kind", f"unknown fault {kind!r}; one of {', '.join(FAULT_KINDS)}")
        return web.json_response({"ok": True, "kind": kind})

    async def _user_frame(self, body: dict[str, Any]) -> None:
        """A raw user-hub frame, sent as given: several records, NaN, wrong types..."""
        target, account_id = get_str(body, "target"), get_int(body, "accountId")
        action = get_int(body, "action", required=False)
        records = body.get("records")
        if target not in USER_TARGETS:
            raise BadField("target", f"must be one of {', '.join(USER_TARGETS)}, got {target!r}")
        if not isinstance(records, list) or not records:
            raise BadField("records", "must be a non-empty array (each record sent as given)")
        assert account_id is not None
        await self.hubs.publish_user_frame(target, account_id, records, action or 0)

    def _http_status(self, body: dict[str, Any]) -> None:
        path, status = get_str(body, "path"), get_int(body, "status")
        count = get_int(body, "count", required=False)
        count = 1 if count is None else count
        if path is None or not path.startswith("/api/"):
            raise BadField("path", f"must be an /api/... path, got {path!r}")
        if status is None or not 100 <= status <= 599:
            raise BadField("status", f"must be an HTTP status 100..599, got {status}")
        if count <= 0:
            raise BadField("count", f"must be > 0, got {count}")
        self.faults.http_status[path] = [status, count]

    async def reset(self, request: web.Request) -> web.Response:
        self._on_reset()
        return web.json_response({"ok": True})
