"""``Store``: the daemon's durable state in one SQLite file, the SQLite implementation of the
store port (``store/ports.py``).

Synchronous and quick by design; async callers use ``await asyncio.to_thread(store.add_lock,
lock)``. Writes go through one connection shared between threads under a mutex; reads through
a read-only one of their own (``store/db.py``), so a read never waits on a write.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Self

from risk_manager.store import schema
from risk_manager.store.admin import AdminRepo
from risk_manager.store.audit import AuditRepo
from risk_manager.store.db import Database
from risk_manager.store.fills import FillRepo
from risk_manager.store.journal import JournalRepo
from risk_manager.store.locks import LockRepo
from risk_manager.store.outbox import OutboxRepo
from risk_manager.store.ports import StorePort
from risk_manager.store.retention import RetentionRepo
from risk_manager.store.rule_memory import RuleMemoryRepo
from risk_manager.store.snapshots import SnapshotRepo
from risk_manager.store.timers import TimerRepo


class Store(
    LockRepo,
    RuleMemoryRepo,
    TimerRepo,
    FillRepo,
    SnapshotRepo,
    JournalRepo,
    AuditRepo,
    OutboxRepo,
    AdminRepo,
    RetentionRepo,
):
    """The SQLite store: every port of ``store/ports.py`` plus timers, backups and retention."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    def open(cls, path: Path | str, *, busy_timeout: float = 5.0) -> Self:
        """Open (creating parent directories and the file) and migrate to the latest schema.

        Raises ``SchemaTooNew`` for a file from a newer risk-manager and ``StoreUnusable`` for
        one that is not a usable SQLite database (both are ``RefuseToStart``)."""
        return cls(Database.open(path, busy_timeout))

    @property
    def path(self) -> str:
        return self._db.path

    @property
    def schema_version(self) -> int:
        with self._db.read() as conn:
            return schema.current_version(conn)

    def backup(self, to_path: Path | str) -> Path:
        """A consistent copy of the live database (sqlite3's online backup API)."""
        return self._db.backup(to_path)

    def close(self) -> None:
        self._db.close()

    @property
    def closed(self) -> bool:
        return self._db.closed

    @property
    def commits(self) -> int:
        """Transactions committed since the store was opened (each one fsync: a figure for
        tests and benchmarks; grouped writes share one, store/db.py ``grouped``)."""
        return self._db.commits

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _conforms(store: Store) -> StorePort:  # mypy proves the SQLite store implements the port
    return store
