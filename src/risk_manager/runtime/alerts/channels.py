"""The alert channels of one daemon (RULES.md §5 "alert", docs/ALERTS.md): the log, at once
and always; the webhook (through the store's outbox), email and the desktop when configured,
each behind its own queue and worker, de-duplicated and rate-limited per rule and channel.

``send`` never waits and never raises: enforcement calls it inline, and no channel's failure
or slowness reaches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from types import TracebackType
from typing import Any, Self

from risk_manager.config.sections import AlertsConfig
from risk_manager.domain.actions import Alert, Severity
from risk_manager.runtime.alerts.desktop import DesktopSender, notifier
from risk_manager.runtime.alerts.email import EmailSender
from risk_manager.runtime.alerts.limits import AlertLimits
from risk_manager.runtime.alerts.retrying import RetryingChannel
from risk_manager.runtime.alerts.webhook import RETRY_BASE, RETRY_CAP, TIMEOUT, Webhook
from risk_manager.store.ports import OutboxStore
from risk_manager.types import Clock, utc_now

_log = logging.getLogger("risk_manager.alerts")

_LEVELS = {
    Severity.INFO: logging.INFO,
    Severity.WARNING: logging.WARNING,
    Severity.CRITICAL: logging.CRITICAL,
}
_RANK = {"info": 0, "warning": 1, "critical": 2}


class AlertChannels:
    """Every alert channel of one daemon; an async context manager (the channels' workers run
    inside it).

    ``outbox`` is the store (None: the webhook queue is kept in memory only); ``clock`` gives
    aware instants; ``timeout`` (seconds) bounds one webhook post; ``retry_base`` and
    ``retry_cap`` (seconds) shape every channel's backoff; ``run_blocking`` runs a store write
    off the loop; ``desktop_platform`` names the platform whose notifier is used (tests).
    ``delivered`` and ``waiting`` are the webhook's (0 without one)."""

    def __init__(
        self,
        config: AlertsConfig,
        outbox: OutboxStore | None = None,
        *,
        clock: Clock = utc_now,
        timeout: float = TIMEOUT,
        retry_base: float = RETRY_BASE,
        retry_cap: float = RETRY_CAP,
        run_blocking: Callable[..., Awaitable[Any]] = asyncio.to_thread,
        desktop_platform: str | None = None,
    ) -> None:
        self._log_alerts = config.log
        self._limits = AlertLimits(config.dedupe, config.rate_limit, config.rate_window, clock)
        self.webhook: Webhook | None = None
        if config.webhook_url is not None:
            self.webhook = Webhook(
                config.webhook_url.get_secret_value(),
                config.keep_undelivered,
                outbox,
                fmt=config.webhook_format,
                clock=clock,
                timeout=timeout,
                retry_base=retry_base,
                retry_cap=retry_cap,
                run_blocking=run_blocking,
            )
        retrying = partial(
            RetryingChannel,
            keep=config.keep_undelivered,
            clock=clock,
            retry_base=retry_base,
            retry_cap=retry_cap,
        )
        # (channel, the least severity it takes)
        self.others: list[tuple[RetryingChannel, int]] = []
        if config.email is not None:
            email = retrying("email", EmailSender(config.email))
            self.others.append((email, _RANK[config.email.min_severity]))
        self.desktop_skipped: str | None = None  # why the desktop channel is off, if asked for
        if config.desktop:
            command, why = notifier() if desktop_platform is None else notifier(desktop_platform)
            if command is None:
                self.desktop_skipped = why
            else:
                desktop = retrying("desktop", DesktopSender(command))
                self.others.append((desktop, _RANK[config.desktop_min_severity]))
        self._open = contextlib.AsyncExitStack()

    @property
    def delivered(self) -> int:
        """Alerts the webhook took."""
        return 0 if self.webhook is None else self.webhook.delivered

    @property
    def waiting(self) -> int:
        """Alerts not yet delivered to the webhook (0 without one)."""
        return 0 if self.webhook is None else self.webhook.waiting

    async def __aenter__(self) -> Self:
        if self.desktop_skipped is not None:
            _log.warning("alerts.desktop is on but skipped: %s", self.desktop_skipped)
        if self.webhook is not None:
            await self._open.enter_async_context(self.webhook)
        for channel, _ in self.others:
            await self._open.enter_async_context(channel)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._open.aclose()

    def send(self, alert: Alert) -> None:
        """Log ``alert`` and hand it to each channel its limits let it reach; never waits,
        never raises."""
        if self._log_alerts:
            _log.log(
                _LEVELS[alert.severity],
                "account %s %s: %s",
                alert.account_id,
                alert.rule,
                alert.reason,
            )
        try:
            if self.webhook is not None and self._limits.allow("webhook", alert):
                self.webhook.submit(alert)
            rank = _RANK[alert.severity.value]
            for channel, least in self.others:
                if rank >= least and self._limits.allow(channel.name, alert):
                    channel.submit(alert)
        except Exception:  # a bug here must never reach enforcement
            _log.exception("alert %s of account %s not sent", alert.rule, alert.account_id)
