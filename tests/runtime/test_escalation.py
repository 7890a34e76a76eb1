"""Alerts the trader must know, and only those (docs/RUNTIME.md "Alerts that matter"): an
escalation fires only while its action is still required per the broker's latest word, and a
busy gateway during a reconciliation is no "authentication failed". A real engine, enforcer
and SQLite journal; a fake broker; the clock moved by hand."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from risk_manager.config.models import Config
from risk_manager.domain.actions import Alert, ClosePosition, Severity
from risk_manager.domain.errors import AuthenticationFailed, RetryLater
from risk_manager.domain.events import AuthFailureEvent, ClockTick, PositionEvent, SnapshotEvent
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Account
from risk_manager.engine.engine import Engine
from risk_manager.engine.factory import calendar_for
from risk_manager.engine.inflight import cause_key
from risk_manager.projectx.error_map import RateLimited
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.durable import DurableWrites
from risk_manager.runtime.enforcer import Book, Enforcer
from risk_manager.runtime.metrics import Metrics
from risk_manager.store import Store
from runtime.test_enforcer import ACCT, MNQ, NOW, FakeBroker, _direct, _position, store
from support.polling import eventually

__all__ = ["store"]  # fixture


class Recorder:
    """Stands in for AlertChannels: what was sent."""

    def __init__(self) -> None:
        self.sent: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.sent.append(alert)


class ReadStorm(FakeBroker):
    """Reads answer HTTP 429 while ``storm`` is on; writes still go through."""

    storm = False

    async def search_open_positions(self, account_id: int) -> list[Any]:
        if self.storm:
            self.calls.append(("read_429",))
            raise RateLimited("Position/searchOpen: rate limited (HTTP 429)", retry_after=1.0)
        return await super().search_open_positions(account_id)


class Setup:
    def __init__(self, store: Store) -> None:
        self.now = NOW
        self.broker = ReadStorm(store)
        self.broker.positions = [_position(MNQ, 1)]
        config = Config.model_validate({"rules": {"max_retries": 0, "retry_after": "1s"}})
        engine = Engine(config.rules_for(ACCT), calendar_for(config.trading_day), config.catalog())
        enforcer = Enforcer(self.broker, store, lambda: self.now, run_blocking=_direct)
        self.alerts = Recorder()
        self.actor = AccountActor(
            ACCT,
            engine,
            enforcer,
            store,
            lambda: self.now,
            Metrics(),
            alerts=self.alerts,  # type: ignore[arg-type]
        )

    def critical(self) -> list[Alert]:
        return [a for a in self.alerts.sent if a.severity is Severity.CRITICAL]

    async def position(self, size: int) -> None:
        pos = _position(MNQ, size)
        await self.actor.handle(PositionEvent(self.now, pos))

    async def lock_and_close(self) -> None:
        """A hard lock closes the open position: the broker takes the close, but the hub
        never says so (the ledger stays behind)."""
        await self.position(1)
        lock = Lock(ACCT, "daily_realized_loss", LockKind.HARD, "r", self.now, None)
        await self.actor.carry_out(self.actor.engine.restore_locks([lock], self.now), self.now)
        await self.actor.enforcer.drain(5)
        self.broker.positions = []
        assert [c[0] for c in self.broker.calls] == ["close"]

    async def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        await self.actor.handle(ClockTick(self.now))

    def count(self, call: str) -> int:
        return [c[0] for c in self.broker.calls].count(call)


async def test_an_escalation_is_held_while_the_broker_says_done_and_dropped_once_settled(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    s = Setup(store)
    await s.lock_and_close()
    s.broker.storm = True  # from now on every read is a 429
    await s.tick(1.5)  # not confirmed by the ledger: escalated, but the broker said done
    assert s.critical() == []
    assert "escalation held back" in caplog.text
    await s.tick(12)  # re-proposed after 10 s: its read fails (a 429 says nothing new)
    await eventually(lambda: s.count("read_429") >= 1)
    assert s.critical() == []
    assert s.count("close") == 1  # never sent blindly again
    await s.actor.enforcer.cancel_all()  # its retries (paced by Retry-After) end here
    s.broker.storm = False
    await s.position(0)  # the stream catches up: settled, nothing was ever alerted
    assert s.critical() == [] and s.actor._held == {}


async def test_a_held_escalation_is_sent_once_the_hub_shows_the_position_still_open(
    store: Store,
) -> None:
    s = Setup(store)
    await s.lock_and_close()
    await s.tick(1.5)
    assert s.critical() == []
    await s.position(1)  # the broker's newer word: still open (the lock's close goes again)
    (alert,) = s.critical()
    assert "not confirmed" in alert.reason and alert.cause == ("close", ACCT, MNQ)


async def test_an_escalation_fires_while_the_broker_refuses_a_close_of_an_open_position(
    store: Store,
) -> None:
    s = Setup(store)
    s.broker.refuse = None
    await s.position(1)
    s.broker.storm = True
    enforcer = s.actor.enforcer
    failing = RetryLater("Position/closeContract: rate limited (HTTP 429)")

    async def refused(account_id: int, contract_id: str) -> None:
        s.broker.calls.append(("close", contract_id))
        raise failing

    s.broker.close_position = refused  # type: ignore[method-assign]
    lock = Lock(ACCT, "daily_net_loss", LockKind.HARD, "r", s.now, None)
    await s.actor.carry_out(s.actor.engine.restore_locks([lock], s.now), s.now)
    await eventually(s.critical)  # refused once past max_retries: the position is open
    (alert,) = s.critical()
    assert alert.cause == ("close", ACCT, MNQ) and "refused" in alert.reason
    word = enforcer.broker_word(("close", ACCT, MNQ))
    assert word is not None and word[0] is True  # it went on to send: still required
    await enforcer.cancel_all()


async def test_the_broker_word_survives_a_failed_read(store: Store) -> None:
    broker = ReadStorm(store)
    broker.positions = [_position(MNQ, 1)]
    close = ClosePosition(at=NOW, account_id=ACCT, rule="r", reason="r", contract_id=MNQ)
    cause = cause_key(close)
    assert cause is not None
    seen: list[tuple[bool, float] | None] = []

    async def sleep(_: float) -> None:
        seen.append(enforcer.broker_word(cause))
        enforcer.forget_settled(set())

    enforcer = Enforcer(broker, store, lambda: NOW, run_blocking=_direct, sleep=sleep)
    enforcer.forget_settled({cause})
    await enforcer.execute(close, Book(positions=broker.positions))
    done = enforcer.broker_word(cause)
    assert done is not None and done[0] is False  # the broker took the close
    broker.storm = True
    await enforcer.execute(close, Book())  # a retry reads first: HTTP 429
    assert seen == [done]  # what the broker said before the failed read still stands


async def test_a_busy_gateway_during_a_reconciliation_raises_no_authentication_alert(
    store: Store,
) -> None:
    s = Setup(store)
    for _ in range(3):
        s.actor.reconcile_failed(RateLimited("Account/search: rate limited (HTTP 429)"))
        s.actor.reconcile_failed(RetryLater("Account/search: HTTP 503"))
    assert s.actor.queue.empty()
    refused = AuthenticationFailed("Auth/loginKey: refused")
    s.actor.reconcile_failed(refused)
    s.actor.reconcile_failed(refused)  # the same outage: said once
    assert s.actor.queue.qsize() == 1
    assert isinstance(s.actor.queue.get_nowait(), AuthFailureEvent)
    account = Account(ACCT, "a", Decimal(50_000), True)
    await s.actor.handle(SnapshotEvent(s.now, account))  # REST answers again
    s.actor.reconcile_failed(refused)
    assert s.actor.queue.qsize() == 1


async def test_an_alert_whose_record_cannot_be_written_holds_back_no_enforcement(
    store: Store,
) -> None:
    """A stuck store (another process's write lock) and an engine that proposes an alert
    before a close: the close goes out while the alert's journal row still waits."""
    s = Setup(store)
    await s.position(1)
    gate = asyncio.Event()
    actor = s.actor

    async def run_blocking(fn: Any, *args: Any) -> Any:
        if getattr(fn, "__func__", None) is AccountActor._journal_alert:
            await gate.wait()  # the alert's record: stuck until the test lets it through
        return fn(*args)

    durable = DurableWrites(run_blocking=run_blocking, keep=actor.enforcer.keep, wait=60.0)
    actor.enforcer.durable = durable  # waits a minute for a write, were it ever awaited
    warn = Alert(
        at=s.now, account_id=ACCT, rule="stale_mark", reason="r", severity=Severity.WARNING
    )
    close = ClosePosition(at=s.now, account_id=ACCT, rule="r", reason="r", contract_id=MNQ)
    async with asyncio.timeout(5):  # a deadline, far below the store's minute
        await actor.carry_out([warn, close], s.now)
        await eventually(lambda: ("close", MNQ) in s.broker.calls)
    assert s.alerts.sent == [warn]
    assert not [e for e in store.journal(ACCT) if e.kind == "alert"]  # still waiting
    gate.set()
    await eventually(lambda: [e for e in store.journal(ACCT) if e.kind == "alert"])
