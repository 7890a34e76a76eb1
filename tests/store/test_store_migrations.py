"""Migrations: applied once, in order, each in a transaction; a too-new file is refused."""

import asyncio
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from risk_manager.domain.errors import RefuseToStart
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.store import SchemaTooNew, Store, StoreError, StoreUnusable, schema
from risk_manager.store.schema import EXPECTED_TABLES, Migration, latest_version, migrations

from .conftest import T0


def _tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def test_packaged_migrations_are_numbered_from_one() -> None:
    found = migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].name == "0001_initial.sql"


def test_open_creates_folders_file_and_every_table(db_path: Path) -> None:
    assert not db_path.parent.exists()
    with Store.open(db_path) as s:
        assert s.schema_version == latest_version()
    assert _tables(db_path) >= EXPECTED_TABLES
    assert _user_version(db_path) == latest_version()


def test_the_connection_is_durable_wal_with_foreign_keys(sqlite_store: Store) -> None:
    with sqlite_store._db.write() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_reads_have_a_read_only_connection_of_their_own(sqlite_store: Store) -> None:
    with sqlite_store._db.write() as writer:
        pass
    with sqlite_store._db.read() as conn:
        assert conn is not writer
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA query_only").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM locks")


async def test_a_read_does_not_wait_for_a_write_in_progress(sqlite_store: Store) -> None:
    lock = sqlite_store.add_lock(Lock(7, "r", LockKind.HARD, "committed", T0, None))
    holding, release = threading.Event(), threading.Event()

    def write_and_hold() -> None:
        with sqlite_store._db.write() as conn:  # the write lock held, a change not committed
            conn.execute("UPDATE locks SET reason = 'uncommitted' WHERE id = ?", (lock.id,))
            holding.set()
            release.wait(10)

    writer = asyncio.create_task(asyncio.to_thread(write_and_hold))
    try:
        await asyncio.to_thread(holding.wait, 10)
        read = asyncio.to_thread(sqlite_store.active_locks, T0)
        assert await asyncio.wait_for(read, 5) == [lock]  # the last commit, at once
    finally:
        release.set()
        await writer
    (after,) = sqlite_store.active_locks(T0)
    assert after.reason == "uncommitted"  # it did land once released


def test_reopening_migrates_nothing_and_keeps_data(db_path: Path) -> None:
    with Store.open(db_path) as s:
        lock = s.add_lock(Lock(7, "r", LockKind.HARD, "why", T0, None))
    for _ in range(3):
        with Store.open(db_path) as s:
            assert s.schema_version == latest_version()
            assert s.lock_history(7) == [lock]
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        assert schema.migrate(conn, db_path) == latest_version()  # again on a live file
    finally:
        conn.close()


def test_a_newer_schema_is_refused_naming_file_and_versions(db_path: Path) -> None:
    Store.open(db_path).close()
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 5}")
    with pytest.raises(SchemaTooNew) as caught:
        Store.open(db_path)
    message = str(caught.value)
    assert str(db_path) in message
    assert f"schema version {latest_version() + 5}" in message
    assert f"up to {latest_version()}" in message
    assert isinstance(caught.value, RefuseToStart)
    assert _user_version(db_path) == latest_version() + 5  # left untouched


def test_a_failing_migration_rolls_back_whole(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store.open(db_path).close()
    broken = Migration(
        latest_version() + 1,
        "9999_broken.sql",
        "CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n",
    )
    monkeypatch.setattr(schema, "migrations", lambda: (*migrations(), broken))
    with pytest.raises(StoreUnusable, match="no_such_table"):
        Store.open(db_path)
    monkeypatch.undo()
    assert "half_done" not in _tables(db_path)
    assert _user_version(db_path) == latest_version()
    Store.open(db_path).close()  # still usable by the real code


def test_an_sqlite_without_returning_is_refused_before_anything_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 34, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.34.1")
    path = tmp_path / "data" / "rm.db"
    with pytest.raises(StoreUnusable, match=r"SQLite 3\.34\.1; the store needs 3\.35\.0") as caught:
        Store.open(path)
    assert isinstance(caught.value, RefuseToStart)
    assert not path.parent.exists()


def test_a_garbage_file_is_refused_with_the_path(tmp_path: Path) -> None:
    garbage = tmp_path / "rm.db"
    garbage.write_bytes(b"this is not sqlite, it is a config file\n" * 100)
    with pytest.raises(StoreUnusable, match="not a usable risk-manager database") as caught:
        Store.open(garbage)
    assert str(garbage) in str(caught.value)
    assert garbage.read_bytes().startswith(b"this is not sqlite")  # not overwritten


def test_a_second_store_on_the_same_file_sees_commits(db_path: Path) -> None:
    with Store.open(db_path) as writer, Store.open(db_path) as reader:
        lock = writer.add_lock(Lock(7, "r", LockKind.HARD, "why", T0, None))
        assert reader.active_locks(T0) == [lock]
        reader.set_timer(7, "t", T0)
        assert [t.name for t in writer.timers()] == ["t"]


def test_backup_is_a_complete_consistent_copy(sqlite_store: Store, tmp_path: Path) -> None:
    lock = sqlite_store.add_lock(Lock(7, "r", LockKind.HARD, "why", T0, None))
    target = sqlite_store.backup(tmp_path / "backups" / "rm-copy.db")
    sqlite_store.add_lock(Lock(7, "r", LockKind.HARD, "after the backup", T0, None))
    with Store.open(target) as copy:
        assert copy.lock_history(7) == [lock]
        assert copy.schema_version == latest_version()
    with pytest.raises(StoreError, match="onto itself"):
        sqlite_store.backup(sqlite_store.path)
