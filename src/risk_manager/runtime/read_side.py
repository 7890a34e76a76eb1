"""The daemon's read side for the API: account views refreshed at most every ``interval``,
the enforcement log from the store's journal, and health from the connections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from risk_manager.api.memory import MemoryReadModel
from risk_manager.api.read_model import JSON, iso
from risk_manager.runtime.views import PnlCurve, account_json, enforcement_json

if TYPE_CHECKING:
    from risk_manager.runtime.daemon import Daemon

_log = logging.getLogger(__name__)


class DaemonReadSide(MemoryReadModel):
    def __init__(self, daemon: Daemon, interval: float = 0.2) -> None:
        super().__init__()
        self._daemon = daemon
        self._interval = interval
        self._dirty: set[int] = set(daemon.actors)
        self._wake = asyncio.Event()
        self._curves: dict[int, PnlCurve] = {}
        self._sent_outcomes: dict[int, str | None] = {}  # journal id -> outcome last streamed
        daemon.listeners.append(self._mark)

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
                self.refresh()
            except Exception:  # the dashboard must not freeze for the rest of the run
                _log.exception("read side refresh failed; trying again")
            await asyncio.sleep(self._interval)

    def refresh(self) -> None:
        d = self._daemon
        now = d.clock()
        # Lock countdowns move every second even when nothing else happens.
        dirty = set(d.actors) if not self._dirty else self._dirty
        self._dirty = set()
        # Before an account's first snapshot its view would show guesses; an account never
        # shown yet is shown the moment it has one, whatever else changed.
        shown = {acct for acct, actor in d.actors.items() if actor.reconciled}
        dirty = (dirty & shown) | (shown - set(self._curves))
        for acct in sorted(dirty):
            actor = d.actors[acct]
            view = actor.engine.view(acct, now)
            day = actor.engine.calendar.trading_day(now).isoformat()
            curve = self._curves.setdefault(acct, PnlCurve())
            curve.add(now, view.net, day)
            locks = d.store.active_locks(now, acct) or list(view.locks)
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
        recent = d.store.journal(limit=50)
        for entry in reversed(recent):
            outcome = entry.outcome.value if entry.outcome is not None else None
            if entry.id not in self._sent_outcomes or self._sent_outcomes[entry.id] != outcome:
                self._sent_outcomes[entry.id] = outcome
                self.record_enforcement(enforcement_json(entry))
        keep = {e.id for e in recent}
        self._sent_outcomes = {k: v for k, v in self._sent_outcomes.items() if k in keep}
        self.set_health(**self.health_now())

    def enforcements(self, account_id: int | None, limit: int) -> list[JSON]:
        entries = self._daemon.store.journal(account_id=account_id, limit=limit)
        return [enforcement_json(e) for e in entries]

    def health_now(self) -> JSON:
        d = self._daemon
        user = d.user_hub is not None and d.user_hub.connected.is_set()
        market = d.market_hub is not None and d.market_hub.connected.is_set()
        db_ok = True
        try:
            d.store.schema_version  # noqa: B018 - a cheap query proves the file answers
        except Exception:
            db_ok = False
        status = "ok" if user and db_ok and d.guarding else ("degraded" if db_ok else "down")
        return {
            "status": status,
            "problem": d.start_problem,
            "uptime": round(time.monotonic() - d.started_monotonic, 1),
            "accounts_monitored": len(d.actors),
            "signalr_connected": user and market,
            "database_accessible": db_ok,
            "last_event": iso(d.last_event_at),
            "hubs": {"user": {"connected": user}, "market": {"connected": market}},
        }
