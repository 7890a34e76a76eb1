"""The live daemon: the account actors over the store, the alert channels and one broker
session per gateway connection, in one async context manager with one staged shutdown path
(DESIGN.md style 11). It builds none of its parts: the composition root (runtime/bootstrap.py)
hands them in, and the command serves the local API over its read side (cli/run.py).

Start (the store open, the API served by then): log in → find the guarded accounts → build one
engine and actor per account → restore rule memory and locks → connect the hubs → reconcile
every account from REST, hot accounts first (rules re-evaluated on the broker's truth before
any hub event reaches them; each account guarded as soon as its own snapshot is in) → mark
enforcement left unfinished by a previous run as re-checked. After every hub reconnect the
session's accounts are reconciled again (runtime/session.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from risk_manager.calendar import TradingCalendar
from risk_manager.config.models import Config
from risk_manager.domain.errors import RefuseToStart
from risk_manager.engine.engine import Engine
from risk_manager.engine.memory import OUR_TAGS_KEPT
from risk_manager.runtime import shutdown
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.alerts import AlertChannels
from risk_manager.runtime.alerts.watch import AlertWatch, unclean_stop
from risk_manager.runtime.control import DaemonControl
from risk_manager.runtime.enforcer import Enforcer
from risk_manager.runtime.health import DaemonHealth
from risk_manager.runtime.loop_lag import watch_loop_lag
from risk_manager.runtime.maintenance import Maintenance
from risk_manager.runtime.metrics import Metrics
from risk_manager.runtime.pnl_snapshots import PnlSnapshots
from risk_manager.runtime.read_side import DaemonReadSide
from risk_manager.runtime.run_marker import RunMarker
from risk_manager.runtime.session import BrokerSession
from risk_manager.runtime.tasks import NamedTasks
from risk_manager.store.ports import StorePort
from risk_manager.store.records import JournalEntry, JournalOutcome
from risk_manager.types import Clock, utc_now

_log = logging.getLogger(__name__)

# Seconds a thread that wants the GIL waits for the event loop's thread to hand it over
# (Python's default 0.005). The journal's write before a send runs in a thread and takes the
# GIL back after each SQLite call (BEGIN, INSERT, COMMIT's fsync): while hundreds of accounts'
# quotes keep the loop busy, each take waited up to 5 ms, and the slowest breaches at 500
# accounts spent most of their time there (docs/PERFORMANCE.md "Capacity", "Last round").
SWITCH_INTERVAL = 0.0005

# The collector's youngest generation is collected after this many more container objects
# were made than freed (Python's default 700). At 500 accounts about 7,000 young objects are
# alive at any time (each actor's wait on its queue, its idle timer), so each collection
# walked them all for nothing: 100 collections in 30 s of breaches, 0.5 - 8 ms each, and ten
# of the middle generation, 7 - 13 ms each, one loop callback each (docs/PERFORMANCE.md
# "Capacity", sixth session). Raised, they come less often (2 - 5 in that window, 7 - 21 ms
# each; the thresholds' ratio says ~14 times); the garbage they are for (reference cycles) is
# rare here and waits longer.
GC_YOUNG_THRESHOLD = 10_000


@dataclass(frozen=True, slots=True)
class DaemonParts:
    """What the composition root (runtime/bootstrap.py ``bootstrap``) hands the daemon: the
    store (open), the broker sessions (one per gateway connection; built, entered by the
    daemon's start), the alert channels (built, entered by the start), the metrics, the
    trading calendar, ``actors`` (empty: the daemon fills it with one actor per guarded
    account as it starts; the read side and the health source read it), the health source,
    the read side (run by the daemon, served by the command), ``listeners`` told of every
    account an actor changed (the read side's ``mark`` first), the admin ``control``
    (runtime/control.py: its settings planned as each account starts, its timer and file
    watch run as tasks), ``maintenance`` (the store's backups and retention, run by the
    daemon once it guards; None for a store without them), ``watch`` (the daemon's own alert
    rules, run from the start), ``run_marker`` (the unclean-stop marker: written at the
    start, removed by a clean stop) and ``closing``, which closes the store and releases its
    hold once the daemon has stopped. The daemon builds none of them."""

    store: StorePort
    closing: contextlib.ExitStack
    sessions: tuple[BrokerSession, ...]
    alerts: AlertChannels
    metrics: Metrics
    calendar: TradingCalendar
    actors: dict[int, AccountActor]
    health: DaemonHealth
    read_side: DaemonReadSide
    listeners: tuple[Callable[[int], None], ...]
    control: DaemonControl
    maintenance: Maintenance | None = None  # backups and retention (a real store only)
    watch: AlertWatch | None = None  # the daemon's own alert rules
    run_marker: RunMarker | None = None  # tells a start after an unclean stop (a real store)
    snapshots: PnlSnapshots | None = None  # P&L snapshots into the store (None: not taken)


class Daemon:
    """One run of the guard over the parts it is handed (build it with ``bootstrap``).

    ``async with daemon`` (or ``await daemon.start()`` then ``await daemon.stop()``) guards
    until stopped; ``stop`` also closes the parts handed in, so a daemon that never started is
    stopped too (``contextlib.aclosing``)."""

    def __init__(self, config: Config, parts: DaemonParts, *, clock: Clock = utc_now) -> None:
        self.config = config
        self.clock = clock
        self.metrics = parts.metrics
        self.calendar = parts.calendar
        self.catalog = config.catalog()
        self.sessions = parts.sessions
        self._parts = parts
        self.actors = parts.actors
        self.health = parts.health
        self.read_side = parts.read_side
        self.control = parts.control  # the admin's: reload, clear locks, reset an account
        self._listeners = parts.listeners
        self._session_of: dict[int, BrokerSession] = {}  # account -> the session carrying it
        self._sessions_open = contextlib.AsyncExitStack()  # closed in the "connections" phase
        self._alerts_open = contextlib.AsyncExitStack()  # closed in the "alerts" phase
        self._tasks = NamedTasks()
        self._stopped = False
        self._switch_interval: float | None = None  # the process's own, while we hold ours
        self._gc_thresholds: tuple[int, int, int] | None = None  # the same, the collector's
        self._alerts: AlertChannels | None = None  # entered by the start
        self.shutdown_took: dict[str, float] = {}  # seconds each phase of the stop took

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def store(self) -> StorePort:
        """The store handed in (open from construction until the stop's last phase)."""
        return self._parts.store

    @property
    def session(self) -> BrokerSession:
        """The first (today: the only) gateway connection."""
        return self.sessions[0]

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def start(self) -> None:
        """Guard: log in, find the accounts, restore, connect, reconcile (the module's
        docstring). Returns once every account is guarded; retries the login and the account
        search without end (a guard that gives up leaves every account unguarded). On a
        failure (``RefuseToStart`` for unreadable rule memory, a store error) the daemon is
        stopped before the error is raised."""
        try:
            await self._start()
        except BaseException:
            await self.stop()  # the tasks the start spawned (actors guarding already) too
            raise

    async def aclose(self) -> None:
        """``stop``, for ``contextlib.aclosing``."""
        await self.stop()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _start(self) -> None:
        store = self.store
        # Read before this run journals anything: only these are a previous run's leftovers.
        left_unfinished = store.unfinished_actions()
        for session in self.sessions:
            await self._sessions_open.enter_async_context(session)
        alerts = await self._alerts_open.enter_async_context(self._parts.alerts)
        marker = self._parts.run_marker
        if marker is not None:
            previous = await asyncio.to_thread(marker.begin, self.clock())
            if previous is not None:
                alerts.send(unclean_stop(previous, self.clock))
        if self._parts.watch is not None:
            self._tasks.spawn(self._parts.watch.run(), "alert-watch")
        self._tasks.spawn(self.read_side.run(), "read-side")
        snapshots = self._parts.snapshots
        now = self.clock()
        self._alerts = alerts
        # The settings in force and pending loosenings, first.
        self.control.restore(now, guard_added=self.guard_added)
        for session in self.sessions:
            for account in await session.guarded_accounts(self._kept):
                if account.id in self.actors:  # two keys see it: one guard, not two
                    _log.warning("account %s is guarded by its first connection", account.id)
                    continue
                actor = self._actor(account.id, session, alerts)
                session.carry(actor)
                self._session_of[account.id] = session
                await self._restore(actor, now)
        for session in self.sessions:
            # The hub first: reads taken after it is up miss no event, so its connect's own
            # reconciliation is this one (the same round), not a second.
            await session.connect()
        # Rules run on the broker's truth before any hub event; each account's actor starts
        # as soon as its own snapshot is in, hot accounts first (runtime/reconcile_queue.py).
        await asyncio.gather(*(session.reconcile_all() for session in self.sessions))
        self._recheck_unfinished(left_unfinished)
        self.control.save(self.clock())
        self._tasks.spawn(self.control.run(), "control")
        self._tasks.spawn(self.control.watch(), "config-watch")
        self._tasks.spawn(watch_loop_lag(self.metrics.loop_lag), "loop-lag")
        # What the start built (every account's engine, config and actor) lives as long as the
        # daemon: frozen out of the collector's full passes, each of which walked it all in one
        # loop callback (102 - 108 ms of CPU at 500 accounts, amid the breaches: PERFORMANCE.md
        # "Capacity"). Collected first, so no garbage is frozen; reference counting still
        # frees frozen objects, and what comes later is collected as before.
        gc.collect()
        gc.freeze()
        young, middle, old = self._gc_thresholds = gc.get_threshold()
        if young:  # 0: the collector was turned off by whoever runs us; left off
            gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), middle, old)
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(SWITCH_INTERVAL, self._switch_interval))
        self.health.guarding = True
        if self._parts.maintenance is not None:
            self._tasks.spawn(self._parts.maintenance.run(), "maintenance")
        await self.read_side.refresh()  # the views are the truth from this moment, not 0.2 s on
        if snapshots is not None:
            await snapshots.take()  # the curve's first point of this run: where it starts
            self._tasks.spawn(snapshots.run(), "pnl-snapshots")

    def _kept(self, account_id: int) -> bool:
        """An account the config file no longer guards that stays guarded (RULES.md §2
        "Clearings and loosenings"): its unguarding still waits for ``admin.loosen_delay``,
        or it has an active lock (taking an account off the file never ends a lock)."""
        if self.control.holds(account_id):
            return True
        if self.store.active_locks(self.clock(), account_id):
            _log.warning(
                "account %s is no longer guarded by the config file but has an active lock: "
                "still guarded until the lock ends",
                account_id,
            )
            return True
        return False

    async def guard_added(self, config: Config) -> list[int]:
        """Guard, live, the accounts ``config`` (a reloaded file) guards that this daemon does
        not yet: each visible one is built, restored, subscribed on its connection's user hub
        and reconciled, as at the start (docs/RUNTIME.md "Reload"). Returns their ids; raises
        what the account search raises (``RetryLater``, ``OSError``, ...)."""
        assert self._alerts is not None, "guard_added runs only once the daemon has started"
        added: list[int] = []
        now = self.clock()
        for session in self.sessions:
            visible = await session.client.search_accounts(only_active=True)
            for account in visible:
                if not config.guards(account.id) or account.id in self.actors:
                    continue
                actor = self._actor(account.id, session, self._alerts)
                session.carry(actor)
                self._session_of[account.id] = session
                await self._restore(actor, now)
                await session.guard_live(account.id)
                added.append(account.id)
                _log.warning("account %s: guarded from now on (added to the config)", account.id)
        return added

    def _actor(
        self, account_id: int, session: BrokerSession, alerts: AlertChannels
    ) -> AccountActor:
        """The account's engine and actor, enforcing through ``session``'s client."""
        engine = Engine(self.control.rules_in_force, self.calendar, self.catalog)
        return AccountActor(
            account_id,
            engine,
            Enforcer(session.client, self.store, self.clock, first=session.quotes.first),
            self.store,
            self.clock,
            self.metrics,
            on_change=self._changed,
            on_lock=self.read_side.mark_lock,
            alerts=alerts,
            fetch_close=session.latest_bar_close,
            reconciled=False,  # no hub event reaches the engine before its first snapshot
        )

    async def _restore(self, actor: AccountActor, now: datetime) -> None:
        """Rule memory, then the active locks, before any event: floors, tags, marks."""
        account_id, engine = actor.account_id, actor.engine
        self.actors[account_id] = actor
        self.control.start_account(actor, now)  # the rules in force, before any event
        self._restore_memory(engine, account_id, now)
        restored = self.store.active_locks(now, account_id)
        await actor.carry_out(engine.restore_locks(restored, now), now)
        if restored:
            _log.warning("account %s: %d lock(s) restored", account_id, len(restored))

    def _restore_memory(self, engine: Engine, account_id: int, now: datetime) -> None:
        """The account's rule memory from the store (docs/ENGINE.md "Restarts"). Unreadable
        memory refuses the start: guessing a floor again is the fault it exists to prevent."""
        stored = self.store.rule_memory(account_id)
        journalled = self.store.placed_tags(account_id, OUR_TAGS_KEPT)
        try:
            engine.restore_memory(account_id, stored, journalled, now)
        except ValueError as exc:
            raise RefuseToStart(
                f"account {account_id}: stored rule memory is unreadable ({exc}); restore the "
                "store from a backup, or remove its rule_memory rows for this account to "
                "start from the config again"
            ) from exc
        if stored:
            _log.info("account %s: rule memory restored (%s)", account_id, ", ".join(stored))

    async def stop(self) -> None:
        """In named phases, each bounded (runtime/shutdown.py): stop taking events, let
        enforcement in flight finish, settle the alerts, close the connections, then the
        store. Idempotent; a daemon never started closes the parts handed in."""
        if self._stopped:
            return
        self._stopped = True
        intake, enforcement, alerts, connections, store = shutdown.DAEMON_PHASES
        self.shutdown_took = await shutdown.run_phases(
            [
                (intake, self._stop_intake),
                (enforcement, self._drain_enforcement),
                (alerts, self._alerts_open.aclose),
                (connections, self._sessions_open.aclose),
                (store, self._close_store),
            ]
        )
        gc.unfreeze()  # what the start froze is collectable again (a process that goes on)
        if self._gc_thresholds is not None:
            gc.set_threshold(*self._gc_thresholds)
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)

    async def _stop_intake(self) -> None:
        await asyncio.gather(self._tasks.stop(), *(s.stop() for s in self.sessions))
        snapshots = self._parts.snapshots
        if snapshots is not None and self.health.guarding:
            await snapshots.take()  # where the curve stood at the stop: the next run shows it

    async def _drain_enforcement(self) -> None:
        enforcers = [actor.enforcer for actor in self.actors.values()]
        # One grace for all accounts together: drained one after another, ten accounts with a
        # hanging broker would take ten times the grace.
        await asyncio.gather(*(e.drain(shutdown.ENFORCEMENT_GRACE) for e in enforcers))
        await asyncio.gather(*(e.cancel_all() for e in enforcers))

    async def _close_store(self) -> None:
        if self._parts.run_marker is not None:  # a clean stop: the next start is no crash's
            with contextlib.suppress(OSError):
                self._parts.run_marker.end()
        self._parts.closing.close()  # the store and its hold (synchronous: SQLite's close)

    @property
    def tasks(self) -> frozenset[asyncio.Task[Any]]:
        """Every running task of the daemon and its sessions (named: ``actor-<id>``,
        ``read-side``, ``reconcile-after-connect``, ...)."""
        return self._tasks.running.union(*(s.tasks for s in self.sessions))

    def _changed(self, account_id: int) -> None:
        """An actor handled an event: its session re-reads its contracts, the listeners (the
        read side) mark it changed."""
        self._session_of[account_id].changed(account_id)
        for listener in self._listeners:
            listener(account_id)

    def _recheck_unfinished(self, left: list[JournalEntry]) -> None:
        """Actions a previous run left unfinished were re-checked by the reconciliation just
        done: the engine re-proposes what is still needed from the broker's real state, so
        the old intents are closed, never replayed. (Not this run's: the reconciliation's own
        enforcement may be in flight, and its outcome is still to be written.)"""
        now = self.clock()
        for entry in left:
            self.store.journal_outcome(
                entry.id,
                JournalOutcome.ABANDONED,
                "found unfinished after a restart; re-checked against the broker",
                now,
            )
