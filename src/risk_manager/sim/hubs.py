"""The simulator's SignalR hub server: /hubs/user and /hubs/market, as ProjectX serves them.

Speaks the JSON hub protocol over aiohttp WebSockets (projectx-gateway-api.md §7 and §9):
negotiate v0/v1, token from the `access_token` query parameter or `Authorization: Bearer`,
handshake, Completions for invocations with an id, pings, and per-connection subscriptions.
Events are encoded once per publish and fanned out to per-connection bounded queues. A
connection whose session token stops being valid (logout, expiry, the `expire_tokens` fault)
gets `GatewayLogout` and is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Hashable
from typing import Any

from aiohttp import WSMsgType, web

from risk_manager.signalr import PING_RECORD, MessageType, ProtocolError, RecordBuffer
from risk_manager.sim.client_connection import ClientConnection
from risk_manager.sim.hub_methods import (
    LOGOUT_TARGET,
    Call,
    Subscriptions,
    bind_invocation,
    depth_key,
    depth_subscription,
    market_trades_key,
    quote_key,
    user_event_key,
)
from risk_manager.sim.signalr_protocol import (
    ERROR_CLOSE_RECORD,
    HANDSHAKE_OK,
    PLAIN_CLOSE_RECORD,
    completion_record,
    handshake_error,
    handshake_error_record,
    invocation_record,
    parse_record,
)
from risk_manager.types import Monotonic

_log = logging.getLogger(__name__)

DepthSnapshots = Callable[[str], list[dict[str, Any]] | None]
HUBS = ("user", "market")
MAX_CLIENT_FRAME_BYTES = 1024 * 1024
_HANDSHAKE_TIMEOUT_S = 15.0
_YIELD_AT_BACKLOG = 256  # one writer batch
# GatewayLogout (no arguments: none are known), then a Close a client may reconnect after, in
# one frame: the session is over, whatever was still queued for it is not sent.
LOGOUT_FRAME = invocation_record(LOGOUT_TARGET, []) + ERROR_CLOSE_RECORD


async def _receive_text(ws: web.WebSocketResponse) -> str | None:
    """The next text (or UTF-8 binary) message, or None once the socket is closing."""
    msg = await ws.receive()
    if msg.type == WSMsgType.TEXT:
        text: str = msg.data
        return text
    if msg.type == WSMsgType.BINARY:
        return bytes(msg.data).decode("utf-8", errors="replace")
    return None


def request_token(request: web.Request) -> str | None:
    """The first `access_token` query value, else the `Authorization: Bearer` token (§7.1)."""
    tokens = request.query.getall("access_token", [])
    if tokens and tokens[0]:
        return tokens[0]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class HubServer:
    def __init__(
        self,
        validate_token: Callable[[str], bool],
        *,
        ping_interval: float = 15.0,
        max_pending: int = 10_000,
        clock: Monotonic = time.monotonic,
    ) -> None:
        self._validate_token = validate_token
        self._ping_interval = ping_interval
        self._max_pending = max_pending
        self._clock = clock
        self._connections: dict[str, set[ClientConnection]] = {hub: set() for hub in HUBS}
        self._subscriptions: Subscriptions[ClientConnection] = Subscriptions()
        self._silenced_until: dict[str, float] = {}
        self._down_until: dict[str, float] = {}
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._ping_task: asyncio.Task[None] | None = None
        self._depth_snapshots: DepthSnapshots | None = None

    # -- wiring -------------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        for hub in HUBS:
            app.router.add_post(f"/hubs/{hub}/negotiate", self._negotiate)
            app.router.add_get(f"/hubs/{hub}", self._make_ws_handler(hub))

    def set_depth_snapshots(self, source: DepthSnapshots) -> None:
        """Where a new ``SubscribeContractMarketDepth`` subscriber's first ``GatewayDepth``
        comes from: ``source(contract_id)`` gives the entries (None: send nothing)."""
        self._depth_snapshots = source

    def connection_count(self, hub: str | None = None) -> int:
        if hub is None:
            return sum(len(conns) for conns in self._connections.values())
        return len(self._connections[self._check_hub(hub)])

    # -- publishing ---------------------------------------------------------------------------

    async def publish_user(
        self, target: str, account_id: int, data: dict[str, Any], action: int
    ) -> None:
        await self.publish_user_frame(target, account_id, [data], action)

    async def publish_user_frame(
        self, target: str, account_id: int, records: list[Any], action: int
    ) -> None:
        """One user-hub frame with ``records`` as its arguments, each wrapped as
        ``{action, data}`` and sent as given (``/sim/fault`` ``user_frame``: the gateway sends
        one record a frame; a test sends several, or bad ones)."""
        wrapped = [{"action": action, "data": record} for record in records]
        await self._fan_out("user", user_event_key(target, account_id), target, wrapped)

    async def publish_quote(self, contract_id: str, data: dict[str, Any]) -> None:
        await self._fan_out("market", quote_key(contract_id), "GatewayQuote", [contract_id, data])

    async def publish_market_trades(self, contract_id: str, prints: list[dict[str, Any]]) -> None:
        key = market_trades_key(contract_id)
        await self._fan_out("market", key, "GatewayTrade", [contract_id, prints])

    async def publish_depth(self, contract_id: str, entries: list[dict[str, Any]]) -> None:
        key = depth_key(contract_id)
        await self._fan_out("market", key, "GatewayDepth", [contract_id, entries])

    async def _fan_out(self, hub: str, key: Hashable, target: str, arguments: list[Any]) -> None:
        subscribers = self._subscriptions.subscribers(key)
        if not subscribers or self._is_silenced(hub):
            return
        record = invocation_record(target, arguments)  # once, shared by every subscriber
        backlogged = False
        for conn in subscribers:
            if not conn.offer(record):
                self._drop_slow(conn)
            backlogged = backlogged or conn.backlog >= _YIELD_AT_BACKLOG
        if backlogged:
            # A publisher looping over a burst would otherwise starve the writer tasks and get
            # healthy subscribers dropped; one yield per event lets each writer send a batch.
            await asyncio.sleep(0)

    def _drop_slow(self, conn: ClientConnection) -> None:
        _log.warning(
            "hub %s connection %s cannot keep up (%d records queued); dropping it",
            conn.hub,
            conn.connection_id,
            self._max_pending,
        )
        conn.request_close(ERROR_CLOSE_RECORD)  # at once, so later events are not queued
        # A stuck socket cannot take the Close either: abort it after a short grace.
        drop = conn.shutdown(ERROR_CLOSE_RECORD, grace_s=1.0)
        self._spawn(drop, f"hub-drop-{conn.connection_id}")

    # -- faults -------------------------------------------------------------------------------

    async def drop_connections(self) -> None:
        """Send Close with an error (reconnect allowed) and close every hub socket."""
        await self._close_all(ERROR_CLOSE_RECORD)

    def log_out_ended_sessions(self) -> int:
        """Send ``GatewayLogout`` on every connection (both hubs) whose token no longer
        validates, then close it; the number of connections logged out. Called when a token is
        revoked or expired at once, and on every ping tick for tokens that ran out."""
        ended = [
            conn
            for conns in self._connections.values()
            for conn in conns
            if not self._validate_token(conn.token)
        ]
        for conn in ended:
            _log.info(
                "hub %s connection %s: session ended; GatewayLogout", conn.hub, conn.connection_id
            )
            conn.request_close(LOGOUT_FRAME)
        return len(ended)

    def silence(self, hub: str, seconds: float) -> None:
        """Keep the hub's sockets open (pings continue) but publish nothing for `seconds`."""
        self._silenced_until[self._check_hub(hub)] = self._clock() + seconds

    def _is_silenced(self, hub: str) -> bool:
        until = self._silenced_until.get(hub)
        return until is not None and self._clock() < until

    async def take_down(self, hub: str, seconds: float) -> None:
        """Close the hub's sockets (Close with an error) and refuse new ones with HTTP 503
        for ``seconds``: a hub that is down, not merely silent."""
        self._down_until[self._check_hub(hub)] = self._clock() + seconds
        await self._close_all(ERROR_CLOSE_RECORD, hub)

    def _is_down(self, hub: str) -> bool:
        until = self._down_until.get(hub)
        return until is not None and self._clock() < until

    def publish_raw(self, hub: str, text: str) -> None:
        """Queue ``text`` as given on every socket of the hub: a record that is not JSON, a
        lone separator... (it may share a WebSocket frame with other records)."""
        for conn in self._connections[self._check_hub(hub)]:
            if not conn.offer(text):
                self._drop_slow(conn)

    async def close(self) -> None:
        """Close every socket and stop every task (for `app.on_shutdown`)."""
        if self._ping_task is not None:
            self._ping_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ping_task
            self._ping_task = None
        await self._close_all(PLAIN_CLOSE_RECORD)
        for task in list(self._side_tasks):
            task.cancel()
        await asyncio.gather(*self._side_tasks, return_exceptions=True)

    async def _close_all(self, close_record: str, hub: str | None = None) -> None:
        conns = [
            conn
            for name, hub_conns in self._connections.items()
            if hub in (None, name)
            for conn in hub_conns
        ]
        await asyncio.gather(*(conn.shutdown(close_record) for conn in conns))
        # Let their handlers unregister them, so connection_count() is 0 when this returns.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5.0):
                await asyncio.gather(*(conn.forgotten.wait() for conn in conns))

    # -- HTTP ---------------------------------------------------------------------------------

    def _authorize(self, request: web.Request) -> str:
        """The request's valid session token; HTTP 503 while the hub is down (``take_down``),
        HTTP 401 without a valid token."""
        hub = request.path.removeprefix("/hubs/").split("/")[0]  # /hubs/<hub>[/negotiate]
        if self._is_down(hub):
            raise web.HTTPServiceUnavailable(text=f"hub {hub} is down")
        token = request_token(request)
        if token is None or not self._validate_token(token):
            raise web.HTTPUnauthorized(text="missing or invalid access token")
        return token

    async def _negotiate(self, request: web.Request) -> web.Response:
        self._authorize(request)
        try:
            requested = int(request.query.get("negotiateVersion", "0"))
        except ValueError:
            requested = 0
        version = 1 if requested >= 1 else 0
        body: dict[str, Any] = {
            "connectionId": secrets.token_urlsafe(16),
            "negotiateVersion": version,
            "availableTransports": [
                {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
            ],
        }
        if version == 1:
            body["connectionToken"] = secrets.token_urlsafe(16)
        return web.json_response(body)

    def _make_ws_handler(self, hub: str) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.StreamResponse:
            token = self._authorize(request)
            return await self._serve(hub, request, token)

        return handler

    async def _serve(self, hub: str, request: web.Request, token: str) -> web.WebSocketResponse:
        # timeout: how long close() waits for the peer's close frame.
        ws = web.WebSocketResponse(max_msg_size=MAX_CLIENT_FRAME_BYTES, autoping=True, timeout=2.0)
        await ws.prepare(request)
        inbox = RecordBuffer(MAX_CLIENT_FRAME_BYTES)
        rest = await self._handshake(ws, inbox)
        if rest is None:
            return ws
        # The `id` from negotiate is accepted whatever it is: nothing is kept per connection id.
        conn = ClientConnection(hub, secrets.token_hex(8), request, ws, self._max_pending, token)
        self._connections[hub].add(conn)
        self._ensure_pinger()
        try:
            if self._handle_records(conn, rest):
                while (text := await _receive_text(ws)) is not None:
                    try:
                        records = inbox.feed(text)
                    except ProtocolError as exc:
                        _log.warning("hub %s connection %s: %s", hub, conn.connection_id, exc)
                        conn.request_close(ERROR_CLOSE_RECORD)
                        break
                    if not self._handle_records(conn, records):
                        break
        finally:
            self._forget(conn)
            await conn.shutdown(None)
        return ws

    async def _handshake(self, ws: web.WebSocketResponse, inbox: RecordBuffer) -> list[str] | None:
        """Reply to the handshake; the records that followed it, or None if it failed."""
        records: list[str] = []
        try:
            async with asyncio.timeout(_HANDSHAKE_TIMEOUT_S):
                while not records:
                    text = await _receive_text(ws)
                    if text is None:
                        return None
                    records = inbox.feed(text)
        except (TimeoutError, ProtocolError):
            await ws.close()
            return None
        error = handshake_error(records[0])
        if error is not None:
            await ws.send_str(handshake_error_record(error))
            await ws.close()
            return None
        await ws.send_str(HANDSHAKE_OK)  # before anything else is sent on this socket
        return records[1:]

    def _forget(self, conn: ClientConnection) -> None:
        self._connections[conn.hub].discard(conn)
        self._subscriptions.forget(conn)
        conn.forgotten.set()

    # -- incoming messages --------------------------------------------------------------------

    def _handle_records(self, conn: ClientConnection, records: list[str]) -> bool:
        """Act on client records; False when the connection should end."""
        for record in records:
            try:
                message = parse_record(record)
            except ProtocolError as exc:
                _log.warning("hub %s connection %s: %s", conn.hub, conn.connection_id, exc)
                conn.request_close(ERROR_CLOSE_RECORD)
                return False
            kind = message["type"]
            if kind == MessageType.CLOSE:
                return False
            if kind in (MessageType.INVOCATION, MessageType.STREAM_INVOCATION):
                self._invoke(conn, message)
            # Pings, completions, stream items, cancels, acks: nothing to do.
        return True

    def _invoke(self, conn: ClientConnection, message: dict[str, Any]) -> None:
        raw_id = message.get("invocationId")
        call = bind_invocation(conn.hub, message)
        error = call if isinstance(call, str) else None
        if isinstance(call, str):
            _log.info("hub %s connection %s: %s", conn.hub, conn.connection_id, call)
        else:
            self._subscriptions.apply(conn, call)
        if raw_id is not None:  # no Completion for fire-and-forget sends (§9.4)
            conn.offer(completion_record(str(raw_id), error))
        if not isinstance(call, str):
            self._send_depth_snapshot(conn, call)

    def _send_depth_snapshot(self, conn: ClientConnection, call: Call) -> None:
        """A new depth subscriber gets the whole book at once, so it can build it (§7.4)."""
        contract_id = depth_subscription(call)
        if contract_id is None or self._depth_snapshots is None or self._is_silenced(conn.hub):
            return
        entries = self._depth_snapshots(contract_id)
        if entries:
            conn.offer(invocation_record("GatewayDepth", [contract_id, entries]))

    # -- tasks --------------------------------------------------------------------------------

    def _ensure_pinger(self) -> None:
        if self._ping_task is None or self._ping_task.done():
            self._ping_task = asyncio.create_task(self._ping_loop(), name="hub-pinger")

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self._ping_interval)
            self.log_out_ended_sessions()  # tokens that ran out since the last tick
            for conns in self._connections.values():
                for conn in conns:
                    conn.offer(PING_RECORD)

    def _spawn(self, coro: Any, name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    @staticmethod
    def _check_hub(hub: str) -> str:
        if hub not in HUBS:
            raise ValueError(f"unknown hub {hub!r}: use 'user' or 'market'")
        return hub
