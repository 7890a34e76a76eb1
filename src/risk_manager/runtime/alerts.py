"""Alert channels (RULES.md §5): the log and, when configured, a webhook.

A webhook POST runs in the background and never delays enforcement; a failed delivery is
logged without the URL (it usually holds a token) and retried a few times.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType
from typing import Self

import aiohttp

from risk_manager.config.sections import AlertsConfig
from risk_manager.domain.actions import Alert, Severity, action_to_dict

_log = logging.getLogger("risk_manager.alerts")

_LEVELS = {
    Severity.INFO: logging.INFO,
    Severity.WARNING: logging.WARNING,
    Severity.CRITICAL: logging.CRITICAL,
}
ATTEMPTS = 3


class AlertChannels:
    def __init__(self, config: AlertsConfig, *, timeout: float = 5.0) -> None:
        self._log_alerts = config.log
        self._url = config.webhook_url.get_secret_value() if config.webhook_url else None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.delivered = 0

    async def __aenter__(self) -> Self:
        if self._url is not None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._tasks:  # give deliveries in flight a moment, then give up
            await asyncio.wait(set(self._tasks), timeout=2.0)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def send(self, alert: Alert) -> None:
        if self._log_alerts:
            _log.log(
                _LEVELS[alert.severity],
                "account %s %s: %s",
                alert.account_id,
                alert.rule,
                alert.reason,
            )
        if self._session is not None:
            task = asyncio.create_task(self._post(action_to_dict(alert)), name="alert-webhook")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _post(self, body: dict[str, object]) -> None:
        assert self._session is not None and self._url is not None
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self._session.post(self._url, json=body) as reply:
                    if reply.status < 300:
                        self.delivered += 1
                        return
                    problem = f"HTTP {reply.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = type(exc).__name__  # never the URL: it usually holds a token
            _log.warning("alert webhook failed (%s), attempt %d of %d", problem, attempt, ATTEMPTS)
            if attempt < ATTEMPTS:  # no wait after the last: it only held up shutdown
                await asyncio.sleep(0.5 * attempt)
