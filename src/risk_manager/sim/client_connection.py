"""One client's WebSocket connection to a simulated hub: its bounded send queue and writer task.

(The daemon's own connection to a hub is ``projectx.hub_connection.HubConnection``.)"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from aiohttp import web

_log = logging.getLogger(__name__)

# Records sent in one WebSocket frame at most, and roughly how many characters; batching keeps
# throughput up, the cap keeps frames well under the clients' 1 MiB limit.
_BATCH_RECORDS = 256
_BATCH_CHARS = 64 * 1024
_CLOSE_TIMEOUT_S = 3.0


class ClientConnection:
    """Sends records in order through one writer task, so a slow socket blocks only itself."""

    def __init__(
        self,
        hub: str,
        connection_id: str,
        request: web.Request,
        ws: web.WebSocketResponse,
        max_pending: int,
        token: str,
    ) -> None:
        self.hub = hub
        self.connection_id = connection_id
        self.token = token  # the session it authenticated with, checked again later
        self._request = request
        self._ws = ws
        self._max_pending = max_pending
        self._pending: deque[str] = deque()
        self._wakeup = asyncio.Event()
        self._close_record: str | None = None
        self._closing = False
        self.forgotten = asyncio.Event()  # set once the server has unregistered the connection
        self._writer = asyncio.create_task(self._write_loop(), name=f"hub-writer-{connection_id}")

    @property
    def backlog(self) -> int:
        """Records queued and not yet handed to the socket."""
        return len(self._pending)

    def offer(self, record: str) -> bool:
        """Queue a record; False when the queue is full (the caller drops the connection)."""
        if self._closing:
            return True
        if len(self._pending) >= self._max_pending:
            return False
        self._pending.append(record)
        self._wakeup.set()
        return True

    def request_close(self, close_record: str | None) -> None:
        """Discard what is queued, send `close_record` (if any) and close the socket."""
        if self._closing:
            return
        self._closing = True
        self._close_record = close_record
        self._pending.clear()
        self._wakeup.set()

    async def shutdown(self, close_record: str | None, grace_s: float = _CLOSE_TIMEOUT_S) -> None:
        """Close and wait for the writer; a socket that cannot even take the close is aborted."""
        self.request_close(close_record)
        try:
            await asyncio.wait_for(asyncio.shield(self._writer), grace_s)
        except TimeoutError:
            _log.warning("hub connection %s did not close in time; aborting", self.connection_id)
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self.abort()

    def abort(self) -> None:
        transport = self._request.transport
        if transport is not None:
            transport.abort()

    async def _write_loop(self) -> None:
        ws = self._ws
        try:
            while not self._closing:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._pending and not self._closing:
                    await ws.send_str(self._take_batch())
            if self._close_record is not None and not ws.closed:
                await ws.send_str(self._close_record)
            await ws.close()
        except (ConnectionError, RuntimeError) as exc:
            # The peer went away mid-send; the handler's receive loop sees the close too.
            _log.debug("hub connection %s send failed: %s", self.connection_id, exc)
            self._closing = True
            self._pending.clear()

    def _take_batch(self) -> str:
        pending = self._pending
        parts = [pending.popleft()]
        size = len(parts[0])
        while pending and len(parts) < _BATCH_RECORDS and size + len(pending[0]) <= _BATCH_CHARS:
            record = pending.popleft()
            parts.append(record)
            size += len(record)
        return "".join(parts)
