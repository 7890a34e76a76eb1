"""Alert channels: the log, and a webhook that gets every alert as JSON."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from risk_manager.config.sections import AlertsConfig
from risk_manager.domain.actions import Alert, Severity
from risk_manager.runtime.alerts import AlertChannels
from support.polling import eventually

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
ALERT = Alert(
    at=NOW, account_id=7, rule="daily_net_loss", reason="82% of 1000", severity=Severity.WARNING
)


async def test_webhook_receives_the_alert_after_a_failed_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    received: list[dict[str, Any]] = []
    statuses = [500]  # the first delivery fails, the retry succeeds

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=statuses.pop() if statuses else 204)

    app = web.Application()
    app.router.add_post("/hook/secret-token", hook)
    async with TestServer(app) as server:
        url = str(server.make_url("/hook/secret-token"))
        config = AlertsConfig(log=True, webhook_url=url)  # type: ignore[arg-type]
        caplog.set_level(logging.WARNING)
        async with AlertChannels(config) as channels:
            channels.send(ALERT)
            await eventually(lambda: channels.delivered == 1)
    assert len(received) == 2
    body = received[-1]
    assert body["kind"] == "alert" and body["severity"] == "warning"
    assert body["account_id"] == 7 and body["rule"] == "daily_net_loss"
    assert "82% of 1000" in caplog.text  # the log channel
    assert "secret-token" not in caplog.text  # the failed attempt never logs the URL


async def test_without_a_webhook_only_the_log_is_used(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with AlertChannels(AlertsConfig()) as channels:
        channels.send(ALERT)
    assert channels.delivered == 0
    assert "daily_net_loss" in caplog.text


async def test_a_webhook_that_keeps_failing_is_given_up_without_a_last_wait() -> None:
    loop = asyncio.get_running_loop()
    attempts: list[float] = []

    async def hook(request: web.Request) -> web.Response:
        attempts.append(loop.time())
        return web.Response(status=500)

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with TestServer(app) as server:
        config = AlertsConfig(webhook_url=str(server.make_url("/hook")))  # type: ignore[arg-type]
        async with AlertChannels(config) as channels:
            channels.send(ALERT)
            (delivery,) = channels._tasks
            await asyncio.wait_for(delivery, 5)
            ended = loop.time()
    assert len(attempts) == 3 and channels.delivered == 0
    assert ended - attempts[-1] < 0.5  # was a 1.5 s wait after the last attempt
