"""Read-only health check of a store file: SQLite's integrity check, the schema version and the
expected tables. Never creates or migrates anything."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from risk_manager.store import schema


@dataclass(frozen=True, slots=True)
class VerifyReport:
    path: str
    version: int | None  # None when the file could not be read at all
    expected_version: int
    tables: frozenset[str]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: Path | str, *, allow_older: bool = False) -> VerifyReport:
    """Integrity, schema version and tables of the file at ``path``, read only. An older schema
    is a problem unless ``allow_older`` (a backup to restore: migrated at the next open)."""
    expected = schema.latest_version()
    file = Path(path)
    if not file.is_file():
        return VerifyReport(
            str(path),
            None,
            expected,
            frozenset(),
            (f"no database file at {path}; create it with `risk-manager db migrate --path`",),
        )
    problems: list[str] = []
    version: int | None = None
    tables: frozenset[str] = frozenset()
    try:
        # mode=rw: never create a file; busy timeout so a running daemon's write just delays us.
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=rw", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        return VerifyReport(str(path), None, expected, tables, (f"cannot open {path}: {exc}",))
    try:
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
        if integrity != ["ok"]:
            shown = "; ".join(str(x) for x in integrity[:5])
            problems.append(f"integrity_check failed ({len(integrity)} findings): {shown}")
        version = schema.current_version(conn)
        tables = frozenset(
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        )
        if conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
            problems.append("foreign_key_check found rows pointing at missing parents")
    except sqlite3.DatabaseError as exc:
        problems.append(f"{path} is not a usable SQLite database: {exc}")
    finally:
        conn.close()
    if version is not None:
        if version > expected:
            problems.append(
                f"schema version {version} is newer than this risk-manager knows ({expected}); "
                "upgrade risk-manager"
            )
        elif version < expected and not allow_older:
            problems.append(
                f"schema version {version} is older than {expected}; run `risk-manager db migrate`"
            )
        missing = sorted(schema.EXPECTED_TABLES - tables)
        if missing and (version == expected or (version < expected and not allow_older)):
            problems.append(f"missing tables: {', '.join(missing)}")
    return VerifyReport(str(path), version, expected, tables, tuple(problems))
