"""The daemon's store maintenance (docs/BACKUP.md): a backup every ``backup.every`` (a day by
default) with the newest ``backup.keep`` kept, and the retention prune of old history rows
(``retention:``), both off the event loop and never in the way of enforcement: the backup
reads the file through a read-only connection of its own (WAL: the daemon's writes go on),
and the prune deletes in short batches (a lock written meanwhile waits for one batch).

The first pass comes ``START_DELAY`` after the start when the newest backup is older than
``every`` (or there is none), else when it falls due. A failed pass is logged (one line, no
traceback) and tried again after ``RETRY_AFTER``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from risk_manager.calendar import TradingCalendar
from risk_manager.config.sections import BackupConfig, RetentionConfig
from risk_manager.store.backup import create_backup, default_dir, list_backups, prune_backups
from risk_manager.store.ports import MaintainedStore
from risk_manager.store.retention import Pruned
from risk_manager.types import Clock

_log = logging.getLogger(__name__)

START_DELAY = 60.0  # seconds after the start: the start's reconciles go first
RETRY_AFTER = 3600.0  # seconds before a failed pass is tried again
DAY = 86_400.0  # seconds between passes when backups are off (retention alone)


@dataclass(frozen=True, slots=True)
class PassReport:
    """What one maintenance pass did: the backup made (None: off), the backups deleted, the
    rows pruned (None: retention off)."""

    backup: Path | None
    deleted: tuple[Path, ...]
    pruned: Pruned | None


class Maintenance:
    """Runs the passes for one store; ``run()`` is the daemon's background task.

    ``store``: the open store (its file is backed up; its rows pruned); ``calendar``: the
    trading day (retention never prunes the current one); ``clock``: aware UTC instants;
    ``run_blocking``: runs the store's work off the loop; ``start_delay``: seconds before an
    overdue first pass."""

    def __init__(
        self,
        store: MaintainedStore,
        backup: BackupConfig,
        retention: RetentionConfig,
        calendar: TradingCalendar,
        clock: Clock,
        *,
        run_blocking: Callable[..., Awaitable[Any]] = asyncio.to_thread,
        start_delay: float = START_DELAY,
    ) -> None:
        self._store = store
        self._backup = backup
        self._retention = retention
        self._calendar = calendar
        self._clock = clock
        self._run_blocking = run_blocking
        self._start_delay = start_delay
        self.folder = backup.dir or default_dir(store.path)
        self.passes = 0

    def due_in(self) -> float:
        """Seconds until the next pass is due (at least the start delay's floor is the
        caller's): 0 when the newest backup is older than ``backup.every`` or missing."""
        if not self._backup.enabled:
            return DAY
        backups = list_backups(self.folder)
        if not backups:
            return 0.0
        due = backups[0].taken_at + self._backup.every
        return max(0.0, (due - self._clock()).total_seconds())

    async def run(self) -> None:
        """Pass after pass until cancelled; never raises for a failed pass."""
        wait = max(self._start_delay, await self._run_blocking(self.due_in))
        while True:
            await asyncio.sleep(wait)
            try:
                await self.run_once()
            except Exception as exc:  # the disk, the store: logged, tried again later
                _log.error(
                    "store maintenance failed (%s: %s); trying again in %.0f s",
                    type(exc).__name__,
                    exc,
                    RETRY_AFTER,
                )
                wait = RETRY_AFTER
                continue
            wait = await self._run_blocking(self.due_in) or self._backup.every.total_seconds()

    async def run_once(self) -> PassReport:
        """One pass now: the backup and its pruning (when ``backup.enabled``), then the
        retention prune (when ``retention.enabled``). Raises what the store or disk raised."""
        report: PassReport = await self._run_blocking(self._pass, self._clock())
        self.passes += 1
        return report

    def _pass(self, now: datetime) -> PassReport:
        made: Path | None = None
        deleted: list[Path] = []
        if self._backup.enabled:
            made = create_backup(Path(self._store.path), self.folder, now)
            deleted = prune_backups(self.folder, self._backup.keep)
            _log.info(
                "store backed up to %s (%d byte(s)); %d old backup(s) deleted, %d kept",
                made,
                made.stat().st_size,
                len(deleted),
                min(self._backup.keep, len(list_backups(self.folder))),
            )
        pruned: Pruned | None = None
        if self._retention.enabled:
            pruned = self._prune(now)
        return PassReport(made, tuple(deleted), pruned)

    def _prune(self, now: datetime) -> Pruned:
        keep = self._retention
        pruned = self._store.prune_history(
            journal_before=now - keep.journal,
            fills_before=now - keep.fills,
            snapshots_before=now - keep.snapshots,
            today=self._calendar.trading_day(now),
            day_start=self._calendar.day_start(now),
            now=now,
        )
        if pruned.journal or pruned.fills or pruned.snapshots:
            _log.info(
                "retention: deleted %d journal, %d fill and %d snapshot row(s) older than "
                "%s, %s and %s",
                pruned.journal,
                pruned.fills,
                pruned.snapshots,
                _days(keep.journal),
                _days(keep.fills),
                _days(keep.snapshots),
            )
        return pruned


def _days(value: timedelta) -> str:
    return f"{value.days}d"
