"""The lock ledger (RULES.md §2): several locks per account, never shortened, the latest ended
ones kept as history (at most ``ENDED_KEPT`` an account: the store keeps them all).

Locks are rows (:class:`~risk_manager.domain.locks.Lock`). Adding one never removes or shortens
another; a lock that would end no later than an active lock of the same rule and kind adds
nothing (applying a lock is idempotent, DESIGN.md style 9). Ids are assigned here, above any id
restored from the store, so the admin can name a lock before the store has written it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from risk_manager.domain.locks import Lock, LockKind

# Ended locks kept per account (the dashboards and tests read the latest; the store has every
# one): without a bound the history grows by every lock of a long run, and every event's
# ``active_rules`` walks it.
ENDED_KEPT = 20
_NONE: frozenset[str] = frozenset()  # an account never locked: shared, never mutated


class LockLedger:
    def __init__(self) -> None:
        self._locks: dict[int, list[Lock]] = {}
        self._next_id = 1
        # active_rules per account, asked on every event: (version, from, until, keys), valid
        # while no row changes (version) and for instants in [from, until), until the next
        # end or clearing of a row, as a row's activity changes only at those instants
        self._version = 0
        self._active_memo: dict[int, tuple[int, datetime, datetime | None, frozenset[str]]] = {}

    def add(self, lock: Lock, now: datetime) -> Lock | None:
        """Record ``lock``; None when an active lock of the same rule and kind already covers it."""
        rows = self._locks.setdefault(lock.account_id, [])
        for row in rows:
            if (
                row.rule == lock.rule
                and row.kind is lock.kind
                and row.is_active(now)
                and (
                    row.ends_at is None
                    or (lock.ends_at is not None and lock.ends_at <= row.ends_at)
                )
            ):
                return None
        if lock.id is None:
            lock = replace(lock, id=self._next_id)
        self._next_id = max(self._next_id, (lock.id or 0) + 1)
        rows.append(lock)
        if len(rows) > 2 * ENDED_KEPT:  # amortised: prune once the history has doubled
            _prune(rows, now)
        self._version += 1
        return lock

    def restore(self, locks: list[Lock]) -> None:
        """Locks loaded from the store, as they are (ended ones stay as history)."""
        for lock in locks:
            if lock.id is not None and any(
                r.id == lock.id for r in self._locks.get(lock.account_id, [])
            ):
                continue
            rows = self._locks.setdefault(lock.account_id, [])
            if lock.id is None:
                lock = replace(lock, id=self._next_id)
            self._next_id = max(self._next_id, (lock.id or 0) + 1)
            rows.append(lock)
            self._version += 1

    def all(self, account_id: int | None = None) -> list[Lock]:
        if account_id is not None:
            return list(self._locks.get(account_id, []))
        return [lock for rows in self._locks.values() for lock in rows]

    def active(self, account_id: int, now: datetime) -> list[Lock]:
        return [lock for lock in self._locks.get(account_id, ()) if lock.is_active(now)]

    def has_any(self, account_id: int) -> bool:
        """True when the account has ever had a lock (active or not)."""
        return bool(self._locks.get(account_id))

    def active_rules(self, account_id: int, now: datetime) -> frozenset[str]:
        """Rule keys with an active lock (fast when the account has never been locked)."""
        rows = self._locks.get(account_id)
        if not rows:
            return _NONE
        memo = self._active_memo.get(account_id)
        if (
            memo is not None
            and memo[0] == self._version
            and memo[1] <= now
            and (memo[2] is None or now < memo[2])
        ):
            return memo[3]
        keys = frozenset(lock.rule for lock in rows if lock.is_active(now))
        edges = [
            at
            for lock in rows
            for at in (lock.ends_at, lock.cleared_at)
            if at is not None and at > now
        ]
        self._active_memo[account_id] = (self._version, now, min(edges, default=None), keys)
        return keys

    def first_active(self, account_id: int, now: datetime, kind: LockKind) -> Lock | None:
        """The active lock of ``kind`` that ends last (None = never ends, sorts last)."""
        best: Lock | None = None
        for lock in self._locks.get(account_id, ()):
            if lock.kind is not kind or not lock.is_active(now):
                continue
            if best is None or _later(lock, best):
                best = lock
        return best

    def clear(
        self,
        account_id: int,
        which: int | str | None,
        now: datetime,
        by: str,
        reason: str | None = None,
        *,
        at: datetime | None = None,
        only: Callable[[Lock], bool] | None = None,
    ) -> list[Lock]:
        """End active locks early: one by id, every active lock of a rule key, or (None) every
        active lock of the account (``only`` narrows further); at ``at`` (default ``now``: at
        once; later while the unlock delay runs, the lock holding until then). A lock whose
        clearing is already pending keeps its earlier time. Returns the locks changed."""

        def match(lock: Lock) -> bool:
            if only is not None and not only(lock):
                return False
            if isinstance(which, int):
                return lock.id == which
            return which is None or lock.rule == which

        return self._end(account_id, now, match, by, reason, at)

    def end_external(self, account_id: int, now: datetime) -> list[Lock]:
        """The broker set ``canTrade: true``: every active external lock ends, also one restored
        after a restart (RULES.md §2)."""
        return self._end(
            account_id, now, lambda lock: lock.kind is LockKind.EXTERNAL, "broker", "canTrade: true"
        )

    def _end(
        self,
        account_id: int,
        now: datetime,
        match: Callable[[Lock], bool],
        by: str,
        reason: str | None,
        at: datetime | None = None,
    ) -> list[Lock]:
        when = now if at is None else max(now, at)
        rows = self._locks.get(account_id, [])
        ended: list[Lock] = []
        for i, lock in enumerate(rows):
            if not match(lock) or not lock.is_active(now):
                continue
            if lock.cleared_at is not None and lock.cleared_at <= when:
                continue  # already being cleared, no later than this
            rows[i] = replace(lock, cleared_at=when, cleared_by=by, clear_reason=reason)
            self._version += 1
            ended.append(rows[i])
        return ended

    def next_end(self, now: datetime) -> datetime | None:
        """The earliest instant after which an active lock ends (its own end, or a pending
        clearing): the engine wakes then (a timer, not polling)."""
        ends = [
            end
            for rows in self._locks.values()
            for lock in rows
            if lock.is_active(now)
            for end in (lock.ends_at, lock.cleared_at)
            if end is not None
        ]
        return min(ends) if ends else None


def _prune(rows: list[Lock], now: datetime) -> None:
    """Keep every active lock and the newest ``ENDED_KEPT`` ended ones, in their order (an
    ended lock never becomes active again: time only moves on)."""
    ended = [i for i, lock in enumerate(rows) if not lock.is_active(now)]
    drop = set(ended[: max(0, len(ended) - ENDED_KEPT)])
    if drop:
        rows[:] = [lock for i, lock in enumerate(rows) if i not in drop]


def _later(a: Lock, b: Lock) -> bool:
    if a.ends_at is None:
        return b.ends_at is not None
    return b.ends_at is not None and a.ends_at > b.ends_at
