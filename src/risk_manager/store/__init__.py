"""Durable state: locks, timers, fills, P&L snapshots, the enforcement journal, the audit log."""

from risk_manager.store.errors import (
    JournalEntryFinished,
    JournalEntryNotFound,
    LockNotFound,
    SchemaTooNew,
    StoreError,
    StoreUnusable,
)
from risk_manager.store.records import AuditEntry, JournalEntry, JournalOutcome, PnlSnapshot, Timer
from risk_manager.store.store import Store

__all__ = [
    "AuditEntry",
    "JournalEntry",
    "JournalEntryFinished",
    "JournalEntryNotFound",
    "JournalOutcome",
    "LockNotFound",
    "PnlSnapshot",
    "SchemaTooNew",
    "Store",
    "StoreError",
    "StoreUnusable",
    "Timer",
]
