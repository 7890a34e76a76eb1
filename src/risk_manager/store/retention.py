"""Retention (docs/BACKUP.md "Retention"): old journal, fill and P&L snapshot rows deleted in
one transaction. Never deleted: a row of the current trading day, a journal entry still
unfinished (a restart re-checks it), and any row of an account with an active lock from that
lock's start on (the lock's record must stay whole). Lock, rule memory, timer and audit rows
are never pruned here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from risk_manager.store.codec import enc_day, enc_dt
from risk_manager.store.db import Database

BATCH = 2000  # rows deleted per transaction

# An account's active lock (not cleared, not ended by `now`) that started at or before the
# row's instant `{at}`: the row is part of that lock's record.
_UNDER_ACTIVE_LOCK = (
    "EXISTS (SELECT 1 FROM locks l WHERE l.account_id = {table}.account_id "
    "AND l.cleared_at IS NULL AND (l.ends_at IS NULL OR l.ends_at > :now) "
    "AND {table}.{at} >= l.created_at)"
)


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many rows a prune deleted, per table."""

    journal: int
    fills: int
    snapshots: int


class RetentionRepo:
    _db: Database

    def prune_history(
        self,
        *,
        journal_before: datetime,
        fills_before: datetime,
        snapshots_before: datetime,
        today: date,
        day_start: datetime,
        now: datetime,
    ) -> Pruned:
        """Delete journal rows created, fills made and snapshots taken before the given
        instants (each clamped to ``day_start``, when the current trading day ``today``
        began), except those of an active lock at ``now`` and unfinished journal entries."""
        args = {"now": enc_dt(now), "today": enc_day(today)}

        def cutoff(before: datetime) -> str:
            return enc_dt(min(before, day_start))

        deleted = {"journal": 0, "fills": 0, "pnl_snapshots": 0}
        statements = {
            "journal": (
                "created_at < :cutoff AND outcome IS NOT NULL AND NOT "
                + _UNDER_ACTIVE_LOCK.format(table="journal", at="created_at"),
                cutoff(journal_before),
            ),
            "fills": (
                "created_at < :cutoff AND trading_day < :today AND NOT "
                + _UNDER_ACTIVE_LOCK.format(table="fills", at="created_at"),
                cutoff(fills_before),
            ),
            "pnl_snapshots": (
                "taken_at < :cutoff AND trading_day < :today AND NOT "
                + _UNDER_ACTIVE_LOCK.format(table="pnl_snapshots", at="taken_at"),
                cutoff(snapshots_before),
            ),
        }
        for table, (where, before) in statements.items():
            # In batches, one short transaction each: a lock written meanwhile waits for one
            # batch (milliseconds), not for the whole prune.
            while True:
                with self._db.write() as conn:
                    count = conn.execute(
                        f"DELETE FROM {table} WHERE id IN "  # nosec B608 - constants
                        f"(SELECT id FROM {table} WHERE {where} LIMIT {BATCH:d})",
                        args | {"cutoff": before},
                    ).rowcount
                deleted[table] += count
                if count < BATCH:
                    break
        return Pruned(
            journal=deleted["journal"], fills=deleted["fills"], snapshots=deleted["pnl_snapshots"]
        )
