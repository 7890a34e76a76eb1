"""Lock rows (RULES.md §2): added, checked against the clock, cleared by an admin (audited);
never deleted, so the history stays."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import datetime
from typing import Any

from risk_manager.domain.locks import Lock, LockKind
from risk_manager.store.audit import insert_audit
from risk_manager.store.codec import dec_dt, dec_opt_dt, enc_dt, enc_opt_dt
from risk_manager.store.db import Database, returned_id
from risk_manager.store.errors import LockNotFound

_COLS = (
    "id, account_id, rule, kind, reason, created_at, ends_at, cleared_at, cleared_by, clear_reason"
)
# SQL built from module constants only (the column list above; hence each `nosec B608`):
# every value is a bound parameter.
_SELECT = f"SELECT {_COLS} FROM locks"  # nosec B608
_INSERT = f"INSERT INTO locks ({_COLS}) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"  # nosec B608


def _lock(row: tuple[Any, ...]) -> Lock:
    return Lock(
        id=row[0],
        account_id=row[1],
        rule=row[2],
        kind=LockKind(row[3]),
        reason=row[4],
        created_at=dec_dt(row[5]),
        ends_at=dec_opt_dt(row[6]),
        cleared_at=dec_opt_dt(row[7]),
        cleared_by=row[8],
        clear_reason=row[9],
    )


class LockRepo:
    _db: Database

    def add_lock(self, lock: Lock) -> Lock:
        """Write a new lock durably (committed and synced when this returns); returns it with
        its ``id``. A lock never replaces another: each call adds a row."""
        if lock.id is not None:
            raise ValueError(f"lock {lock.id} is already stored; add_lock takes a new Lock")
        if (lock.cleared_at is None) != (lock.cleared_by is None):
            raise ValueError("a cleared lock needs both cleared_at and cleared_by")
        with self._db.write(urgent=True) as conn:
            cur = conn.execute(
                _INSERT,
                _row_of(lock)[1:],  # every column but the id
            )
            lock_id = returned_id(cur)
        return _lock(_row_of(dataclasses.replace(lock, id=lock_id)))

    def active_locks(self, now: datetime, account_id: int | None = None) -> list[Lock]:
        """Locks not cleared by ``now`` (a pending clearing still holds) whose ``ends_at`` is
        none or after ``now``; oldest first."""
        sql = _SELECT + (
            " WHERE (cleared_at IS NULL OR cleared_at > ?) AND (ends_at IS NULL OR ends_at > ?)"
        )
        args: list[Any] = [enc_dt(now), enc_dt(now)]
        if account_id is not None:
            sql += " AND account_id = ?"
            args.append(account_id)
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY created_at, id", args).fetchall()
        return [_lock(r) for r in rows]

    def get_lock(self, lock_id: int) -> Lock:
        with self._db.read() as conn:
            row = conn.execute(_SELECT + " WHERE id = ?", (lock_id,)).fetchone()
        if row is None:
            raise LockNotFound(lock_id)
        return _lock(row)

    def clear_lock(self, lock_id: int, at: datetime, by: str, reason: str) -> Lock:
        """An admin ends a lock early; the clearing is written to the audit log in the same
        transaction. Clearing an already-cleared lock changes nothing and returns it as is."""
        with self._db.write() as conn:
            lock, cleared = _set_clearing(conn, lock_id, at, by, reason)
            if cleared is None:
                return lock
            insert_audit(
                conn,
                by,
                "lock.cleared",
                {
                    "lock_id": lock_id,
                    "account_id": lock.account_id,
                    "rule": lock.rule,
                    "kind": lock.kind.value,
                    "lock_reason": lock.reason,
                    "ends_at": lock.ends_at,
                    "was_active": lock.is_active(at),
                    "reason": reason,
                },
                at,
            )
        return _lock(_row_of(cleared))

    def set_clearing(self, lock_id: int, at: datetime, by: str, reason: str) -> Lock:
        """Set a lock's clearing to take effect at ``at`` (now, or later while
        ``admin.unlock_delay`` runs: the lock holds until then, a restart included), durably.
        Not audited here: the admin's caller writes the audit row. A lock already cleared by
        ``at`` is returned unchanged. Raises ``LockNotFound``, ``ValueError`` without ``by``."""
        with self._db.write() as conn:
            lock, cleared = _set_clearing(conn, lock_id, at, by, reason)
        return lock if cleared is None else _lock(_row_of(cleared))

    def lock_history(self, account_id: int) -> list[Lock]:
        """Every lock the account ever had, active, ended or cleared; newest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                _SELECT + " WHERE account_id = ? ORDER BY created_at DESC, id DESC",
                (account_id,),
            ).fetchall()
        return [_lock(r) for r in rows]


def _set_clearing(
    conn: sqlite3.Connection, lock_id: int, at: datetime, by: str, reason: str
) -> tuple[Lock, Lock | None]:
    """(the lock as stored, the lock as cleared or None when it already was by ``at``)."""
    if not by:
        raise ValueError("a clearing needs who clears it (by)")
    row = conn.execute(_SELECT + " WHERE id = ?", (lock_id,)).fetchone()
    if row is None:
        raise LockNotFound(lock_id)
    lock = _lock(row)
    if lock.cleared_at is not None and lock.cleared_at <= at:
        return lock, None
    conn.execute(
        "UPDATE locks SET cleared_at = ?, cleared_by = ?, clear_reason = ? WHERE id = ?",
        (enc_dt(at), by, reason, lock_id),
    )
    return lock, dataclasses.replace(lock, cleared_at=at, cleared_by=by, clear_reason=reason)


def _row_of(lock: Lock) -> tuple[Any, ...]:
    # The columns as stored; a returned Lock round-trips through them to match what a reader sees.
    return (
        lock.id,
        lock.account_id,
        lock.rule,
        LockKind(lock.kind).value,
        lock.reason,
        enc_dt(lock.created_at),
        enc_opt_dt(lock.ends_at),
        enc_opt_dt(lock.cleared_at),
        lock.cleared_by,
        lock.clear_reason,
    )
