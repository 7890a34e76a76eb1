"""A retrying queue for one alert channel that has no outbox (email, the desktop): one worker
sends the queue in order; a failed send is retried with capped backoff and equal jitter until
it succeeds or the alert is ``keep`` old (then given up with one ERROR line). ``submit`` never
waits and never raises, so a slow or dead channel never holds enforcement up. The queue is
bounded: past ``MAX_WAITING`` the oldest alert is dropped, and counted in the log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

from risk_manager.domain.actions import Alert, action_to_dict
from risk_manager.projectx.backoff import backoff_delay
from risk_manager.types import Clock

_log = logging.getLogger("risk_manager.alerts")

MAX_WAITING = 1000  # alerts queued per channel at most
SHUTDOWN_GRACE = 2.0  # seconds the queue gets to empty at shutdown
_SAID_AT = frozenset({1, 10, 100, 1000})  # failures in a row that are logged

Send = Callable[[dict[str, Any]], Awaitable[None]]
"""Delivers one alert's JSON; raises on failure (its message must hold no secret)."""


@dataclass(slots=True)
class _Item:
    body: dict[str, Any]
    queued_at: datetime
    attempts: int = 0


class RetryingChannel:
    """The queue and worker of channel ``name`` over ``send``; an async context manager.
    ``sent`` counts alerts delivered, ``given_up`` those dropped or too old."""

    def __init__(
        self,
        name: str,
        send: Send,
        *,
        keep: timedelta,
        clock: Clock,
        retry_base: float,
        retry_cap: float,
    ) -> None:
        self.name = name
        self._send = send
        self._keep = keep
        self._clock = clock
        self._retry_base = retry_base
        self._retry_cap = retry_cap
        self._queue: deque[_Item] = deque()
        self._queued = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.given_up = 0

    @property
    def waiting(self) -> int:
        """Alerts not yet sent."""
        return len(self._queue)

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._work(), name=f"alert-{self.name}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SHUTDOWN_GRACE):
                await self._idle.wait()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._queue:
            _log.error(
                "alert %s: %d alert(s) unsent at shutdown: lost", self.name, len(self._queue)
            )

    def submit(self, alert: Alert) -> None:
        """Queue ``alert``; never waits, never raises."""
        try:
            if len(self._queue) >= MAX_WAITING:
                self._queue.popleft()
                self.given_up += 1
                _log.error("alert %s: queue full, the oldest alert dropped", self.name)
            self._queue.append(_Item(action_to_dict(alert), self._clock()))
            self._idle.clear()
            self._queued.set()
        except Exception:  # a bug here must never reach enforcement
            _log.exception("alert %s: alert %s not queued", self.name, alert.rule)

    async def _work(self) -> None:
        failures = 0  # in a row: the backoff is the channel's, not one alert's
        while True:
            if not self._queue:
                self._idle.set()
                self._queued.clear()
                await self._queued.wait()
                continue
            item = self._queue[0]
            if self._clock() - item.queued_at > self._keep:
                self._queue.popleft()
                self.given_up += 1
                _log.error(
                    "alert %s: gave up %s %s after %d attempt(s): unsent for longer than "
                    "alerts.keep_undelivered",
                    self.name,
                    item.body.get("rule"),
                    item.body.get("reason"),
                    item.attempts,
                )
                continue
            item.attempts += 1
            try:
                await self._send(item.body)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the worker outlives anything a send raises
                failures += 1
                if failures in _SAID_AT:
                    _log.warning(
                        "alert %s failed (%s: %s), %d time(s) in a row; %d alert(s) waiting, "
                        "retried with backoff up to %gs",
                        self.name,
                        type(exc).__name__,
                        exc,
                        failures,
                        len(self._queue),
                        self._retry_cap,
                    )
                await asyncio.sleep(
                    backoff_delay(failures - 1, base=self._retry_base, cap=self._retry_cap)
                )
                continue
            self._queue.popleft()
            self.sent += 1
            if failures:
                _log.info("alert %s sending again after %d failure(s)", self.name, failures)
            failures = 0
