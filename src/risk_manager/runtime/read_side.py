"""The daemon's read side for the API: account views, the enforcement log from the store's
journal, and health, from explicit parts (the accounts' actors, the store's lock and journal
reads, a health source), never the daemon itself.

It works only for a reader: while a dashboard listens on the stream it publishes the accounts
that changed (coalesced, at most every ``interval``) and, once a second, those whose view moves
with the clock alone (a lock's countdown, a new trading day); a REST read brings both up to
date first (``current``). While nobody reads, it does nothing: an account that
changes is only marked. The store is read in a worker thread, on its read-only connection
(docs/STORE.md): a dashboard read never runs SQLite on the event loop, which carries
enforcement."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from risk_manager.api.memory import MemoryReadModel
from risk_manager.api.read_model import iso
from risk_manager.config.models import Config
from risk_manager.config.rules import RulesConfig
from risk_manager.domain.locks import Lock
from risk_manager.engine.factory import calendar_for
from risk_manager.engine.rules import RULE_CLASSES
from risk_manager.engine.view import AccountView
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.control import DaemonControl
from risk_manager.runtime.enforcement_first import EnforcementFirst
from risk_manager.runtime.health import DaemonHealth
from risk_manager.runtime.history import history_json
from risk_manager.runtime.slices import in_slices
from risk_manager.runtime.views import PnlCurve, account_json, enforcement_json
from risk_manager.store.ports import (
    FillStore,
    JournalStore,
    LockStore,
    SnapshotStore,
    StoreLifecycle,
)
from risk_manager.store.records import JournalEntry
from risk_manager.types import JSON, Clock

_log = logging.getLogger(__name__)

JOURNAL_STREAMED = 50  # newest journal entries compared at each refresh
TICK_EVERY = 1.0  # seconds: lock countdowns move this often while a dashboard listens
VIEWS_PER_SLICE = 4  # account views built per loop callback (~0.3 ms each)
# The most of the loop's time the dashboards' views take: past it the next refresh waits, so
# a dashboard over hundreds of moving accounts slows its own updates, never the accounts'.
LOOP_SHARE = 0.2


class ReadStore(LockStore, JournalStore, SnapshotStore, FillStore, StoreLifecycle, Protocol):
    """The store reads the read side makes: active locks, the journal, the P&L snapshots
    (the curve), fills and lock history (the history view), a liveness probe."""


@dataclass(frozen=True, slots=True)
class _Stored:
    """What one refresh reads from the store: active locks by account (with their ids), the
    newest journal entries, and whether the store answers (when it does not, no locks and
    no journal: the views show the engine's locks, and health says the store is down)."""

    locks: dict[int, list[Lock]]
    journal: list[JournalEntry]
    answers: bool


def _answers(store: ReadStore) -> bool:
    """Blocking: run in a worker thread. Whether a cheap query of the store succeeds."""
    try:
        store.schema_version  # noqa: B018 - a cheap query proves the store answers
    except Exception:
        return False
    return True


def _read_store(
    store: ReadStore,
    now: datetime,
    curves: Mapping[int, tuple[date, PnlCurve]],
    feeding: threading.Lock,
) -> _Stored:
    """Blocking: run in a worker thread. One query for every account's active locks; one per
    account in ``curves`` (its trading day now, its curve) for the snapshots stored since the
    curve last read, fed into the curve here: a day's worth after a restart is thousands of
    points per account, never decoded on the loop. (One read at a time, ``feeding``: a
    cancelled refresh's thread runs on; and a refresh publishes only after its own read, so
    nothing else touches a curve meanwhile.) A store that fails a read is a store that does
    not answer: said by health, never raised to the reader (``/health`` must answer "down",
    not fail)."""
    with feeding:  # a cancelled refresh's thread may still be feeding the same curves
        return _read(store, now, curves)


def _read(store: ReadStore, now: datetime, curves: Mapping[int, tuple[date, PnlCurve]]) -> _Stored:
    locks: dict[int, list[Lock]] = {}
    try:
        if curves:
            for lock in store.active_locks(now):  # oldest first, as per account
                locks.setdefault(lock.account_id, []).append(lock)
        for acct, (day, curve) in curves.items():
            label = day.isoformat()
            curve.add_stored(store.snapshots(acct, day, curve.after_for(label)), label)
        journal = store.journal(limit=JOURNAL_STREAMED)
    except Exception:
        return _Stored({}, [], answers=False)
    return _Stored(locks, journal, answers=_answers(store))


def _moves(view: AccountView, locks: list[Lock]) -> bool:
    """The view changes with time alone: a lock with an end counts down, or a rule measures a
    time window with something in it (RULE-006's fills of the last minute leave it). From the
    view as shown, not the engine's locks, which keep ended ones as history."""
    return any(lock.ends_at is not None or lock.cleared_at is not None for lock in locks) or any(
        rule.value and RULE_CLASSES[rule.key].measure_moves_with_clock for rule in view.rules
    )


class DaemonReadSide(MemoryReadModel):
    """The ``ReadModel`` the local API serves while the daemon runs.

    ``actors``: the daemon's accounts (filled as it starts; an account is shown from its first
    snapshot on); ``store``: lock and journal reads; ``health``: the health source; ``config``:
    each account's rule settings and the contract catalog; ``interval``: seconds between
    published refreshes at most; ``first``: the daemon's enforcement-first hold (a refresh's
    views wait for an enforcement's journal write, at most its cap a refresh:
    runtime/enforcement_first.py). ``mark(account_id)`` is the actors' change feed,
    ``mark_lock(account_id)`` their new locks (shown at once, between refreshes)."""

    def __init__(
        self,
        actors: Mapping[int, AccountActor],
        store: ReadStore,
        health: DaemonHealth,
        config: Config,
        clock: Clock,
        *,
        control: DaemonControl | None = None,
        interval: float = 0.2,
        first: EnforcementFirst | None = None,
    ) -> None:
        # The enforcement log is the store's journal (``enforcements`` reads it): entries are
        # streamed, none kept here (a thousand copies were a holder of the soak's growth).
        super().__init__(log_size=0)
        self._control = control
        self._actors = actors
        self._store = store
        self._source = health
        self._config = config
        self._catalog = config.catalog()
        self._calendar = calendar_for(config.trading_day)
        self._clock = clock
        self._interval = interval
        self._first = first or EnforcementFirst()
        self._dirty: set[int] = set(actors)
        self._wake = asyncio.Event()
        self._locked: set[int] = set()  # accounts locked since their last view (``mark_lock``)
        self._lock_wake = asyncio.Event()
        self._curves: dict[int, PnlCurve] = {}
        self._curve_streamed: dict[int, int] = {}  # account -> its curve's revision streamed
        self._days: dict[int, str] = {}  # account -> the trading day its view shows
        self._moving: set[int] = set()  # accounts whose shown view moves with the clock
        self._pending_shown: dict[int, list[JSON]] = {}  # account -> loosenings its view shows
        self._sent_outcomes: dict[int, str | None] = {}  # journal id -> outcome last streamed
        self._view_failed: set[int] = set()  # accounts whose last view build raised
        self._feeding = threading.Lock()  # one store read feeding the curves at a time
        self._refreshing = asyncio.Lock()  # the daemon's start refreshes too: one at a time
        self._db_ok: bool | None = None  # the store answered at the last refresh (None: not yet)
        self.refreshes = 0  # refreshes done (a test counts them while nobody listens)
        self.views_built = 0  # account views built by them
        self.refresh_cpu = 0.0  # seconds of the loop's CPU the last refresh took

    def mark(self, account_id: int) -> None:
        """The account changed (an actor handled an event): shown again at the next refresh.
        While nobody listens it is only marked: waking ``run`` after every burst of events
        for nothing was loop work inside a breach's enforcement (docs/PERFORMANCE.md)."""
        self._dirty.add(account_id)
        if self.subscriber_count:
            self._wake.set()

    def mark_lock(self, account_id: int) -> None:
        """The account was just locked (its lock row written, its enforcement's journal
        writes done): shown to the dashboards at once, in a refresh of its own, not after the
        pause that keeps a dashboard over hundreds of moving accounts within ``LOOP_SHARE``
        (up to ~1.5 s at 500 accounts). A trader must see the lock as the guard enforces it."""
        self._dirty.add(account_id)
        self._locked.add(account_id)
        if self.subscriber_count:
            self._wake.set()
            self._lock_wake.set()

    def subscribe(self) -> asyncio.Queue[JSON]:
        """A dashboard listens: what changed while nobody did is published at once."""
        queue = super().subscribe()
        self._wake.set()
        return queue

    def health(self) -> JSON:
        """Live: the health source now, with the store's answer at the last refresh. Before
        the first refresh the daemon is not guarding: never "ok" by default."""
        if self._db_ok is None:
            not_yet = {"connected": False}
            return {
                **super().health(),
                "status": "down",
                "problem": "starting: not guarding yet",
                "signalr_connected": False,
                "hubs": {"user": not_yet, "market": not_yet},
            }
        return {**self.health_now(db_ok=self._db_ok), "accounts_monitored": len(self._accounts)}

    async def current(self) -> None:
        """A reader is about to read: bring the changed accounts (and health) up to date, and
        the views that move with the clock alone (a lock's countdown, a new trading day):
        while nobody listens nothing else refreshes them."""
        await self.refresh()

    async def current_health(self) -> None:
        """``/health`` is about to be read: ask the store whether it answers (in a worker
        thread). No account view is built: a monitor polling ``/health`` is not a dashboard."""
        self._db_ok = await asyncio.to_thread(_answers, self._store)

    async def run(self) -> None:
        """While a dashboard listens: publish changed accounts (coalesced), new journal
        entries and health, and once a second the views that move with the clock."""
        loop = asyncio.get_running_loop()
        ticked = loop.time()
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for drops a cancel that races the
            # wake-up (gh-86296) and the daemon's stop would wait on this task forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK_EVERY):
                    await self._wake.wait()
            self._wake.clear()
            if not self.subscriber_count:  # nobody watches: changes are only marked
                continue
            ticking = loop.time() - ticked >= TICK_EVERY
            if ticking:
                ticked = loop.time()
            try:
                await self.refresh(ticking=ticking)
            except Exception:  # the dashboard must not freeze for the rest of the run
                _log.exception("read side refresh failed; trying again")
            await self._pause_showing_locks(self.pause())

    async def _pause_showing_locks(self, seconds: float) -> None:
        """Wait ``seconds`` before the next refresh; an account locked meanwhile is shown at
        once, alone (its own refresh: the others' changes wait for the next)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while (left := until - loop.time()) > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._lock_wake.wait()
            self._lock_wake.clear()
            if self._locked and self.subscriber_count:
                locked, self._locked = self._locked, set()
                try:
                    await self.refresh(ticking=False, only=locked)
                except Exception:
                    _log.exception("read side refresh failed; trying again")

    def pause(self) -> float:
        """Seconds from the last refresh to the next: ``interval``, or, when that refresh
        took more of the loop's CPU than ``LOOP_SHARE`` of the time to the next, longer:
        (1 / share - 1) times its CPU (a dashboard over 500 moving accounts: their views are
        then shown less often, and the accounts' events keep the rest of the loop)."""
        return max(self._interval, self.refresh_cpu * (1 / LOOP_SHARE - 1))

    async def refresh(self, *, ticking: bool = True, only: set[int] | None = None) -> None:
        """Publish the changed accounts' views (with ``ticking``, also those that move with
        the clock alone), the journal entries new or finished since the last refresh, and
        health. The store is read in a worker thread (its read-only connection); the views
        are built here, on the loop, from the actors' engines, ``VIEWS_PER_SLICE`` per loop
        callback. ``only``: of the changed accounts, these alone (a lock shown at once); its
        CPU is not the refreshes' share (``pause``)."""
        async with self._refreshing:
            await self._refresh(ticking, only)

    async def _refresh(self, ticking: bool, only: set[int] | None = None) -> None:
        now = self._clock()
        locks_due = set(self._locked) if only is None else set(only)  # put back if cancelled
        if only is None:
            dirty, self._dirty = self._dirty, set()
            self._locked.clear()  # shown by this refresh
            # The admin's control changes pending loosenings without an event of the account.
            dirty |= {a for a in self._curves if self._pending(a) != self._pending_shown.get(a, [])}
        else:
            dirty = self._dirty & only
            self._dirty -= dirty
        if ticking:
            dirty |= self._ticking(now)
        # Before an account's first snapshot its view would show guesses; an account never
        # shown yet is shown the moment it has one, whatever else changed.
        shown = {acct for acct, actor in self._actors.items() if actor.reconciled}
        dirty = (dirty & shown) | (shown - set(self._days))
        days = self._trading_days(now, dirty)
        curves = {acct: (days[acct], self._curves.setdefault(acct, PnlCurve())) for acct in dirty}
        left = set(dirty)  # not published yet
        try:
            # The store's read and the views wait while a breach's journal write is in
            # flight (its thread needs the GIL), at most the hold's cap a refresh in all.
            held = await self._first.held_for(0.0)
            stored = await asyncio.to_thread(_read_store, self._store, now, curves, self._feeding)
            self.refreshes += 1
            cpu = 0.0  # the loop's, for this refresh's own parts (the store's read: a thread's)
            # A dashboard over 500 accounts that all moved (quotes) is 500 views: built a slice
            # per loop callback, so a breach's events never wait behind them all, and none
            # while a breach's journal write is in flight (its thread needs the GIL the views
            # would hold), at most the hold's cap a refresh.
            async for part in in_slices(sorted(dirty), VIEWS_PER_SLICE):
                held = await self._first.held_for(held)
                started = time.thread_time()
                for acct in part:
                    self._publish_one(acct, now, stored.locks.get(acct), days[acct])
                    left.discard(acct)
                cpu += time.thread_time() - started
        except asyncio.CancelledError:
            # Cancelled (a dashboard that closed while its snapshot was being made cancels the
            # refresh it awaited): what this one did not publish is still changed for the next,
            # or every other dashboard would keep its old view of those accounts.
            self._dirty |= left
            self._locked |= left & locks_due
            if self.subscriber_count:
                self._wake.set()
            raise
        started = time.thread_time()
        if stored.answers:  # a store that did not answer leaves the log as streamed
            self._stream_journal(stored.journal)
        self._db_ok = stored.answers
        self.set_health(**self.health_now(db_ok=stored.answers))
        if only is None:
            self.refresh_cpu = cpu + time.thread_time() - started

    def _stream_journal(self, recent: list[JournalEntry]) -> None:
        """New entries, and entries whose outcome arrived since: the pages merge them by id."""
        for entry in reversed(recent):
            outcome = entry.outcome.value if entry.outcome is not None else None
            if entry.id not in self._sent_outcomes or self._sent_outcomes[entry.id] != outcome:
                self._sent_outcomes[entry.id] = outcome
                self.record_enforcement(enforcement_json(entry))
        keep = {e.id for e in recent}
        self._sent_outcomes = {k: v for k, v in self._sent_outcomes.items() if k in keep}

    def _ticking(self, now: datetime) -> set[int]:
        """Shown accounts whose view moves with the clock alone (``_moves``: a lock or its
        pending clearing counting down; each shown once more when it has stopped), or whose
        trading day has turned since the view was built."""
        out = set(self._moving)
        for acct, today in self._trading_days(now, self._days).items():
            if self._days.get(acct) != today.isoformat():
                out.add(acct)
        return out

    def _trading_days(self, now: datetime, accounts: Iterable[int]) -> dict[int, date]:
        """Each account's trading day at ``now``, read once per calendar (by identity: the
        accounts share one; a reading is ~25 µs, twice per view at 500 accounts before)."""
        by_calendar: dict[int, date] = {}
        out: dict[int, date] = {}
        for acct in accounts:
            calendar = self._actors[acct].engine.calendar
            today = by_calendar.get(id(calendar))
            if today is None:
                today = by_calendar[id(calendar)] = calendar.trading_day(now)
            out[acct] = today
        return out

    def _publish_one(
        self, acct: int, now: datetime, locks: list[Lock] | None, trading_day: date
    ) -> None:
        """``_publish_account``, and an account whose view cannot be built is logged (once
        until it can be again) and skipped: the others, the enforcement log and health are
        still streamed, and the dashboards keep that account's last view."""
        try:
            self._publish_account(acct, now, locks, trading_day)
        except Exception:
            if acct not in self._view_failed:
                self._view_failed.add(acct)
                _log.exception("account %d: its view could not be built; shown as it was", acct)
        else:
            self._view_failed.discard(acct)

    def _publish_account(
        self, acct: int, now: datetime, locks: list[Lock] | None, trading_day: date
    ) -> None:
        actor = self._actors[acct]
        view = actor.engine.view(acct, now)
        day = trading_day.isoformat()
        self._days[acct] = day
        curve = self._curves[acct]  # the stored snapshots are in already (_read_store)
        curve.add(now, view.net, day)
        self.views_built += 1
        shown = locks or list(view.locks)
        if _moves(view, shown):
            self._moving.add(acct)
        else:
            self._moving.discard(acct)
        pending = self._pending_shown[acct] = self._pending(acct)
        # A day's curve is hundreds of points: streamed only when it gained or lost one, not
        # with each view (it was 1.8 ms of JSON and 80 kB per view late in the day).
        curve_changed = self._curve_streamed.get(acct) != curve.revision
        self._curve_streamed[acct] = curve.revision
        self.put_account(
            account_json(
                view,
                self._catalog,
                trading_day=day,
                curve=curve.points(),
                locks=shown,
                settings=self._settings(acct),
                pending=pending,
                zone=actor.engine.calendar.tz,
            ),
            stream_curve=curve_changed,
        )

    def _settings(self, acct: int) -> RulesConfig:
        control = self._control
        return self._config.rules_for(acct) if control is None else control.rules_in_force(acct)

    def _pending(self, acct: int) -> list[JSON]:
        """The account's loosenings waiting for ``admin.loosen_delay`` (docs/API.md)."""
        control = self._control
        if control is None:
            return []
        return [
            {
                "rule": p.rule,
                "before": p.before,
                "after": p.after,
                "due_at": iso(p.due_at),
                "text": control.describe(p),
            }
            for p in control.pending(acct)
        ]

    async def enforcements(self, account_id: int | None, limit: int) -> list[JSON]:
        """The journal, newest first, read and shaped in a worker thread (a page may ask for
        hundreds of entries: never decoded on the loop)."""
        return await asyncio.to_thread(self._enforcements, account_id, limit)

    def _enforcements(self, account_id: int | None, limit: int) -> list[JSON]:
        entries = self._store.journal(account_id=account_id, limit=limit)
        return [enforcement_json(e) for e in entries]

    async def history(self, days: int) -> JSON:
        """Past trading days and ended locks of the daemon's accounts, read from the store
        in a worker thread (runtime/history.py)."""
        now = self._clock()
        names = {acct: actor.engine.name(acct) or str(acct) for acct, actor in self._actors.items()}
        return await asyncio.to_thread(history_json, self._store, names, self._calendar, now, days)

    def health_now(self, *, db_ok: bool) -> JSON:
        """Health for ``/health`` and the dashboards; ``db_ok``: the store answered."""
        source = self._source
        user, market = source.streams()
        problems = source.problems()
        healthy = user and db_ok and source.guarding and not problems
        status = "ok" if healthy else ("degraded" if db_ok else "down")
        return {
            "status": status,
            "problem": "; ".join(problems) or None,
            "uptime": round(time.monotonic() - source.started_monotonic, 1),
            "accounts_monitored": source.accounts,
            "signalr_connected": user and market,
            "database_accessible": db_ok,
            "last_event": iso(source.last_event_at),
            "hubs": {"user": {"connected": user}, "market": {"connected": market}},
        }
