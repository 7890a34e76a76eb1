"""The read side never runs the store on the event loop: a dashboard read (a refresh, a page of
the enforcement log) goes on while the writer holds a big write open and while it commits, and
never holds the loop more than 2 ms (the loop carries enforcement, whose breach-to-order budget
is 10 ms). What it reads is what the store holds: each account's own active locks, ids and all.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Coroutine, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from risk_manager.api.server import MAX_LIMIT
from risk_manager.config.models import Config
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.engine.engine import Engine
from risk_manager.engine.factory import calendar_for
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.daemon import Daemon
from risk_manager.runtime.enforcer import Enforcer
from risk_manager.runtime.metrics import Metrics
from risk_manager.store import Store
from risk_manager.store.db import Database
from risk_manager.store.ports import StorePort
from support.daemons import daemon_from_fakes

T = TypeVar("T")
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
STALL = 0.002  # seconds: the longest a dashboard read may keep the loop's thread busy at once
BIG_WRITE_ROWS = 50_000  # fills in the one transaction the reads run beside
# One statement run inside SQLite, the GIL released: a writer slow on disk, not in Python.
BIG_WRITE = f"""
INSERT INTO fills (id, account_id, contract_id, created_at, price, size, side, fees,
                   commissions, voided, order_id, trading_day)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {BIG_WRITE_ROWS})
SELECT i, 99, 'CON.F.US.MNQ.H26', '2026-03-10T14:00:00.000000+00:00', '21000.25', 1, 0,
       '0.74', '0.00', 0, i, '2026-03-10' FROM n
"""


def _lock(account_id: int, rule: str = "daily_realized_loss", **kw: Any) -> Lock:
    return Lock(account_id, rule, LockKind.HARD, f"{rule} hit", NOW, None, **kw)


def _journal_page(store: Store, accounts: tuple[int, ...]) -> None:
    """A full page of the enforcement log (``MAX_LIMIT`` finished entries)."""
    for n in range(MAX_LIMIT):
        intent = {"contract_id": "CON.F.US.MNQ.H26", "size": 2, "reason": f"#{n}", "at": NOW}
        account = accounts[n % len(accounts)]
        entry = store.journal_intent(account, "max_contracts", "close_position", intent, NOW)
        store.journal_outcome(entry, "confirmed", "closed", NOW + timedelta(milliseconds=n))


def _daemon(store: StorePort, accounts: tuple[int, ...]) -> Daemon:
    """An unstarted daemon holding ``store``, guarding with one real actor per account."""
    config = Config.model_validate({})
    daemon = daemon_from_fakes(config, store=store, clock=lambda: NOW)
    calendar = calendar_for(config.trading_day)
    for acct in accounts:
        engine = Engine(config.rules_for(acct), calendar, config.catalog())
        enforcer = Enforcer(None, store, lambda: NOW)  # type: ignore[arg-type]
        daemon.actors[acct] = AccountActor(acct, engine, enforcer, store, lambda: NOW, Metrics())
    daemon.health.guarding = True
    return daemon


class _Recording:
    """The store behind the port, noting the thread of every call made through it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.threads: list[tuple[str, int]] = []

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)  # a property (schema_version) is read here
        self.threads.append((name, threading.get_ident()))
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            self.threads.append((name, threading.get_ident()))
            return value(*args, **kwargs)

        return call


class _OnLoop(Generic[T]):
    """Awaits a coroutine one step at a time, as its task would, noting the CPU time the
    loop's thread spends in each step: how long the coroutine holds the loop in one go. CPU
    time, not wall time: a loaded machine that preempts the loop, or a thread holding the
    GIL, stretches wall time by whatever it likes (the ticker below reports that)."""

    def __init__(self, coro: Coroutine[Any, Any, T], steps: list[float]) -> None:
        self._coro = coro
        self._steps = steps

    def __await__(self) -> Generator[Any, Any, T]:
        value: Any = None
        error: BaseException | None = None
        while True:
            started = time.thread_time()
            try:
                waiting = self._coro.send(value) if error is None else self._coro.throw(error)
            except StopIteration as done:
                return cast(T, done.value)
            finally:
                self._steps.append(time.thread_time() - started)
            try:
                value, error = (yield waiting), None
            except BaseException as exc:  # a cancellation: the coroutine gets it
                value, error = None, exc


@dataclass
class _Ticks:
    """A 1 ms ticker on the loop: how late each tick fired, for the failure message."""

    lags: list[float] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started = loop.time()
            await asyncio.sleep(0.001)
            self.lags.append(loop.time() - started - 0.001)

    def summary(self) -> str:
        lags = sorted(self.lags)
        return (
            f"{len(lags)} ticks of a 1 ms ticker: lag max {lags[-1] * 1000:.1f} ms, "
            f"p99 {lags[len(lags) * 99 // 100] * 1000:.1f} ms"
        )


async def test_a_dashboard_read_never_holds_the_loop_over_2ms_while_the_writer_commits(
    tmp_path: Path,
) -> None:
    """The writer (the store's own write connection, in a worker thread as in the daemon)
    holds a 50k-row transaction open while five dashboard reads run, then commits while more
    run. Every read completes while the write is open (none waits on it), no store call runs
    on the loop's thread, and no step of a read keeps the loop's thread busy 2 ms."""
    db = Database.open(tmp_path / "rm.db")
    with Store(db) as store:
        store.add_lock(_lock(7))
        _journal_page(store, (7, 8, 9))
        recording = _Recording(store)
        read_side = _daemon(cast(StorePort, recording), (7,)).read_side
        await read_side.refresh()  # the first refresh streams the whole log once
        holding, release, committed = threading.Event(), threading.Event(), threading.Event()

        def big_write() -> None:
            with db.write() as conn:
                conn.execute(BIG_WRITE)
                holding.set()
                release.wait(30)
            committed.set()

        async def dashboard_read() -> None:
            await read_side.refresh()
            page = await read_side.enforcements(None, MAX_LIMIT)
            assert len(page) == MAX_LIMIT
            view = read_side.account(7)
            assert view is not None and [lock["rule"] for lock in view["locks"]] == [
                "daily_realized_loss"
            ]

        loop_thread = threading.get_ident()
        steps: list[float] = []
        ticks, stop = _Ticks(), asyncio.Event()
        writer = asyncio.ensure_future(asyncio.to_thread(big_write))
        ticker = asyncio.ensure_future(ticks.run(stop))
        recording.threads.clear()
        try:
            assert await asyncio.wait_for(asyncio.to_thread(holding.wait, 30), 30)
            for _ in range(5):  # the write lock held, its 50k rows not committed
                await asyncio.wait_for(_OnLoop(dashboard_read(), steps), 10)
                assert not committed.is_set()
            release.set()
            while not committed.is_set():  # the commit: WAL append and fsync
                await asyncio.wait_for(_OnLoop(dashboard_read(), steps), 10)
            await asyncio.wait_for(writer, 30)
        finally:
            release.set()
            stop.set()
            await ticker
            await writer
        on_loop = sorted({name for name, thread in recording.threads if thread == loop_thread})
        assert recording.threads and not on_loop, f"store read on the event loop: {on_loop}"
        longest = max(steps)
        assert longest <= STALL, f"a step held the loop {longest * 1000:.2f} ms; {ticks.summary()}"
        assert len(store.fills(99)) == BIG_WRITE_ROWS  # the big write did land


async def test_each_account_shows_its_own_active_locks_with_their_store_ids(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path / "rm.db") as store:
        daily = store.add_lock(_lock(7))
        cooldown = store.add_lock(_lock(7, "cooldown_after_loss"))
        ended = store.add_lock(_lock(8, "max_trades"))
        store.clear_lock(ended.id or 0, NOW, "admin", "test")
        other = store.add_lock(_lock(8, "trailing_drawdown"))
        store.add_lock(_lock(10))  # an account this daemon does not guard
        read_side = _daemon(store, (7, 8, 9)).read_side
        await read_side.refresh()

        def shown(account_id: int) -> list[tuple[int, str]]:
            view = read_side.account(account_id)
            assert view is not None
            return [(lock["id"], lock["rule"]) for lock in view["locks"]]

        assert shown(7) == [(daily.id, "daily_realized_loss"), (cooldown.id, "cooldown_after_loss")]
        assert shown(8) == [(other.id, "trailing_drawdown")]
        assert shown(9) == []
        assert read_side.health()["database_accessible"] is True


class _Unreadable(_Recording):
    """The store behind the port, its reads failing as a lost disk or a corrupt file fails."""

    def __getattr__(self, name: str) -> Any:
        if name in ("active_locks", "journal", "schema_version"):
            raise sqlite3.OperationalError("disk I/O error")
        return super().__getattr__(name)


async def test_a_store_that_cannot_be_read_is_said_by_health_not_raised_to_the_reader(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path / "rm.db") as store:
        store.add_lock(_lock(7))
        failing = _Unreadable(store)
        read_side = _daemon(cast(StorePort, failing), (7,)).read_side
        await read_side.current()  # what /health and /accounts do before answering
        health = read_side.health()
        assert (health["status"], health["database_accessible"]) == ("down", False)
        assert read_side.account(7) is not None  # shown, with the engine's own locks


async def test_the_journal_is_streamed_and_served_from_the_store_never_kept_in_memory(
    tmp_path: Path,
) -> None:
    """The daemon's enforcement log is the store's journal: a copy of every streamed entry in
    memory (a thousand, each streamed twice: pending, then with its outcome) was a holder of
    the soak's growth that no reader read."""
    with Store.open(tmp_path / "rm.db") as store:
        _journal_page(store, (7,))
        read_side = _daemon(store, (7,)).read_side
        stream = read_side.subscribe()
        await read_side.refresh()
        streamed = [m for m in _drain(stream) if m["type"] == "enforcement"]
        assert len(streamed) == 50  # JOURNAL_STREAMED, the newest
        page = await read_side.enforcements(None, MAX_LIMIT)
        assert len(page) == MAX_LIMIT and page[0]["id"] == streamed[-1]["entry"]["id"]
        assert not read_side._log  # nothing kept beside the store


def _drain(queue: asyncio.Queue[Any]) -> list[Any]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out
