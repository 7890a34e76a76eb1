"""The read side works only for a reader, and only on what changed: while no dashboard listens
an account that changes is only marked (no view built, no store read); once one listens, a
change publishes that account's view alone; a REST read brings the changed accounts up to date
first. (It rebuilt every account's view five times a second before, watched or not: 47 ms per
refresh at 500 accounts, issue 12.)"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from risk_manager.api.server import running_api
from risk_manager.config.models import Config
from risk_manager.domain.enums import OrderSide
from risk_manager.domain.events import AccountEvent, TradeEvent
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Account, Trade
from risk_manager.engine.engine import Engine
from risk_manager.engine.factory import calendar_for
from risk_manager.runtime import read_side, views
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.daemon import Daemon
from risk_manager.runtime.enforcement_first import EnforcementFirst
from risk_manager.runtime.enforcer import Enforcer
from risk_manager.runtime.metrics import Metrics
from risk_manager.runtime.read_side import VIEWS_PER_SLICE, DaemonReadSide
from risk_manager.store import Store
from risk_manager.types import Clock
from support.daemons import daemon_from_fakes
from support.polling import eventually

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
ACCOUNTS = (7, 8, 9)
MNQ = "CON.F.US.MNQ.H26"


async def _guarding(store: Store, clock: Clock, config: Config | None = None) -> Daemon:
    """A daemon over ``store`` whose three accounts are shown once (as at guarding)."""
    config = config or Config.model_validate({})
    daemon = daemon_from_fakes(config, store=store, clock=clock)
    calendar = calendar_for(config.trading_day)
    for acct in ACCOUNTS:
        engine = Engine(config.rules_for(acct), calendar, config.catalog())
        enforcer = Enforcer(None, store, clock)  # type: ignore[arg-type]
        actor = AccountActor(acct, engine, enforcer, store, clock, Metrics())
        await actor.handle(AccountEvent(NOW, Account(acct, f"A{acct}", Decimal(50_000), True)))
        daemon.actors[acct] = actor
    daemon.health.guarding = True
    await daemon.read_side.refresh()
    assert daemon.read_side.views_built == len(ACCOUNTS)
    return daemon


@pytest.fixture
async def daemon() -> AsyncIterator[Daemon]:
    """A daemon over a real store whose three accounts are shown once (as at guarding)."""
    with Store.open(":memory:") as store:
        yield await _guarding(store, lambda: NOW)


async def _running(daemon: Daemon) -> asyncio.Task[None]:
    daemon.read_side._interval = 0.01
    return asyncio.create_task(daemon.read_side.run())


async def test_nothing_is_built_while_no_dashboard_listens(daemon: Daemon) -> None:
    side = daemon.read_side
    side.mark(ACCOUNTS[0])
    assert not side._wake.is_set()  # marked only: not even the run loop is woken
    task = await _running(daemon)
    try:
        for _ in range(100):
            for acct in ACCOUNTS:
                side.mark(acct)
            await eventually(lambda: not side._wake.is_set() or task.done())  # seen and skipped
        assert not task.done(), task
        assert (side.refreshes, side.views_built) == (1, len(ACCOUNTS))
    finally:
        task.cancel()


async def test_a_change_wakes_the_read_side_only_while_a_dashboard_listens(
    daemon: Daemon,
) -> None:
    """Waking the refresh task after every burst for nobody was loop work inside a breach's
    enforcement (docs/PERFORMANCE.md); a dashboard that starts listening is woken for it."""
    side = daemon.read_side
    side.mark(8)
    assert not side._wake.is_set()
    queue = side.subscribe()
    assert side._wake.is_set()  # what changed meanwhile is published at once
    side._wake.clear()
    side.mark(8)
    assert side._wake.is_set()
    side.unsubscribe(queue)


async def test_a_listening_dashboard_gets_the_changed_account_alone(daemon: Daemon) -> None:
    side = daemon.read_side
    side.mark(8)  # changed while nobody listened
    queue = side.subscribe()
    task = await _running(daemon)
    try:
        await eventually(lambda: side.refreshes >= 2 or task.done())
        assert not task.done(), task
        sent = []
        while not queue.empty():
            sent.append(queue.get_nowait())
        accounts = [m["account"]["id"] for m in sent if m["type"] == "account"]
        assert accounts == [8]
        assert side.views_built == len(ACCOUNTS) + 1
    finally:
        task.cancel()


async def test_a_rest_read_brings_the_changed_accounts_up_to_date_first(daemon: Daemon) -> None:
    side = daemon.read_side
    actor = daemon.actors[9]
    await actor.handle(AccountEvent(NOW, Account(9, "A9", Decimal(49_000), True)))
    side.mark(9)
    view = side.account(9)
    assert view is not None and view["balance"] == "50000.00"  # not yet: nobody asked
    await side.current()  # what the API does before answering
    view = side.account(9)
    assert view is not None and view["balance"] == "49000.00"
    assert side.views_built == len(ACCOUNTS) + 1  # account 9 alone


async def _shown_locked(store: Store, now: list[datetime], lasting: timedelta) -> DaemonReadSide:
    """The read side of a guarding daemon on the clock ``now[0]``, account 7 shown under a
    soft lock from ``NOW`` lasting ``lasting``."""
    daemon = await _guarding(store, lambda: now[0])
    lock = Lock(7, "cooldown_after_loss", LockKind.SOFT, "loss", NOW, NOW + lasting)
    daemon.actors[7].engine.restore_locks([lock], NOW)
    daemon.read_side.mark(7)
    await daemon.read_side.current()
    return daemon.read_side


async def test_a_rest_read_shows_the_lock_countdown_of_now_while_nobody_listens() -> None:
    """Nothing marks an account whose lock only counts down: a REST read must still show the
    time left now, not when the account last changed (an hour-old countdown reads as a lock
    about to end when it is not, or the other way round)."""
    now = [NOW]
    with Store.open(":memory:") as store:
        side = await _shown_locked(store, now, timedelta(minutes=30))
        view = side.account(7)
        assert view is not None and view["locks"][0]["seconds_left"] == 1800
        now[0] = NOW + timedelta(minutes=20)  # no event since: the account is not marked
        await side.current()
        view = side.account(7)
        assert view is not None and view["locks"][0]["seconds_left"] == 600
        assert side.views_built == len(ACCOUNTS) + 2  # the locked account alone, each time


async def test_a_lock_that_ended_stops_the_countdown_refreshes() -> None:
    """The lock is shown gone once after it ends; from then on the account is not rebuilt
    at each tick (the engine keeps ended locks as history: every account that was ever
    locked for a while would be rebuilt every second for the rest of the run)."""
    now = [NOW]
    with Store.open(":memory:") as store:
        side = await _shown_locked(store, now, timedelta(seconds=60))
        built = side.views_built
        now[0] = NOW + timedelta(seconds=61)  # ended; its tick handled no event to mark it
        await side.current()
        view = side.account(7)
        assert view is not None and view["locks"] == []
        assert side.views_built == built + 1
        for seconds in (62, 63, 64):
            now[0] = NOW + timedelta(seconds=seconds)
            await side.current()
        assert side.views_built == built + 1


async def test_a_fill_count_per_minute_is_shown_as_of_now_while_nothing_happens() -> None:
    """RULE-006 counts the fills of the last 60 s: a minute without an event empties the
    window, and the view must say so, not keep the count of the last fill."""
    now = [NOW]
    config = Config.model_validate(
        {"rules": {"trade_frequency_limit": {"enabled": True, "per_minute": 10}}}
    )
    with Store.open(":memory:") as store:
        daemon = await _guarding(store, lambda: now[0], config)
        side, actor = daemon.read_side, daemon.actors[7]
        for n in range(3):
            fill = Trade(n + 1, 7, MNQ, NOW, Decimal(21000), OrderSide.BID, 1, n + 1)
            await actor.handle(TradeEvent(NOW, fill))
        side.mark(7)  # what the daemon's change feed does after each event
        await side.current()
        assert _rule_value(side, 7, "trade_frequency_limit") == "3"
        now[0] = NOW + timedelta(seconds=61)  # the minute is over; no event since
        await side.current()
        assert _rule_value(side, 7, "trade_frequency_limit") == "0"
        built = side.views_built
        now[0] = NOW + timedelta(seconds=62)
        await side.current()
        assert side.views_built == built  # shown at 0 once: nothing moves any more


def _rule_value(side: DaemonReadSide, account_id: int, key: str) -> object:
    view = side.account(account_id)
    assert view is not None
    return next(r["value"] for r in view["rules"] if r["key"] == key)


async def test_a_monitor_polling_health_builds_no_account_view(daemon: Daemon) -> None:
    """``/health`` answers from the health source and a store probe: a monitor polling it
    every second must not bring back the rebuild of every changed account."""
    side = daemon.read_side
    async with (
        running_api(side, daemon.metrics, "127.0.0.1", 0) as api,
        aiohttp.ClientSession() as http,
    ):
        for acct in ACCOUNTS:
            side.mark(acct)
        for _ in range(3):
            async with http.get(f"{api.url}/health") as reply:
                health = await reply.json()
            # No hub in this daemon: degraded, but the store was asked and answers.
            assert (reply.status, health["database_accessible"]) == (503, True)
        assert side.views_built == len(ACCOUNTS)  # only the fixture's first refresh
        async with http.get(f"{api.url}/api/v1/accounts") as reply:
            assert reply.status == 200
        assert side.views_built == 2 * len(ACCOUNTS)  # a read of the accounts builds them


async def test_a_refresh_of_many_accounts_builds_their_views_a_slice_per_loop_callback() -> None:
    """Every account moved (a quote each): their views are built ``VIEWS_PER_SLICE`` per loop
    callback, not all in one (counted in loop iterations, not timed)."""
    config = Config.model_validate({})
    accounts = range(100, 100 + 3 * VIEWS_PER_SLICE + 1)
    with Store.open(":memory:") as store:
        daemon = daemon_from_fakes(config, store=store, clock=lambda: NOW)
        calendar = calendar_for(config.trading_day)
        for acct in accounts:
            engine = Engine(config.rules_for(acct), calendar, config.catalog())
            enforcer = Enforcer(None, store, lambda: NOW)  # type: ignore[arg-type]
            actor = AccountActor(acct, engine, enforcer, store, lambda: NOW, Metrics())
            await actor.handle(AccountEvent(NOW, Account(acct, f"A{acct}", Decimal(50_000), True)))
            daemon.actors[acct] = actor
        side = daemon.read_side
        turns = 0

        async def count_turns() -> None:
            nonlocal turns
            while True:
                await asyncio.sleep(0)
                turns += 1

        built: list[int] = []  # the loop's turn at each view built
        publish = side._publish_account

        def counted(acct: int, now: datetime, locks: list[Lock] | None, trading_day: date) -> None:
            built.append(turns)
            publish(acct, now, locks, trading_day)

        side._publish_account = counted  # type: ignore[method-assign]
        counter = asyncio.create_task(count_turns())
        try:
            await side.refresh()
        finally:
            counter.cancel()
        assert len(built) == len(accounts) == side.views_built
        per_turn = [built.count(turn) for turn in set(built)]
        assert max(per_turn) <= VIEWS_PER_SLICE
        assert len(per_turn) >= len(accounts) // VIEWS_PER_SLICE


async def test_a_listening_dashboard_gets_the_curve_only_when_it_gains_a_point() -> None:
    """Late in the day an account's curve is hundreds of points: streamed with each view (five
    a second) it was 1.8 ms of JSON and 80 kB each. Now a view streams it only when it gained
    a point; the view kept for snapshots and REST reads always has it."""
    now = [NOW]
    with Store.open(":memory:") as store:
        daemon = await _guarding(store, lambda: now[0])
        side = daemon.read_side
        queue = side.subscribe()
        streamed = []
        for step in range(30):  # 6 s in steps of 0.2 s: one new 5-second step of the curve
            now[0] = NOW + timedelta(seconds=0.2 * (step + 1))
            side.mark(7)
            await side.refresh(ticking=False)
            while not queue.empty():
                message = queue.get_nowait()
                if message["type"] == "account" and message["account"]["id"] == 7:
                    streamed.append(message["account"])
        assert len(streamed) == 30
        with_curve = [i for i, view in enumerate(streamed) if "pnl_curve" in view]
        assert len(with_curve) == 1, with_curve  # the step began at 5 s: once, not 30 times
        kept = side.account(7)
        assert kept is not None and len(kept["pnl_curve"]) == 2
        assert kept["as_of"] == "2026-03-10T15:00:06Z"
        side.unsubscribe(queue)


async def test_views_that_take_the_loop_long_are_shown_less_often(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dashboard over hundreds of moving accounts must not take the loop from their
    events: when a refresh's own CPU is over LOOP_SHARE of the time to the next one, the next
    waits longer (docs/RUNTIME.md "Shape")."""
    side = daemon.read_side
    side._interval = 0.001
    build = views.account_json

    def slow(*args: object, **kwargs: object) -> object:
        started = time.thread_time()
        while time.thread_time() - started < 0.003:  # 3 ms of the loop's CPU per view
            pass
        return build(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(read_side, "account_json", slow)
    for acct in ACCOUNTS:
        side.mark(acct)
    await side.refresh(ticking=False)
    assert side.refresh_cpu >= 0.003 * len(ACCOUNTS)
    assert side.pause() == pytest.approx(side.refresh_cpu * (1 / read_side.LOOP_SHARE - 1))
    assert side.pause() >= 0.036
    monkeypatch.setattr(read_side, "account_json", build)
    await side.refresh(ticking=False)  # nothing changed: cheap again
    side._interval = 0.2
    assert side.pause() == 0.2


async def test_a_cancelled_refresh_leaves_what_it_did_not_publish_changed(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dashboard that closes while its snapshot's refresh reads the store cancels that
    refresh: the accounts it took must stay changed, or every other dashboard keeps its old
    view of them until they change again."""
    side = daemon.read_side
    entered, gate = threading.Event(), threading.Event()
    read = read_side._read

    def held(*args: Any) -> Any:
        entered.set()
        gate.wait(5.0)
        return read(*args)

    monkeypatch.setattr(read_side, "_read", held)
    queue = side.subscribe()
    for acct in ACCOUNTS:
        side.mark(acct)
    refresh = asyncio.create_task(side.refresh(ticking=False))
    await eventually(entered.is_set)
    refresh.cancel()
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await refresh
    await side.refresh(ticking=False)
    sent = sorted(m["account"]["id"] for m in _drain(queue) if m["type"] == "account")
    assert sent == sorted(ACCOUNTS)
    side.unsubscribe(queue)


def _drain(queue: asyncio.Queue[Any]) -> list[Any]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


async def test_an_account_whose_view_fails_leaves_the_others_health_and_the_log_streamed(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """One account's view that raises is logged once and skipped: the accounts after it, the
    enforcement log and health still reach the dashboards, refresh after refresh."""
    side = daemon.read_side
    build = views.account_json

    def failing(view: Any, *args: Any, **kwargs: Any) -> Any:
        if view.account_id == 8:
            raise RuntimeError("a view that cannot be built")
        return build(view, *args, **kwargs)

    monkeypatch.setattr(read_side, "account_json", failing)
    queue = side.subscribe()
    for _ in range(3):
        for acct in ACCOUNTS:
            side.mark(acct)
        await side.refresh(ticking=False)
        sent = _drain(queue)
        assert sorted(m["account"]["id"] for m in sent if m["type"] == "account") == [7, 9]
        assert any(m["type"] == "health" for m in sent)
    assert len([r for r in caplog.records if "could not be built" in r.getMessage()]) == 1
    assert not side._dirty  # nothing left to retry in a loop
    side.unsubscribe(queue)


async def test_views_wait_while_a_breachs_journal_write_is_in_flight(daemon: Daemon) -> None:
    """A refresh builds no view while an enforcement's journal write is in flight (its thread
    needs the GIL the views would hold: PERFORMANCE.md "Capacity"), then all of them; the
    daemon's read side holds on the same hold as its quote fan-out and enforcers."""
    side = daemon.read_side
    assert side._first is daemon.session.quotes.first
    first = side._first = EnforcementFirst(cap=60.0)
    for acct in ACCOUNTS:
        side.mark(acct)
    built = side.views_built
    first.begin()  # a breach's journal write
    refresh = asyncio.create_task(side.refresh())
    await eventually(lambda: first.holds == 1 or refresh.done())  # past the store's read
    for _ in range(20):  # many loop turns: no view built
        await asyncio.sleep(0)
    assert side.views_built == built and not refresh.done() and first.holds == 1
    first.end()
    async with asyncio.timeout(10):  # a deadline, not a measure
        await refresh
    assert side.views_built == built + len(ACCOUNTS)


async def test_a_lock_is_shown_at_once_while_the_refreshes_are_spaced_out(
    daemon: Daemon,
) -> None:
    """A dashboard over hundreds of moving accounts is refreshed less often (``LOOP_SHARE``:
    up to ~1.5 s apart at 500 accounts). A lock does not wait for the next refresh: the
    locked account is shown at once, alone; the other changes still wait."""
    side = daemon.read_side
    side._interval = 3600.0  # the pause after each refresh: far longer than this test
    queue = side.subscribe()
    task = asyncio.create_task(side.run())
    try:
        await eventually(lambda: side.refreshes >= 2 or task.done())  # in its pause now
        assert not task.done(), task
        _drain(queue)
        built = side.views_built
        side.mark(9)  # a quote: waits for the next refresh
        lock = Lock(8, "daily_net_loss", LockKind.HARD, "net -400", NOW, NOW + timedelta(hours=2))
        daemon.actors[8].engine.restore_locks([lock], NOW)
        side.mark_lock(8)
        await eventually(lambda: side.views_built > built or task.done())
        assert not task.done(), task
        await eventually(lambda: not queue.empty())
        shown = [m["account"] for m in _drain(queue) if m["type"] == "account"]
        assert [view["id"] for view in shown] == [8]
        assert shown[0]["locks"][0]["rule"] == "daily_net_loss"
        assert side.views_built == built + 1  # account 9 waits for the next refresh
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_the_daemons_actors_tell_its_read_side_of_their_locks() -> None:
    daemon = daemon_from_fakes()
    actor = daemon._actor(7, daemon.session, daemon._parts.alerts)
    assert actor._on_lock == daemon.read_side.mark_lock
