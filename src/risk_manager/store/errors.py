"""Store failures, grouped by the reaction each needs (DESIGN.md style 3)."""

from __future__ import annotations

from pathlib import Path

from risk_manager.domain.errors import RefuseToStart, RiskManagerError


class StoreError(RiskManagerError):
    """Base of the store's own errors."""


class StoreUnusable(StoreError, RefuseToStart):
    """The database file cannot be used (not SQLite, corrupt, unreadable): do not start."""


class SchemaTooNew(StoreUnusable):
    """The file was migrated by a newer risk-manager than this one."""

    def __init__(self, path: Path | str, found: int, known: int) -> None:
        super().__init__(
            f"{path}: schema version {found} is newer than this risk-manager knows (up to "
            f"{known}); upgrade risk-manager or restore a backup made by this version"
        )
        self.path = str(path)
        self.found = found
        self.known = known


class LockNotFound(StoreError, LookupError):
    def __init__(self, lock_id: int) -> None:
        super().__init__(f"no lock with id {lock_id}; list them with the lock history")
        self.lock_id = lock_id


class JournalEntryNotFound(StoreError, LookupError):
    def __init__(self, entry_id: int) -> None:
        super().__init__(f"no journal entry with id {entry_id}")
        self.entry_id = entry_id


class JournalEntryFinished(StoreError):
    """An outcome was written twice, or a finished action was marked sent."""
