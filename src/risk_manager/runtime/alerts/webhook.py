"""The webhook alert channel, fed by a durable outbox (docs/ALERTS.md, docs/RUNTIME.md "Alert
delivery"); the body is the alert's JSON (``generic``) or a Slack or Discord message.

``submit`` never waits and never raises. It queues the alert in memory for the webhook and
hands its row to the store's outbox (``alert_outbox``) through one background writer. One
worker posts the queue in order: a failed post (an HTTP status ≥ 300, a refused connection, a
timeout) is retried with capped backoff and equal jitter, 1 s doubling to 60 s, for as long as
it takes; the head of the queue holds the others back, so alerts arrive in the order raised. A
delivered alert is marked delivered (kept ``KEEP_DELIVERED`` for the record, then pruned); one
older than ``alerts.keep_undelivered`` is given up with one ERROR line. After a restart the
alerts the store still holds undelivered are sent first.

The store never holds an alert back: the queue lives in memory first and the rows are written
by :class:`~risk_manager.runtime.durable.DurableWrites` (retried until they land, in order: a row
is added before it is marked delivered). Each body carries an ``id``: a post whose reply was
lost is sent again, and the receiver can drop the repeat by it. The URL never appears in logs:
it usually holds a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from types import TracebackType
from typing import Any, Self

import aiohttp

from risk_manager.config.durations import format_duration
from risk_manager.domain.actions import Alert, action_to_dict
from risk_manager.projectx.backoff import backoff_delay
from risk_manager.runtime.alerts.text import WebhookFormat, webhook_body
from risk_manager.runtime.durable import DurableWrites
from risk_manager.store.ports import OutboxStore
from risk_manager.types import Clock, utc_now

_log = logging.getLogger("risk_manager.alerts")

RETRY_BASE = 1.0  # seconds: the first wait after a failed post
RETRY_CAP = 60.0  # seconds: the longest wait between posts while the webhook fails
TIMEOUT = 10.0  # seconds one post may take
KEEP_DELIVERED = timedelta(days=7)  # delivered and given-up rows, for the record
PRUNE_EVERY = 3600.0  # seconds between prunes of those rows
SHUTDOWN_GRACE = 2.0  # seconds the queue and the writer get to finish at shutdown
_SAID_AT = frozenset({1, 10, 100, 1000, 10_000})  # failures in a row that are logged


@dataclass(slots=True)
class _Pending:
    """One alert waiting for the webhook."""

    alert_id: str
    account_id: int
    severity: str
    body: dict[str, Any]
    created_at: datetime
    attempts: int = 0
    last_error: str | None = None
    stored: bool = False  # its outbox row has landed


@dataclass(frozen=True, slots=True)
class _Write:
    """One outbox write, run off the event loop; ``landed`` runs on the loop once it has."""

    fn: Callable[[], object]
    what: str
    landed: Callable[[], None] | None = None


class Webhook:
    """The webhook channel of one daemon; an async context manager (its worker and the
    outbox's writer run inside it).

    ``url`` is posted to (never logged: it usually holds a token) with bodies in ``fmt``;
    ``keep``: how long an undelivered alert is tried; ``outbox`` is the store (None: the queue
    is kept in memory only); ``clock`` gives aware instants (when an alert was queued,
    delivered, given up); ``retry_base`` and ``retry_cap`` (seconds) shape the backoff between
    failed posts; ``run_blocking`` runs a store write off the loop. ``delivered`` counts posts
    the webhook took; ``waiting`` is the queue's length."""

    def __init__(
        self,
        url: str,
        keep: timedelta,
        outbox: OutboxStore | None = None,
        *,
        fmt: WebhookFormat = "generic",
        clock: Clock = utc_now,
        timeout: float = TIMEOUT,
        retry_base: float = RETRY_BASE,
        retry_cap: float = RETRY_CAP,
        run_blocking: Callable[..., Awaitable[Any]] = asyncio.to_thread,
    ) -> None:
        self._url = url
        self._format = fmt
        self._keep = keep
        self._outbox = outbox
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retry_base = retry_base
        self._retry_cap = retry_cap
        self._run_blocking = run_blocking
        self._session: aiohttp.ClientSession | None = None
        self._queue: deque[_Pending] = deque()
        self._queued = asyncio.Event()
        self._writes: deque[_Write] = deque()
        self._written = asyncio.Event()
        self._progress = asyncio.Event()  # an alert left the queue or a write landed
        self._kept: set[asyncio.Future[Any]] = set()
        self._durable = DurableWrites(run_blocking=run_blocking, keep=self._hold)
        self._tasks: list[asyncio.Task[None]] = []
        self.delivered = 0

    @property
    def waiting(self) -> int:
        """Alerts not yet delivered to the webhook (0 without one)."""
        return len(self._queue)

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        if self._outbox is not None:
            await self._load()
            self._tasks.append(asyncio.create_task(self._write_all(), name="alert-outbox"))
        self._tasks.append(asyncio.create_task(self._deliver_all(), name="alert-webhook"))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._settle(SHUTDOWN_GRACE)
        for task in [*self._tasks, *self._kept]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._kept, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._queue:
            lost = sum(1 for item in self._queue if not item.stored)
            kept = len(self._queue) - lost
            if kept:
                _log.warning(
                    "alert webhook: %d alert(s) undelivered at shutdown, kept in the store: "
                    "sent after the restart",
                    kept,
                )
            if lost:
                _log.error(
                    "alert webhook: %d alert(s) undelivered at shutdown and not in the store "
                    "(it took no write): lost",
                    lost,
                )

    def submit(self, alert: Alert) -> None:
        """Queue ``alert`` for the webhook (and its outbox row); never waits, never raises."""
        try:
            self._enqueue(alert)
        except Exception:  # a bug here must never reach enforcement
            _log.exception("alert %s of account %s not queued", alert.rule, alert.account_id)

    def _enqueue(self, alert: Alert) -> None:
        alert_id = uuid.uuid4().hex
        body = action_to_dict(alert) | {"id": alert_id}
        item = _Pending(alert_id, alert.account_id, alert.severity.value, body, self._clock())
        self._queue.append(item)
        self._queued.set()
        if self._outbox is not None:
            add = partial(
                self._outbox.outbox_add,
                alert_id,
                item.account_id,
                item.severity,
                body,
                item.created_at,
            )
            self._write(_Write(add, "an alert", partial(self._stored, item)))

    # -- the webhook --------------------------------------------------------------------------

    async def _deliver_all(self) -> None:
        """The one worker: posts the head of the queue until it is taken or given up."""
        failures = 0  # in a row, across alerts: the backoff is the webhook's, not an alert's
        while True:
            if not self._queue:
                self._queued.clear()
                await self._queued.wait()
                continue
            item = self._queue[0]
            if self._clock() - item.created_at > self._keep:
                self._give_up(item)
                continue
            problem = await self._post(item)
            item.attempts += 1
            if problem is None:
                self._delivered(item, failures)
                failures = 0
                continue
            item.last_error = problem
            failures += 1
            if failures in _SAID_AT:
                _log.warning(
                    "alert webhook failed (%s), %d time(s) in a row; %d alert(s) waiting, "
                    "retried with backoff up to %gs",
                    problem,
                    failures,
                    len(self._queue),
                    self._retry_cap,
                )
            await asyncio.sleep(
                backoff_delay(failures - 1, base=self._retry_base, cap=self._retry_cap)
            )

    async def _post(self, item: _Pending) -> str | None:
        """None when the webhook took it; else why not (never the URL)."""
        assert self._session is not None
        try:
            body = webhook_body(self._format, item.body)
            async with self._session.post(self._url, json=body) as reply:
                return None if reply.status < 300 else f"HTTP {reply.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return type(exc).__name__  # never str(exc): it names the URL
        except Exception as exc:  # the worker must outlive anything a post can raise
            return f"unexpected {type(exc).__name__}"

    def _delivered(self, item: _Pending, failures: int) -> None:
        self._queue.popleft()
        self._progress.set()
        self.delivered += 1
        if failures:
            _log.info(
                "alert webhook delivering again after %d failed attempt(s); %d alert(s) waiting",
                failures,
                len(self._queue),
            )
        if self._outbox is not None:
            done = partial(
                self._outbox.outbox_delivered,
                item.alert_id,
                self._clock(),
                item.attempts,
                item.last_error,
            )
            self._write(_Write(done, "an alert's delivery"))

    def _give_up(self, item: _Pending) -> None:
        self._queue.popleft()
        self._progress.set()
        error = item.last_error or "never tried"
        _log.error(
            "alert webhook: gave up alert %s (account %s %s, %s, raised %s) after %d attempt(s): "
            "undelivered for longer than alerts.keep_undelivered (%s); last error: %s",
            item.alert_id,
            item.account_id,
            item.body.get("rule"),
            item.severity,
            item.created_at.isoformat(timespec="seconds"),
            item.attempts,
            format_duration(self._keep),
            error,
        )
        if self._outbox is not None:
            given_up = partial(
                self._outbox.outbox_given_up, item.alert_id, self._clock(), item.attempts, error
            )
            self._write(_Write(given_up, "an alert given up"))

    # -- the outbox ---------------------------------------------------------------------------

    async def _load(self) -> None:
        """Queue what an earlier run left undelivered, ahead of anything new."""
        assert self._outbox is not None
        try:
            entries = await self._run_blocking(self._outbox.outbox_pending)
        except Exception as exc:  # the guard starts anyway: new alerts still go out
            _log.error(
                "alert outbox: undelivered alerts not read (%s: %s); new alerts are sent",
                type(exc).__name__,
                exc,
            )
            return
        for entry in entries:
            self._queue.append(
                _Pending(
                    entry.alert_id,
                    entry.account_id,
                    entry.severity,
                    entry.body,
                    entry.created_at,
                    entry.attempts,
                    entry.last_error,
                    stored=True,
                )
            )
        if entries:
            self._queued.set()
            _log.warning(
                "alert outbox: %d alert(s) undelivered before the restart; sending them first",
                len(entries),
            )

    def _write(self, write: _Write) -> None:
        self._writes.append(write)
        self._written.set()

    def _stored(self, item: _Pending) -> None:
        item.stored = True

    async def _write_all(self) -> None:
        """The one writer: each write lands (retried until it does) before the next starts."""
        assert self._outbox is not None
        loop = asyncio.get_running_loop()
        prune_at = loop.time()  # at start, then every PRUNE_EVERY
        while True:
            if loop.time() >= prune_at:
                prune_at = loop.time() + PRUNE_EVERY
                cutoff = self._clock() - KEEP_DELIVERED
                self._write(_Write(partial(self._outbox.outbox_prune, cutoff), "an outbox prune"))
            if not self._writes:
                self._written.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, prune_at - loop.time())):
                        await self._written.wait()
                continue
            write = self._writes[0]
            landed: asyncio.Future[None] = loop.create_future()
            ok, _ = await self._durable.soon(
                write.fn, what=write.what, then=partial(_resolve, landed)
            )
            if not ok:
                await landed  # retried by DurableWrites until it lands: order is kept
            self._writes.popleft()
            self._progress.set()
            if write.landed is not None:
                write.landed()

    def _hold(self, task: asyncio.Future[Any]) -> None:
        self._kept.add(task)
        task.add_done_callback(self._kept.discard)

    async def _settle(self, within: float) -> None:
        """Wait up to ``within`` seconds for the queue and the writes to empty."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self._tasks and (self._queue or self._writes) and loop.time() < deadline:
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(deadline - loop.time()):
                    await self._progress.wait()


def _resolve(future: asyncio.Future[None], _result: object) -> None:
    if not future.done():
        future.set_result(None)
