"""One SignalR hub connection with its own supervisor (DESIGN.md library notes).

Speaks the JSON hub protocol over aiohttp's WebSocket instead of wrapping pysignalr: every
(re)connect builds the URL with a fresh token, our loop alone decides when to reconnect, and
nothing logs the URL (which carries ``access_token``). See docs/PROJECTX_CLIENT.md.

The supervisor: connect → handshake → re-invoke every subscription → ``on_connected`` → read
until the socket closes or the watchdog finds it silent → ``on_disconnected`` → capped,
jittered backoff → again. The cap is low (``HOT_BACKOFF_CAP``) whenever the ``hot`` callable
says something is at stake, asked anew at every reconnect: a flapping hub must not leave a
position unwatched for long (docs/RUNTIME.md "Reconnects"). Incoming events are only handed to
the sink (enqueue, never await).
``GatewayLogout`` (the gateway ended the session) is not an event: the connection ends, the
token it used is given up (a fresh login) and the supervisor reconnects.

What cannot be read is counted on the ``WireFaults`` handed in (``faults``, source the hub's
name): a record that is not a JSON object, or longer than ``MAX_FRAME``, under target
``frame`` (the connection ends: the stream can no longer be trusted, and the reconnect makes
the runtime reconcile from REST); an invocation without a string target or an arguments
array under target ``invocation``, skipped alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, NamedTuple, Protocol, Self

import aiohttp
from yarl import URL

from risk_manager.domain.errors import RiskManagerError
from risk_manager.projectx.backoff import backoff_delay
from risk_manager.projectx.wire_faults import WireFaults
from risk_manager.projectx.wire_values import Fault, WireError, shown, type_name
from risk_manager.signalr import (
    HANDSHAKE_REQUEST,
    PING_RECORD,
    MessageType,
    ProtocolError,
    RecordBuffer,
    invocation_record,
    parse_object,
)
from risk_manager.types import Clock, Monotonic, utc_now

_log = logging.getLogger(__name__)

MAX_FRAME = 1 << 20  # depth frames exceed 10 KB on the live gateway (§12.17)
LOGOUT_TARGET = "GatewayLogout"  # sent on both hubs when the session ends (API doc §12b)
BACKOFF_BASE = 0.5  # seconds: the first reconnect waits 0.25 to 0.5 s
BACKOFF_CAP = 30.0  # seconds: the longest wait between reconnects while nothing is at stake
# A flapping hub pushed the wait to 15 s and left a re-entry under a lock open 7-12 s.
HOT_BACKOFF_CAP = 2.0  # seconds: the longest wait while a position or a lock is at stake
HEALTHY_AFTER = 10.0  # seconds connected before the backoff starts again from its base


class HubMessage(NamedTuple):
    hub: str
    target: str
    arguments: list[Any]
    received_at: datetime


Sink = Callable[[HubMessage], None]
"""Called inline in the receive loop: it must only enqueue (e.g. ``queue.put_nowait``).
``asyncio.QueueFull`` from it makes the connection reconnect so the runtime reconciles."""


class TokenSource(Protocol):
    async def get(self) -> str: ...
    async def invalidate(self, rejected: str) -> str: ...


def _describe(exc: BaseException) -> str:
    # aiohttp's exception texts include the request URL, which carries the token: never log them.
    status = getattr(exc, "status", None)
    return f"{type(exc).__name__}" + (f" (HTTP {status})" if status else "")


def hub_url(url: str, token: str) -> URL:
    base = URL(url)
    scheme = {"https": "wss", "http": "ws"}.get(base.scheme, base.scheme)
    return base.with_scheme(scheme).update_query(access_token=token)


class HubConnection:
    """One hub (``name``: "user" or "market") at ``url``, kept connected by its own supervisor
    task between ``async with`` and exit (API doc §7, §9; docs/PROJECTX_CLIENT.md "Hubs").

    ``hot`` (optional) is asked at every reconnect, and at least every ``hot_backoff_cap``
    seconds while waiting for one: while it is true the wait is capped at ``hot_backoff_cap``
    instead of ``backoff_cap`` (seconds). If it raises, the hot cap is taken (fail closed).
    ``failures`` counts the connections in a row that failed or stayed up less than
    ``healthy_after`` seconds; the backoff doubles from ``backoff_base`` with each.
    ``faults`` (optional) counts what the connection cannot read (the module's docstring)."""

    def __init__(
        self,
        name: str,
        url: str,
        tokens: TokenSource,
        sink: Sink,
        *,
        on_connected: Callable[[], None] | None = None,
        on_disconnected: Callable[[str], None] | None = None,
        stale_after: float = 30.0,
        ping_interval: float = 15.0,
        invoke_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        backoff_base: float = BACKOFF_BASE,
        backoff_cap: float = BACKOFF_CAP,
        hot_backoff_cap: float = HOT_BACKOFF_CAP,
        healthy_after: float = HEALTHY_AFTER,
        hot: Callable[[], bool] | None = None,
        clock: Clock = utc_now,
        monotonic: Monotonic = time.monotonic,
        rand: Callable[[], float] = random.random,
        faults: WireFaults | None = None,
    ) -> None:
        self.name = name
        self._url = url
        self._tokens = tokens
        self._sink = sink
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self.stale_after = stale_after
        self._ping_interval = ping_interval
        self._invoke_timeout = invoke_timeout
        self._connect_timeout = connect_timeout
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._hot_backoff_cap = min(hot_backoff_cap, backoff_cap)
        self._hot = hot
        self._healthy_after = healthy_after
        self._clock = clock
        self._monotonic = monotonic
        self._rand = rand
        self._faults = faults
        self._subscriptions: dict[tuple[str, tuple[Any, ...]], None] = {}
        # While a new connection replays the subscriptions: those already sent on it
        self._replayed: set[tuple[str, tuple[Any, ...]]] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._reconnect_reason: str | None = None
        self._logged_out = False  # the server sent GatewayLogout on the current socket
        self.connected = asyncio.Event()
        self.last_message_at = 0.0
        self.connected_at = 0.0
        self._background: set[asyncio.Task[Any]] = set()
        self.connects = 0
        self.attempts = 0
        self.failures = 0
        self.watchdog_checks: list[Callable[[], str | None]] = []

    def __repr__(self) -> str:
        return f"HubConnection({self.name!r}, {self._url!r}, connects={self.connects})"

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession()
        self._supervisor = asyncio.create_task(self._supervise(), name=f"hub-{self.name}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tasks = [t for t in (self._supervisor, *self._background) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    # -- subscriptions -------------------------------------------------------------------

    @property
    def subscriptions(self) -> list[tuple[str, tuple[Any, ...]]]:
        return list(self._subscriptions)

    async def subscribe(self, method: str, *args: Any) -> None:
        """Remember ``method(*args)`` for every future connection; invoke it now if connected."""
        key = (method, args)
        if key in self._subscriptions:
            return  # a second identical subscribe caused conflicts in one SDK (§12.4)
        self._subscriptions[key] = None
        if self.connected.is_set():
            await self.invoke(method, *args)

    async def unsubscribe(self, method: str, unsubscribe_method: str, *args: Any) -> None:
        key = (method, args)
        if key not in self._subscriptions:
            return
        del self._subscriptions[key]
        # Also while a new connection is replaying: one already sent on it is undone there
        # (skipped, it stayed subscribed until the next reconnect).
        if self.connected.is_set() or (self._replayed is not None and key in self._replayed):
            await self.invoke(unsubscribe_method, *args)

    async def invoke(self, method: str, *args: Any) -> bool:
        """Invoke and wait for the Completion; False (logged) on error, timeout or no socket."""
        ws = self._ws
        if ws is None or ws.closed:
            return False
        invocation_id = str(next(self._ids))
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[invocation_id] = future
        try:
            await ws.send_str(invocation_record(method, list(args), invocation_id))
            # asyncio.timeout, not wait_for, here and below: on 3.11 wait_for drops a cancel
            # that arrives with the result (gh-86296), and the hub would then never stop.
            async with asyncio.timeout(self._invoke_timeout):
                completion = await future
        except (TimeoutError, ConnectionError, aiohttp.ClientError) as exc:
            _log.warning("%s hub: %s%s failed: %s", self.name, method, args, _describe(exc))
            return False
        finally:
            self._pending.pop(invocation_id, None)
        if completion.get("error"):
            _log.warning("%s hub: %s%s refused: %s", self.name, method, args, completion["error"])
            return False
        return True

    def spawn(self, coro: Coroutine[Any, Any, object], purpose: str) -> None:
        """Run ``coro`` in a named task this connection owns (cancelled on exit)."""
        task = asyncio.get_running_loop().create_task(coro, name=f"hub-{self.name}-{purpose}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def request_reconnect(self, reason: str) -> None:
        """Drop the current socket; the supervisor reconnects (fresh token, re-subscribe)."""
        self._reconnect_reason = reason
        ws = self._ws
        if ws is not None and not ws.closed:
            self.spawn(ws.close(), "close")

    # -- supervisor ------------------------------------------------------------------------

    def reconnect_cap(self) -> float:
        """The longest wait (seconds) before the next reconnect: the hot cap while ``hot()``
        says a position or a lock is at stake, or cannot tell; else the normal cap."""
        if self._hot is None:
            return self._backoff_cap
        try:
            hot = self._hot()
        except Exception as exc:  # a guard that cannot tell acts as if it mattered
            _log.warning("%s hub: is anything at stake? unknown (%r); assuming so", self.name, exc)
            hot = True
        return self._hot_backoff_cap if hot else self._backoff_cap

    def reconnect_delay(self, jitter: float) -> float:
        """Seconds to wait before reconnecting after ``failures`` bad connections in a row,
        under ``reconnect_cap()``; ``jitter`` in [0, 1) picks the point in the upper half."""
        cap = self.reconnect_cap()
        return backoff_delay(self.failures, base=self._backoff_base, cap=cap, rand=lambda: jitter)

    async def _supervise(self) -> None:
        while True:
            connects = self.connects
            try:
                reason = await self._connect_once()
            except Exception as exc:  # whatever went wrong, the hub must come back
                reason = f"unexpected {_describe(exc)}"  # type only: its text may hold the URL
            # Only time connected counts: a connect, handshake or subscription that hung for
            # healthy_after seconds is no healthy connection.
            was_up = self.connects > connects
            healthy = was_up and self._monotonic() - self.connected_at >= self._healthy_after
            self.failures = 0 if healthy else self.failures + 1
            await self._back_off(reason)

    async def _back_off(self, reason: str) -> None:
        """Wait ``reconnect_delay``, asking the cap again at least every hot cap: an account
        that takes a position or a lock meanwhile cuts a long wait short."""
        loop = asyncio.get_running_loop()
        jitter, started = self._rand(), loop.time()
        delay = self.reconnect_delay(jitter)
        _log.warning("%s hub down (%s); reconnecting in %.2fs", self.name, reason, delay)
        while (left := delay - (loop.time() - started)) > 0:
            await asyncio.sleep(min(left, self._hot_backoff_cap))
            delay = self.reconnect_delay(jitter)

    async def _connect_once(self) -> str:
        assert self._session is not None
        self.attempts += 1
        try:
            token = await self._tokens.get()
        except RiskManagerError as exc:
            return f"no session token: {type(exc).__name__}"
        try:
            async with asyncio.timeout(self._connect_timeout):
                ws = await self._session.ws_connect(
                    hub_url(self._url, token),
                    timeout=aiohttp.ClientWSTimeout(ws_close=self._connect_timeout),
                    heartbeat=20.0,
                    max_msg_size=MAX_FRAME,
                )
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status == 401:
                try:
                    await self._tokens.invalidate(token)
                except RiskManagerError as login_exc:  # the next attempt logs in again
                    return f"connect failed: {_describe(exc)}; login failed: {_describe(login_exc)}"
            return f"connect failed: {_describe(exc)}"
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return f"connect failed: {_describe(exc)}"
        self._reconnect_reason = None
        self._logged_out = False
        try:
            reason = await self._serve(ws)
        except ProtocolError as exc:  # in the handshake or the records that came with it
            reason = self._unreadable(exc)
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            return f"connection failed: {_describe(exc)}"
        finally:
            self._ws = None
            was_connected = self.connected.is_set()
            self.connected.clear()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("hub connection closed"))
            if not ws.closed:
                await ws.close()
            if was_connected and self._on_disconnected is not None:
                self._safe(self._on_disconnected, self.name)
        if self._logged_out:
            return await self._log_in_again(token, reason)
        return reason

    async def _log_in_again(self, token: str, reason: str) -> str:
        """After ``GatewayLogout``: the session of ``token`` is over, so give it up (the token
        source logs in again unless it already holds a newer token) before reconnecting."""
        _log.warning(
            "%s hub: the gateway logged this session out (GatewayLogout); "
            "logging in again and reconnecting",
            self.name,
        )
        try:
            await self._tokens.invalidate(token)
        except RiskManagerError as exc:  # the next attempt logs in again
            return f"{reason}; login failed: {_describe(exc)}"
        return reason

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        inbox = RecordBuffer(MAX_FRAME)  # one per socket: a record may span frames (§9)
        await ws.send_str(HANDSHAKE_REQUEST)
        records: list[str] = []
        async with asyncio.timeout(self._connect_timeout):
            while not records:
                frame = await ws.receive()
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    return "closed during handshake"
                records = inbox.feed(frame.data)
        reply = parse_object(records[0])
        if reply.get("error"):
            return f"handshake refused: {reply['error']}"
        self._ws = ws
        self.last_message_at = self._monotonic()
        if (reason := self._dispatch(records[1:])) is not None:
            return reason
        reader = asyncio.create_task(self._read(ws, inbox), name=f"hub-{self.name}-reader")
        helpers = [
            asyncio.create_task(self._ping(ws), name=f"hub-{self.name}-ping"),
            asyncio.create_task(self._watchdog(), name=f"hub-{self.name}-watchdog"),
        ]
        try:
            done: set[tuple[str, tuple[Any, ...]]] = set()
            self._replayed = done
            # Loop until nothing new: subscribe() calls made meanwhile are replayed too.
            while todo := [key for key in self._subscriptions if key not in done]:
                for key in todo:
                    done.add(key)
                    await self.invoke(key[0], *key[1])
            self._replayed = None
            if not reader.done():
                self.connects += 1
                self.connected_at = self._monotonic()
                self.connected.set()
                _log.info("%s hub connected (%d subscribed)", self.name, len(self._subscriptions))
                if self._on_connected is not None:
                    self._safe(self._on_connected)
            return await reader
        finally:
            self._replayed = None
            for task in (reader, *helpers):
                task.cancel()
            await asyncio.gather(reader, *helpers, return_exceptions=True)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, inbox: RecordBuffer) -> str:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                try:
                    reason = self._dispatch(inbox.feed(msg.data))
                except ProtocolError as exc:
                    return self._unreadable(exc)
                if reason is not None:
                    return reason
            elif msg.type is aiohttp.WSMsgType.ERROR:
                return "socket error"
        return self._reconnect_reason or f"socket closed (code {ws.close_code})"

    def _dispatch(self, records: list[str]) -> str | None:
        """Handle the records a frame completed; a reason string when the connection must end
        (the server said Close, or logged the session out). Numbers with a fraction become
        ``Decimal``; raises ``ProtocolError`` for a record that is not a JSON object."""
        received_at = self._clock()
        # All parsed first, as before frames were buffered: a bad record delivers none of its batch.
        for record in [parse_object(text, parse_float=Decimal) for text in records]:
            self.last_message_at = self._monotonic()
            kind = record.get("type")
            if kind == MessageType.INVOCATION:
                target = record.get("target")
                arguments = record.get("arguments")
                if target == LOGOUT_TARGET:
                    self._logged_out = True
                    return "gateway logged the session out (GatewayLogout)"
                if isinstance(target, str) and isinstance(arguments, list):
                    self._deliver(HubMessage(self.name, target, arguments, received_at))
                else:
                    self._malformed_invocation(target, arguments)
            elif kind == MessageType.COMPLETION:
                future = self._pending.get(str(record.get("invocationId")))
                if future is not None and not future.done():
                    future.set_result(record)
            elif kind == MessageType.CLOSE:
                return f"server closed: {record.get('error') or 'no error'}"
        return None

    def _reject(self, target: str, error: WireError) -> None:
        if self._faults is not None:
            self._faults.reject(self.name, target, error)

    def _unreadable(self, exc: ProtocolError) -> str:
        """Count a record the protocol cannot read; the reason to end the connection."""
        self._reject("frame", WireError("record", Fault.MALFORMED, str(exc)))
        return f"protocol error: {exc}"

    def _malformed_invocation(self, target: object, arguments: object) -> None:
        # One label, whatever the target: a peer must not mint /metrics series at will.
        if isinstance(target, str):
            field, detail = (
                "arguments",
                f"{shown(target)}: expected an array, got {type_name(arguments)}",
            )
        else:
            field, detail = "target", f"expected a string, got {type_name(target)}"
        self._reject("invocation", WireError(field, Fault.MALFORMED, detail))

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while not ws.closed:
            await asyncio.sleep(self._ping_interval)
            with contextlib.suppress(ConnectionError, aiohttp.ClientError):
                await ws.send_str(PING_RECORD)

    async def _watchdog(self) -> None:
        interval = min(1.0, self.stale_after / 4)
        while True:
            await asyncio.sleep(interval)
            if self._monotonic() - self.last_message_at > self.stale_after:
                self.request_reconnect(f"silent for more than {self.stale_after:g}s")
                return
            for check in self.watchdog_checks:
                reason = check()
                if reason is not None:
                    self.request_reconnect(reason)
                    return

    def _deliver(self, message: HubMessage) -> None:
        try:
            self._sink(message)
        except asyncio.QueueFull:
            # Events are lost now; a reconnect makes the runtime reconcile from REST.
            _log.error(
                "%s hub: event queue full, dropped %s; reconnecting", self.name, message.target
            )
            self.request_reconnect("event queue full")
        except Exception:
            _log.exception("%s hub: sink failed on %s", self.name, message.target)

    def _safe(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            _log.exception("%s hub: callback %r failed", self.name, callback)
