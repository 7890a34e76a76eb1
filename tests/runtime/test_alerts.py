"""Alert channels: the log at once, and a webhook fed by the store's outbox that gets every
alert exactly once, in order, however long it fails (docs/RUNTIME.md "Alert delivery")."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

import pytest

from risk_manager.config.sections import AlertsConfig
from risk_manager.domain.actions import Alert, Severity
from risk_manager.runtime.alerts import AlertChannels
from risk_manager.store import Store
from risk_manager.store.records import OutboxEntry
from support.polling import eventually
from support.webhook import Receiver, receiver

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


class Backoff(TypedDict):
    retry_base: float
    retry_cap: float


FAST: Backoff = {"retry_base": 0.02, "retry_cap": 0.1}  # the 1 s → 60 s backoff, scaled down


def alert(n: int, severity: Severity = Severity.WARNING) -> Alert:
    return Alert(at=NOW, account_id=7, rule="daily_net_loss", reason=f"#{n}", severity=severity)


def config(hook: Receiver, **more: Any) -> AlertsConfig:
    return AlertsConfig(webhook_url=hook.url, **more)


def ours(caplog: pytest.LogCaptureFixture) -> str:
    """What the daemon logged (the test webhook's own access log names its path)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("risk_manager"))


async def test_a_webhook_failing_then_refusing_then_accepting_gets_each_alert_once_in_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with receiver(statuses=[500, 500, 503]) as hook:
        await hook.up()
        with Store.open(tmp_path / "rm.sqlite") as store:
            async with AlertChannels(config(hook), store, **FAST) as channels:
                for n in range(3):
                    channels.send(alert(n))
                await eventually(lambda: hook.refused_before == 3)
                await hook.down()  # now every post is refused at the socket
                for n in range(3, 6):
                    channels.send(alert(n, Severity.CRITICAL))
                await eventually(lambda: "ClientConnectorError" in caplog.text)
                assert hook.taken == [] and channels.waiting == 6
                await hook.up()
                await eventually(lambda: channels.delivered == 6)
                await eventually(lambda: store.outbox_pending() == [])
            rows = sorted(store.outbox(), key=lambda e: e.id)
    assert hook.reasons() == [f"#{n}" for n in range(6)]  # once each, in order
    assert [b["id"] for b in hook.taken] == [r.alert_id for r in rows]
    assert hook.taken[0]["kind"] == "alert" and hook.taken[0]["account_id"] == 7
    assert [b["severity"] for b in hook.taken] == ["warning"] * 3 + ["critical"] * 3
    assert all(r.delivered_at is not None for r in rows)
    assert rows[0].attempts > 3 and rows[0].last_error == "ClientConnectorError"
    assert "#0" in caplog.text  # the log channel, at once
    assert "delivering again" in caplog.text
    assert "secret-token" not in ours(caplog) and str(hook.port) not in ours(caplog)


async def test_alerts_left_undelivered_at_shutdown_are_sent_after_the_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "rm.sqlite"
    async with receiver(statuses=[500] * 10_000) as hook:
        await hook.up()
        with Store.open(path) as store:
            async with AlertChannels(config(hook), store, **FAST) as channels:
                channels.send(alert(1))
                channels.send(alert(2))
                await eventually(lambda: len(store.outbox_pending()) == 2)
        assert hook.taken == [] and "kept in the store" in caplog.text
        hook.statuses.clear()  # the webhook is fixed while the daemon is down
        with Store.open(path) as store:
            async with AlertChannels(config(hook), store, **FAST) as channels:
                channels.send(alert(3))
                await eventually(lambda: channels.delivered == 3)
                await eventually(lambda: store.outbox_pending() == [])
    assert hook.reasons() == ["#1", "#2", "#3"]


async def test_an_alert_past_keep_undelivered_is_given_up_with_one_error_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = [NOW]
    async with receiver(statuses=[500] * 10_000) as hook:
        await hook.up()
        keep_1m = config(hook, keep_undelivered="1m")
        with Store.open(tmp_path / "rm.sqlite") as store:
            channels = AlertChannels(keep_1m, store, clock=lambda: now[0], **FAST)
            async with channels:
                channels.send(alert(1))
                await eventually(lambda: hook.refused_before >= 2)
                now[0] = NOW + timedelta(minutes=1, seconds=1)
                await eventually(lambda: channels.waiting == 0)
                hook.statuses.clear()
                channels.send(alert(2))  # the next one still goes out
                await eventually(lambda: channels.delivered == 1)
                await eventually(lambda: store.outbox_pending() == [])
            (given_up,) = [e for e in store.outbox() if e.given_up_at is not None]
    # the webhook's own lines: a store slow past durable.WAIT on a loaded machine logs its
    # own critical line (runtime/durable.py), which is not what this test is about
    errors = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith("risk_manager.alerts")
    ]
    assert len(errors) == 1 and given_up.alert_id in errors[0].getMessage()
    assert "keep_undelivered (1m)" in errors[0].getMessage()
    assert "HTTP 500" in errors[0].getMessage() and "secret-token" not in ours(caplog)
    assert given_up.last_error == "HTTP 500" and given_up.attempts >= 2
    assert hook.reasons() == ["#2"]


class StuckStore:
    """An outbox whose writes wait for ``release`` (another process holding SQLite's write
    lock) and then raise ``fail`` times: the calls it finally took, in order."""

    def __init__(self, fail: int = 0) -> None:
        self.release = threading.Event()
        self.fail = fail
        self.calls: list[tuple[str, str]] = []

    def _take(self, what: str, alert_id: str) -> None:
        self.release.wait(10)
        if self.fail:
            self.fail -= 1
            raise OSError("No space left on device")
        self.calls.append((what, alert_id))

    def outbox_add(self, alert_id: str, *_: Any) -> int:
        self._take("add", alert_id)
        return len(self.calls)

    def outbox_delivered(self, alert_id: str, *_: Any) -> bool:
        self._take("delivered", alert_id)
        return True

    def outbox_given_up(self, alert_id: str, *_: Any) -> bool:
        self._take("given_up", alert_id)
        return True

    def outbox_pending(self) -> list[OutboxEntry]:
        return []

    def outbox_prune(self, ended_before: datetime) -> int:
        self.release.wait(10)
        return 0

    def outbox(self, limit: int = 100) -> list[OutboxEntry]:  # the rest of the outbox port
        return []


async def test_a_stuck_then_failing_store_holds_no_alert_back_and_its_rows_land_in_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox = StuckStore(fail=2)
    async with receiver() as hook:
        await hook.up()
        async with AlertChannels(config(hook), outbox, **FAST) as channels:
            channels.send(alert(1))  # returns at once: its row waits in a thread
            channels.send(alert(2))
            await eventually(lambda: channels.delivered == 2)  # delivered while stuck
            assert outbox.calls == []
            outbox.release.set()  # unstuck, then two failures, then every write lands
            await eventually(lambda: len(outbox.calls) == 4, within=10)
    first, second = (b["id"] for b in hook.taken)
    assert outbox.calls == [
        ("add", first),
        ("add", second),
        ("delivered", first),
        ("delivered", second),
    ]
    assert hook.reasons() == ["#1", "#2"]
    assert "No space left on device" in caplog.text  # said loudly


async def test_without_a_webhook_only_the_log_is_used(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with AlertChannels(AlertsConfig()) as channels:
        channels.send(alert(1))
    assert channels.delivered == 0 and channels.waiting == 0
    assert "daily_net_loss: #1" in caplog.text
