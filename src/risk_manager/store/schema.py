"""Numbered SQL migrations (``migrations/NNNN_name.sql``), applied in order, one transaction each.

The schema version is SQLite's ``PRAGMA user_version``: it lives in the file header and is
written in the same transaction as the migration, so a crash leaves either both or neither.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from risk_manager.store.errors import SchemaTooNew

EXPECTED_TABLES = frozenset(
    {
        "locks",
        "rule_memory",
        "timers",
        "fills",
        "pnl_snapshots",
        "journal",
        "audit_log",
        "alert_outbox",
        "settings_in_force",
        "pending_loosenings",
    }
)

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


@cache
def migrations() -> tuple[Migration, ...]:
    """Every packaged migration, in order; numbering must run 1, 2, 3… without gaps."""
    found: list[Migration] = []
    for entry in (resources.files("risk_manager.store") / "migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    numbers = [m.version for m in found]
    if numbers != list(range(1, len(found) + 1)):
        raise RuntimeError(f"store migrations are misnumbered: {[m.name for m in found]}")
    return tuple(found)


def latest_version() -> int:
    return len(migrations())


def current_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def check_not_too_new(conn: sqlite3.Connection, path: Path | str) -> int:
    found = current_version(conn)
    if found > latest_version():
        raise SchemaTooNew(path, found, latest_version())
    return found


def _statements(sql: str) -> list[str]:
    """Split a script on statement ends (sqlite3.complete_statement copes with triggers)."""
    out: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf)
            buf = ""
    if buf.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buf.splitlines()
    ):
        raise ValueError(f"unterminated SQL statement in migration: {buf.strip()[:80]!r}")
    return out


def migrate(conn: sqlite3.Connection, path: Path | str) -> int:
    """Apply pending migrations; returns the resulting version. ``conn`` must be in autocommit
    mode (isolation_level=None). Safe against a second process migrating at the same time:
    each step re-reads the version after taking the write lock."""
    check_not_too_new(conn, path)
    for migration in migrations():
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = check_not_too_new(conn, path)
            if version >= migration.version:
                conn.execute("COMMIT")
                continue
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {migration.version:d}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return current_version(conn)
