"""P&L snapshots into the store, so the dashboards' P&L curve shows the whole trading day, also
across a restart and while no dashboard was open (docs/RUNTIME.md "P&L snapshots").

Every ``every`` seconds each account an actor changed since the last round is snapshotted
(its realized, unrealized and net P&L, balance and day peak: what its view shows), all in one
worker thread on the store's write connection. An account that did not change needs no new
point: its curve is flat. A snapshot is a record, not a safeguard: a write that fails is
logged (once per outage) and the next round goes on; enforcement never waits on it.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Mapping

from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.slices import in_slices
from risk_manager.store.db import grouped
from risk_manager.store.errors import StoreError
from risk_manager.store.ports import SnapshotStore
from risk_manager.store.records import PnlSnapshot
from risk_manager.types import Clock

_log = logging.getLogger(__name__)

SNAPSHOT_EVERY = 30.0  # seconds between rounds: the stored curve's resolution


class PnlSnapshots:
    """Snapshots the changed accounts' P&L every ``every`` seconds (``run``). ``mark`` is the
    actors' change feed (a daemon listener); ``take`` runs one round (tests, the stop)."""

    def __init__(
        self,
        actors: Mapping[int, AccountActor],
        store: SnapshotStore,
        clock: Clock,
        *,
        every: float = SNAPSHOT_EVERY,
    ) -> None:
        self._actors = actors
        self._store = store
        self._clock = clock
        self._every = every
        self._changed: set[int] = set()
        self._failing = False
        self.taken = 0  # snapshots written (a test and the metrics read it)

    def mark(self, account_id: int) -> None:
        """The account changed: snapshot it at the next round."""
        self._changed.add(account_id)

    async def run(self) -> None:
        """One round every ``every`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self._every)
            await self.take()

    async def take(self) -> None:
        """Snapshot every account changed since the last round (reconciled ones only: before
        its first snapshot an account's figures are guesses). The views are read ``SLICE``
        accounts per loop callback (runtime/slices.py); the rows are written in a worker
        thread."""
        changed, self._changed = sorted(self._changed), set()
        now = self._clock()
        batch: list[PnlSnapshot] = []
        # A view is ~0.1 ms: 500 moving accounts in one callback held the loop ~50 ms every
        # round, a breach's events behind it (docs/PERFORMANCE.md "Capacity", sixth session).
        try:
            async for part in in_slices(changed):
                for acct in part:
                    actor = self._actors.get(acct)
                    if actor is None or not actor.reconciled:
                        self._changed.add(acct)  # not shown yet: try again at the next round
                        continue
                    view = actor.engine.view(acct, now)
                    batch.append(
                        PnlSnapshot(
                            account_id=acct,
                            trading_day=actor.engine.calendar.trading_day(now),
                            realized=view.day_realized,
                            unrealized=view.unrealized,
                            net=view.net,
                            balance=view.balance,
                            peak_net=view.day_peak_net,
                            taken_at=now,
                        )
                    )
        except asyncio.CancelledError:
            # cancelled between slices (the daemon's stop): nothing of this round was written,
            # so the stop's own round takes every account it had
            self._changed.update(changed)
            raise
        if not batch:
            return
        try:
            await asyncio.to_thread(self._save, batch)
        except (StoreError, sqlite3.Error, OSError) as exc:
            if not self._failing:
                _log.warning("P&L snapshots not stored (%s); the curve has a gap", exc)
            self._failing = True
            return
        if self._failing:
            _log.info("P&L snapshots stored again")
        self._failing = False
        self.taken += len(batch)

    @grouped  # with the next commit: never an fsync a breach's journal write waits behind
    def _save(self, batch: list[PnlSnapshot]) -> None:
        for snapshot in batch:
            self._store.save_snapshot(snapshot)
