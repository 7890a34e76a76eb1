"""The store port: what the runtime needs from durable state, one Protocol per concern.

The runtime types its parameters with these, never with the SQLite :class:`~risk_manager.store.
Store`, so a second backend (PostgreSQL, say) is a class that satisfies :class:`StorePort`
and passes the port's tests (``tests/store/``, parametrized by backend; docs/STORE.md).

Contract shared by every method (each backend keeps it):

- **Blocking.** Every call blocks until done; async callers run it off the event loop
  (``await asyncio.to_thread(store.add_lock, lock)``, or
  :class:`~risk_manager.runtime.durable.DurableWrites` for writes that must land).
- **Durable writes.** A write returns only once it is committed and would survive the process
  being killed (RULES.md §5: a lock is on disk before anything is sent). One call is one
  transaction: it lands whole or not at all.
- **Reads never wait on a write in progress.** They see the last committed state and may run
  in any thread, concurrently with a write.
- **Values.** Money and prices are ``Decimal`` and come back with the digits they went in with;
  instants must be timezone-aware (naive ones raise ``ValueError``) and come back in UTC;
  JSON fields take ``Decimal``/``datetime``/``date`` and give them back as strings.
- **Errors.** The store's own failures are :class:`~risk_manager.store.errors.StoreError`
  (``LockNotFound``, ``JournalEntryNotFound``, ``JournalEntryFinished``; ``StoreError`` once
  closed); a backend that cannot reach its storage raises whatever its driver raises, and
  callers treat any exception from a write as "not written" (the write is retried).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

from risk_manager.domain.locks import Lock
from risk_manager.domain.models import Trade
from risk_manager.store.records import (
    AuditEntry,
    JournalEntry,
    JournalOutcome,
    OutboxEntry,
    PendingLoosening,
    PnlSnapshot,
)
from risk_manager.store.retention import Pruned


class LockStore(Protocol):
    """Lock rows (RULES.md §2): added, read against the clock, cleared; never deleted."""

    def add_lock(self, lock: Lock) -> Lock:
        """Write a new lock (``lock.id`` None) durably; returns it with its ``id`` and with
        instants as a reader will see them (UTC). Each call adds a row. Raises ``ValueError``
        for a lock already stored or a half-cleared one."""
        ...

    def active_locks(self, now: datetime, account_id: int | None = None) -> list[Lock]:
        """Locks not cleared whose ``ends_at`` is None or after ``now`` (the bound of
        ``Lock.is_active``), of every account or one; oldest first (``created_at``, ``id``)."""
        ...

    def get_lock(self, lock_id: int) -> Lock:
        """The lock with that id; raises ``LockNotFound``."""
        ...

    def clear_lock(self, lock_id: int, at: datetime, by: str, reason: str) -> Lock:
        """End a lock early, the clearing audited (``lock.cleared``) in the same transaction;
        an already cleared lock is returned unchanged. Raises ``LockNotFound``, and
        ``ValueError`` without ``by``."""
        ...

    def set_clearing(self, lock_id: int, at: datetime, by: str, reason: str) -> Lock:
        """Clear a lock at ``at`` (now, or later while ``admin.unlock_delay`` runs: it holds
        until then), durably, not audited (the admin's caller audits); a lock already
        cleared by ``at`` is returned unchanged. Raises ``LockNotFound``, and ``ValueError``
        without ``by``."""
        ...

    def lock_history(self, account_id: int) -> list[Lock]:
        """Every lock the account ever had; newest first."""
        ...


class JournalStore(Protocol):
    """The enforcement journal (RULES.md §5): an action is written before it is sent, marked
    sent, then finished with its outcome; a restart re-checks the unfinished ones."""

    def journal_intent(
        self,
        account_id: int,
        rule: str,
        kind: str,
        intent: dict[str, Any],
        at: datetime,
        *,
        sent_at: datetime | None = None,
    ) -> int:
        """Record an action about to be sent; returns its id (ids grow with each entry).
        ``sent_at``: it goes out right after this write (one commit instead of two)."""
        ...

    def journal_sent(self, entry_id: int, at: datetime) -> None:
        """Mark the action handed to the broker; the first send time is kept. Raises
        ``JournalEntryFinished`` once it has an outcome, ``JournalEntryNotFound``."""
        ...

    def journal_outcome(
        self, entry_id: int, outcome: JournalOutcome | str, detail: str | None, at: datetime
    ) -> JournalEntry:
        """Finish the action; the same outcome again is a no-op, another raises
        ``JournalEntryFinished``; an unknown outcome raises ``ValueError``."""
        ...

    def unfinished_actions(self) -> list[JournalEntry]:
        """Entries without an outcome, oldest first (sent or not: see ``sent_at``)."""
        ...

    def placed_tags(self, account_id: int, limit: int) -> list[str]:
        """The ``custom_tag`` of the newest ``limit`` ``place_order`` intents of the account,
        oldest first (RULES.md §1: orders under our tags are ours)."""
        ...

    def journal(self, account_id: int | None = None, limit: int = 100) -> list[JournalEntry]:
        """The newest ``limit`` entries (of one account), newest first."""
        ...


class FillStore(Protocol):
    """Fills (half-turns), one per gateway trade id so each counts once (RULES.md §1, §4)."""

    def add_fill(self, trade: Trade, trading_day: date) -> bool:
        """Record a fill under its trading day; False when that trade id is already stored
        (the stored one is kept as it was)."""
        ...

    def add_fills(self, fills: Sequence[tuple[Trade, date]]) -> int:
        """``add_fill`` for each (trade, trading day), all in one write (one transaction:
        one fsync for a burst of fills); returns how many were new."""
        ...

    def fills(
        self, account_id: int, trading_day: date | None = None, since: datetime | None = None
    ) -> list[Trade]:
        """The account's fills (voided ones included), oldest first (``created_at``, id);
        optionally of one trading day and/or at or after ``since``."""
        ...


class SnapshotStore(Protocol):
    """P&L snapshots: what an account stood at, appended, the newest taken read back."""

    def save_snapshot(self, snapshot: PnlSnapshot) -> PnlSnapshot:
        """Append a snapshot (``id`` None); returns it with its ``id``. ``ValueError`` for one
        already stored."""
        ...

    def snapshots(self, account_id: int, trading_day: date, after_id: int = 0) -> list[PnlSnapshot]:
        """That account's snapshots of that trading day with an id above ``after_id``, oldest
        first: the day's P&L curve (read again for what is new since ``after_id``)."""
        ...

    def latest_snapshot(self, account_id: int, trading_day: date) -> PnlSnapshot | None:
        """The most recently *taken* snapshot of that account and day (not the last saved)."""
        ...


class RuleMemoryStore(Protocol):
    """Rule memory (docs/ENGINE.md "Restarts"): one JSON object per account and rule key."""

    def save_rule_memory(
        self, account_id: int, memory: Mapping[str, Mapping[str, Any]], at: datetime
    ) -> None:
        """Replace the account's whole memory (``{rule key: JSON object}``) in one
        transaction; keys not in ``memory`` are removed."""
        ...

    def rule_memory(self, account_id: int) -> dict[str, dict[str, Any]]:
        """The account's stored memory; empty when none was stored."""
        ...


class AuditStore(Protocol):
    """The audit log: who did what, when."""

    def audit(self, actor: str, action: str, detail: dict[str, Any], at: datetime) -> int:
        """Record one act; returns its id. ``ValueError`` without an actor or an action."""
        ...

    def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        """The newest ``limit`` rows, newest first."""
        ...


class OutboxStore(Protocol):
    """The alert outbox (docs/RUNTIME.md "Alert delivery"), keyed by the alert's own id so a
    retried write changes nothing."""

    def outbox_add(
        self, alert_id: str, account_id: int, severity: str, body: dict[str, Any], at: datetime
    ) -> int:
        """Queue one alert; returns its row id, the delivery order. The same ``alert_id``
        again returns the row already there. ``ValueError`` without an id."""
        ...

    def outbox_delivered(
        self, alert_id: str, at: datetime, attempts: int, last_error: str | None = None
    ) -> bool:
        """The webhook took it; False (nothing changed) when no such alert waits."""
        ...

    def outbox_given_up(self, alert_id: str, at: datetime, attempts: int, error: str) -> bool:
        """Past its keep, never to be sent; False when no such alert waits."""
        ...

    def outbox_pending(self) -> list[OutboxEntry]:
        """Alerts neither delivered nor given up, in delivery order."""
        ...

    def outbox_prune(self, ended_before: datetime) -> int:
        """Delete the rows delivered or given up before ``ended_before``; returns how many."""
        ...

    def outbox(self, limit: int = 100) -> list[OutboxEntry]:
        """The newest ``limit`` rows, newest first."""
        ...


class AdminStore(Protocol):
    """What the admin's delays keep across a restart (docs/RULES.md §2): the settings each
    account is guarded under (account 0: the ``admin:`` section) and the loosenings waiting
    for ``admin.loosen_delay``."""

    def settings_in_force(self) -> dict[int, dict[str, Any]]:
        """``{account id: settings JSON}`` as last saved; empty for a new store."""
        ...

    def pending_loosenings(self) -> list[PendingLoosening]:
        """Every loosening still waiting, soonest first."""
        ...

    def save_settings(
        self,
        in_force: Mapping[int, Mapping[str, Any]],
        pending: Iterable[PendingLoosening],
        at: datetime,
        forget: Iterable[int] = (),
    ) -> None:
        """Replace the settings in force of the accounts given, and all pending loosenings,
        and delete those of the accounts in ``forget`` (no longer guarded), in one durable
        transaction."""
        ...


class StoreLifecycle(Protocol):
    """The store as a whole: whether it answers, and closing it."""

    @property
    def schema_version(self) -> int:
        """The schema version the storage is at (a cheap read: health checks use it)."""
        ...

    @property
    def closed(self) -> bool: ...

    def close(self) -> None:
        """Release the storage; later calls raise ``StoreError``. Idempotent."""
        ...


@runtime_checkable
class MaintainedStore(Protocol):
    """A store kept in a file the daemon backs up, whose history it prunes
    (runtime/maintenance.py, docs/BACKUP.md); the SQLite store is one, a test's fake need not
    be."""

    @property
    def path(self) -> str:
        """Where the store lives (its file)."""
        ...

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
        """Delete old history rows (store/retention.py); never today's or an active lock's."""
        ...


class StorePort(
    LockStore,
    JournalStore,
    FillStore,
    SnapshotStore,
    RuleMemoryStore,
    AuditStore,
    OutboxStore,
    AdminStore,
    StoreLifecycle,
    Protocol,
):
    """Everything the daemon needs from its store: what a second backend implements."""
