"""The daemon's and its broker session's long-running background tasks survive a failed round
(a dead task would end the overflow reconciles or the market subscriptions for the rest of the
run). Daemons are built from fakes through the composition root (tests/support/daemons.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from risk_manager.config.models import Config
from risk_manager.domain.errors import RetryLater
from risk_manager.domain.events import AccountEvent, SnapshotEvent
from risk_manager.domain.models import Account
from risk_manager.engine.engine import Engine
from risk_manager.engine.factory import calendar_for
from risk_manager.projectx.rate_limit import GatewayRateLimiter
from risk_manager.runtime import session as session_module
from risk_manager.runtime import shutdown as shutdown_module
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.daemon import Daemon
from risk_manager.runtime.enforcer import Enforcer
from risk_manager.runtime.metrics import Metrics
from risk_manager.store import Store
from support.daemons import daemon_from_fakes
from support.polling import eventually

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
ACCT = 7


def _actor(contracts: Any) -> Any:
    return SimpleNamespace(
        needs_reconcile=True,
        engine=SimpleNamespace(locks=lambda _: []),
        contracts=contracts,
        contracts_unread=True,  # the session marks its routes at every change
    )


async def test_housekeeping_goes_on_after_a_failed_reconcile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "HOUSEKEEPING_EVERY", 0.01)
    session = daemon_from_fakes().session
    session.actors = {1: _actor(set)}
    calls: list[int] = []

    async def reconcile_all(only: list[int] | None = None, since: float | None = None) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RetryLater("the gateway is down")

    session.reconcile_all = reconcile_all  # type: ignore[method-assign]
    task = asyncio.create_task(session._housekeeping())
    try:
        await eventually(lambda: len(calls) >= 2 or task.done())
        assert not task.done(), task
    finally:
        task.cancel()


async def test_market_subscriptions_go_on_after_a_failed_round() -> None:
    session = daemon_from_fakes().session
    answers: list[Any] = [RuntimeError("engine view failed"), {"CON.F.US.MNQ.H26"}]

    def contracts() -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    session.actors = {1: _actor(contracts)}
    task = asyncio.create_task(session._market_subscriptions())
    try:
        session.changed(1)
        await eventually(lambda: len(answers) == 1 or task.done())
        assert not task.done(), task
        session.changed(1)  # the next change looks at the account again
        await eventually(lambda: not answers or task.done())
        assert session.routes.accounts_for("CON.F.US.MNQ.H26") == {1}
    finally:
        task.cancel()


def _reconciling(
    store: Store, monkeypatch: pytest.MonkeyPatch, *, reconciled: bool
) -> tuple[Daemon, AccountActor, SnapshotEvent]:
    """A daemon with one real actor whose reconciliation snapshot is faked."""
    config = Config.model_validate({})
    engine = Engine(config.rules_for(ACCT), calendar_for(config.trading_day), config.catalog())
    # snapshots() is faked; the limiter is the real one
    client = SimpleNamespace(limiter=GatewayRateLimiter(), tokens=None)
    daemon = daemon_from_fakes(config, store=store, client=client, clock=lambda: NOW)
    enforcer = Enforcer(None, store, lambda: NOW)  # type: ignore[arg-type]
    actor = AccountActor(
        ACCT, engine, enforcer, store, lambda: NOW, Metrics(), reconciled=reconciled
    )
    daemon.actors[ACCT] = actor  # the mapping the read side and the health source read too
    daemon.session.carry(actor)
    snap = SnapshotEvent(NOW, Account(ACCT, "A", Decimal(50_000), True), (), (), ())

    async def snapshots(_: Any, ids: list[int], *__: Any) -> dict[int, SnapshotEvent]:
        return dict.fromkeys(ids, snap)

    monkeypatch.setattr(session_module, "snapshots", snapshots)
    return daemon, actor, snap


async def test_a_failed_fill_cross_check_does_not_stop_the_reconciliation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Comparing stored fills with the broker's only informs the operator: a store that
    cannot answer must not keep the snapshot from the engine (after a reconnect, the engines
    would then never hear that the stream is back)."""
    with Store.open(":memory:") as store:
        daemon, actor, snap = _reconciling(store, monkeypatch, reconciled=False)

        def fills(*_: Any, **__: Any) -> Any:
            raise RuntimeError("database is locked")

        monkeypatch.setattr(store, "fills", fills)
        try:
            await asyncio.wait_for(daemon.session.reconcile_all(), 5)
            assert actor.last_event_at == snap.at
            assert actor.reconciled
        finally:
            await daemon.stop()


async def test_a_reconcile_while_the_actors_run_goes_through_the_actor_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The actor alone touches its engine: a reconcile must not run ``handle`` beside the
    actor's own (an older event's handling could then undo what the snapshot set, e.g. end
    the external lock a newer ``canTrade: false`` just made)."""
    with Store.open(":memory:") as store:
        daemon, actor, snap = _reconciling(store, monkeypatch, reconciled=True)
        gate = asyncio.Event()
        handled: list[object] = []
        running = 0
        most = 0
        handle = actor.handle

        async def tracked(event: Any, **kw: Any) -> Any:
            nonlocal running, most
            running += 1
            most = max(most, running)
            try:
                if isinstance(event, AccountEvent):
                    await gate.wait()  # the actor is busy with an older event
                return await handle(event, **kw)
            finally:
                handled.append(event)
                running -= 1

        actor.handle = tracked  # type: ignore[method-assign]
        daemon.session.spawn(actor.run(), "actor")
        try:
            actor.offer(AccountEvent(NOW, Account(ACCT, "A", Decimal(50_000), True)))
            await eventually(lambda: running == 1)
            await asyncio.wait_for(daemon.session.reconcile_all(), 5)
            gate.set()
            await eventually(lambda: snap in handled)
            assert most == 1
        finally:
            await daemon.session.stop()


async def test_the_read_side_goes_on_after_a_failed_refresh() -> None:
    daemon = daemon_from_fakes()
    read_side = daemon.read_side
    read_side._interval = 0.01
    read_side.subscribe()  # a dashboard listens
    refreshes: list[int] = []

    async def refresh(*, ticking: bool = True, only: set[int] | None = None) -> None:
        refreshes.append(1)
        if len(refreshes) == 1:
            raise RuntimeError("database is locked")

    read_side.refresh = refresh  # type: ignore[method-assign]
    task = asyncio.create_task(read_side.run())
    try:
        mark = read_side.mark
        mark(ACCT)
        await eventually(lambda: len(refreshes) >= 1 or task.done())
        mark(ACCT)
        await eventually(lambda: len(refreshes) >= 2 or task.done())
        assert not task.done(), task
    finally:
        task.cancel()


async def test_stop_gives_every_account_the_same_grace_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Enforcement in flight gets ENFORCEMENT_GRACE in all, not per account (10 s budget)."""
    monkeypatch.setattr(shutdown_module, "ENFORCEMENT_GRACE", 0.5)
    daemon = daemon_from_fakes()
    with Store.open(":memory:") as store:
        for acct in (1, 2, 3):
            enforcer = Enforcer(None, store, lambda: NOW)  # type: ignore[arg-type]
            enforcer.keep(asyncio.ensure_future(asyncio.sleep(30)))  # a broker that hangs
            daemon.actors[acct] = SimpleNamespace(enforcer=enforcer)  # type: ignore[assignment]
        loop = asyncio.get_running_loop()
        started = loop.time()
        await daemon.stop()
        assert loop.time() - started < 1.0  # one at a time took 1.5 s


def test_an_unknown_hub_target_is_skipped_quietly_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from datetime import UTC, datetime

    from risk_manager.projectx.hub_connection import HubMessage

    caplog.set_level("INFO")
    session = daemon_from_fakes().session
    for _ in range(1000):  # once a traceback per frame: 914 KB of log for 1,000 frames
        session._on_hub_message(
            HubMessage("market", "GatewayDepth", ["CON.F.US.EP.H26", [{}]], datetime.now(UTC))
        )
    assert session._unknown_targets == {"GatewayDepth": 1000}
    lines = [r for r in caplog.records if "GatewayDepth" in r.getMessage()]
    assert len(lines) == 4 and not any(r.exc_info for r in lines)


async def test_an_empty_account_list_at_start_is_asked_again_not_fatal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = Account(1, "TOPX-1", Decimal("50000"), True)
    answers: list[list[Account]] = [[], [], [account]]

    async def search_accounts(only_active: bool = True) -> list[Account]:
        return answers.pop(0)

    async def no_sleep(_: float) -> None:
        return None

    daemon = daemon_from_fakes(client=SimpleNamespace(search_accounts=search_accounts, tokens=None))
    monkeypatch.setattr(asyncio, "sleep", no_sleep)  # the daemon module's asyncio: the same
    assert await daemon.session.guarded_accounts() == [account]
    assert answers == []


def test_health_is_never_ok_before_the_daemon_guards() -> None:
    """Served before the login: the default must not say ok (a fresh review saw 'ok' with no
    account guarded for about a second of every start)."""
    daemon = daemon_from_fakes()
    side = daemon.read_side
    assert side.health()["status"] != "ok"
    assert side.health()["problem"] == "starting: not guarding yet"
    assert daemon.health.problems() == ["starting: 0 of 0 account(s) reconciled"]
