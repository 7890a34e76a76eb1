"""Durable state: locks, timers, fills, P&L snapshots, the enforcement journal, the audit log,
the alert outbox. The runtime types against the store port (``store/ports.py``); ``Store`` is
its SQLite implementation (docs/STORE.md)."""

from risk_manager.store.errors import (
    JournalEntryFinished,
    JournalEntryNotFound,
    LockNotFound,
    SchemaTooNew,
    StoreError,
    StoreUnusable,
)
from risk_manager.store.records import (
    AuditEntry,
    JournalEntry,
    JournalOutcome,
    OutboxEntry,
    PendingLoosening,
    PnlSnapshot,
    Timer,
)
from risk_manager.store.store import Store

__all__ = [
    "AuditEntry",
    "JournalEntry",
    "JournalEntryFinished",
    "JournalEntryNotFound",
    "JournalOutcome",
    "LockNotFound",
    "OutboxEntry",
    "PendingLoosening",
    "PnlSnapshot",
    "SchemaTooNew",
    "Store",
    "StoreError",
    "StoreUnusable",
    "Timer",
]
