"""The daemon's read side for the API: account views refreshed at most every ``interval``,
the enforcement log from the store's journal, and health from the connections.

The store is read in a worker thread, on its read-only connection (docs/STORE.md): a dashboard
read never runs SQLite on the event loop, which carries enforcement."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from risk_manager.api.memory import MemoryReadModel
from risk_manager.api.read_model import iso
from risk_manager.domain.locks import Lock
from risk_manager.runtime.views import PnlCurve, account_json, enforcement_json
from risk_manager.store.ports import StorePort
from risk_manager.store.records import JournalEntry
from risk_manager.types import JSON

if TYPE_CHECKING:
    from risk_manager.runtime.daemon import Daemon

_log = logging.getLogger(__name__)

JOURNAL_STREAMED = 50  # newest journal entries compared at each refresh


@dataclass(frozen=True, slots=True)
class _Stored:
    """What one refresh reads from the store: active locks by account (with their ids), the
    newest journal entries, and whether the store answers."""

    locks: dict[int, list[Lock]]
    journal: list[JournalEntry]
    answers: bool


def _read_store(store: StorePort, now: datetime, with_locks: bool) -> _Stored:
    """Blocking: run in a worker thread. One query for every account's active locks."""
    locks: dict[int, list[Lock]] = {}
    if with_locks:
        for lock in store.active_locks(now):  # oldest first, as per account
            locks.setdefault(lock.account_id, []).append(lock)
    journal = store.journal(limit=JOURNAL_STREAMED)
    try:
        store.schema_version  # noqa: B018 - a cheap query proves the store answers
    except Exception:
        return _Stored(locks, journal, answers=False)
    return _Stored(locks, journal, answers=True)


class DaemonReadSide(MemoryReadModel):
    def __init__(self, daemon: Daemon, interval: float = 0.2) -> None:
        super().__init__()
        self._daemon = daemon
        self._interval = interval
        self._dirty: set[int] = set(daemon.actors)
        self._wake = asyncio.Event()
        self._curves: dict[int, PnlCurve] = {}
        self._sent_outcomes: dict[int, str | None] = {}  # journal id -> outcome last streamed
        self._refreshing = asyncio.Lock()  # the daemon's start refreshes too: one at a time
        daemon.listeners.append(self._mark)
        # Until the first refresh says otherwise, the daemon is not guarding: never "ok" by default.
        not_yet = {"connected": False}
        self.set_health(
            status="down",
            problem="starting: not guarding yet",
            signalr_connected=False,
            hubs={"user": not_yet, "market": not_yet},
        )

    def _mark(self, account_id: int) -> None:
        self._dirty.add(account_id)
        self._wake.set()

    async def run(self) -> None:
        """Publish changed accounts (coalesced), new journal entries and health."""
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for drops a cancel that races the
            # wake-up (gh-86296) and the daemon's stop would wait on this task forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.refresh()
            except Exception:  # the dashboard must not freeze for the rest of the run
                _log.exception("read side refresh failed; trying again")
            await asyncio.sleep(self._interval)

    async def refresh(self) -> None:
        """Publish the changed accounts' views, the journal entries new or finished since the
        last refresh, and health. The store is read in a worker thread (its read-only
        connection); the views are built here, on the loop, from the actors' engines."""
        async with self._refreshing:
            await self._refresh()

    async def _refresh(self) -> None:
        d = self._daemon
        now = d.clock()
        # Lock countdowns move every second even when nothing else happens.
        dirty = set(d.actors) if not self._dirty else self._dirty
        self._dirty = set()
        # Before an account's first snapshot its view would show guesses; an account never
        # shown yet is shown the moment it has one, whatever else changed.
        shown = {acct for acct, actor in d.actors.items() if actor.reconciled}
        dirty = (dirty & shown) | (shown - set(self._curves))
        stored = await asyncio.to_thread(_read_store, d.store, now, bool(dirty))
        for acct in sorted(dirty):
            actor = d.actors[acct]
            view = actor.engine.view(acct, now)
            day = actor.engine.calendar.trading_day(now).isoformat()
            curve = self._curves.setdefault(acct, PnlCurve())
            curve.add(now, view.net, day)
            locks = stored.locks.get(acct) or list(view.locks)
            self.put_account(
                account_json(
                    view,
                    d.catalog,
                    trading_day=day,
                    curve=curve.points(),
                    locks=locks,
                    settings=d.config.rules_for(acct),
                )
            )
        # New entries, and entries whose outcome arrived since: the pages merge them by id.
        recent = stored.journal
        for entry in reversed(recent):
            outcome = entry.outcome.value if entry.outcome is not None else None
            if entry.id not in self._sent_outcomes or self._sent_outcomes[entry.id] != outcome:
                self._sent_outcomes[entry.id] = outcome
                self.record_enforcement(enforcement_json(entry))
        keep = {e.id for e in recent}
        self._sent_outcomes = {k: v for k, v in self._sent_outcomes.items() if k in keep}
        self.set_health(**self.health_now(db_ok=stored.answers))

    async def enforcements(self, account_id: int | None, limit: int) -> list[JSON]:
        """The journal, newest first, read and shaped in a worker thread (a page may ask for
        hundreds of entries: never decoded on the loop)."""
        return await asyncio.to_thread(self._enforcements, account_id, limit)

    def _enforcements(self, account_id: int | None, limit: int) -> list[JSON]:
        entries = self._daemon.store.journal(account_id=account_id, limit=limit)
        return [enforcement_json(e) for e in entries]

    def health_now(self, *, db_ok: bool) -> JSON:
        """Health for ``/health`` and the dashboards; ``db_ok``: the store answered."""
        d = self._daemon
        user = d.user_hub is not None and d.user_hub.connected.is_set()
        market = d.market_hub is not None and d.market_hub.connected.is_set()
        problems = self._problems()
        healthy = user and db_ok and d.guarding and not problems
        status = "ok" if healthy else ("degraded" if db_ok else "down")
        return {
            "status": status,
            "problem": "; ".join(problems) or None,
            "uptime": round(time.monotonic() - d.started_monotonic, 1),
            "accounts_monitored": len(d.actors),
            "signalr_connected": user and market,
            "database_accessible": db_ok,
            "last_event": iso(d.last_event_at),
            "hubs": {"user": {"connected": user}, "market": {"connected": market}},
        }

    def _problems(self) -> list[str]:
        """What keeps the daemon from guarding fully, in words for the header (RULES.md §5:
        a guard that can't see says so loudly)."""
        d = self._daemon
        problems = [d.start_problem] if d.start_problem else []
        if not d.guarding and not problems:
            done = sum(1 for actor in d.actors.values() if actor.reconciled)
            problems.append(f"starting: {done} of {len(d.actors)} account(s) reconciled")
        unreconciled = sorted(i for i, actor in d.actors.items() if actor.needs_reconcile)
        if unreconciled:
            ids = ", ".join(map(str, unreconciled))
            problems.append(f"account(s) {ids} not reconciled with the broker yet: retrying")
        unwritten = sorted(i for i, a in d.actors.items() if a.enforcer.durable.failing)
        if unwritten:  # enforcement goes on from memory; the rows land when the store takes them
            ids = ", ".join(map(str, unwritten))
            problems.append(f"the store is not taking writes (account(s) {ids}): retrying")
        sweeper = d.sweeper
        if sweeper is not None and sweeper.failing_since is not None:
            problems.append(
                f"reconciliation failing since {iso(sweeper.failing_since)}: {sweeper.failing}"
            )
        return problems
