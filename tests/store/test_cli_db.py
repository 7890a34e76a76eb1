"""`risk-manager db migrate` and `risk-manager db verify` through Typer's CliRunner."""

import sqlite3
from contextlib import closing
from pathlib import Path

from typer.testing import CliRunner

from risk_manager.cli.main import app
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.store import Store
from risk_manager.store.schema import latest_version, migrations

from .conftest import T0

runner = CliRunner()


def test_migrate_creates_the_file_and_prints_the_version(db_path: Path) -> None:
    result = runner.invoke(app, ["db", "migrate", "--path", str(db_path)])
    assert result.exit_code == 0, result.output
    assert f"schema version {latest_version()}" in result.output
    assert db_path.is_file()
    again = runner.invoke(app, ["db", "migrate", "--path", str(db_path)])
    assert again.exit_code == 0 and f"schema version {latest_version()}" in again.output


def test_verify_passes_on_a_migrated_file(db_path: Path) -> None:
    with Store.open(db_path) as s:
        s.add_lock(Lock(7, "r", LockKind.HARD, "why", T0, None))
    result = runner.invoke(app, ["db", "verify", "--path", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output and f"schema version {latest_version()}" in result.output


def test_verify_and_migrate_reject_a_garbage_file(tmp_path: Path) -> None:
    garbage = tmp_path / "rm.db"
    garbage.write_bytes(bytes(range(256)) * 40)
    verified = runner.invoke(app, ["db", "verify", "--path", str(garbage)])
    assert verified.exit_code == 2
    assert "not a usable SQLite database" in verified.output
    migrated = runner.invoke(app, ["db", "migrate", "--path", str(garbage)])
    assert migrated.exit_code == 2
    assert "not a usable risk-manager database" in migrated.output
    assert str(garbage) in migrated.output
    assert garbage.read_bytes() == bytes(range(256)) * 40


def test_verify_reports_corrupted_pages(db_path: Path) -> None:
    with Store.open(db_path) as s:
        for n in range(300):
            s.add_lock(Lock(n, "r", LockKind.HARD, "reason " * 20, T0, None))
    # Closing the last connection checkpoints the WAL, so the rows now live in the main file.
    page = 4096
    data = bytearray(db_path.read_bytes())
    assert len(data) > 6 * page
    data[2 * page : 5 * page] = b"\xa5" * (3 * page)  # scribble over pages 3–5
    db_path.write_bytes(bytes(data))
    result = runner.invoke(app, ["db", "verify", "--path", str(db_path)])
    assert result.exit_code == 2
    assert "error:" in result.output
    assert "integrity_check failed" in result.output or "malformed" in result.output


def test_verify_rejects_missing_file_old_new_and_incomplete_schemas(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["db", "verify", "--path", str(tmp_path / "none.db")])
    assert missing.exit_code == 2 and "db migrate" in missing.output
    assert not (tmp_path / "none.db").exists()  # verify never creates a file

    empty = tmp_path / "empty.db"
    empty.touch()
    old = runner.invoke(app, ["db", "verify", "--path", str(empty)])
    assert old.exit_code == 2 and "older than" in old.output

    newer = tmp_path / "newer.db"
    Store.open(newer).close()
    with closing(sqlite3.connect(newer)) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    too_new = runner.invoke(app, ["db", "verify", "--path", str(newer)])
    assert too_new.exit_code == 2 and "newer than this risk-manager" in too_new.output
    refused = runner.invoke(app, ["db", "migrate", "--path", str(newer)])
    assert refused.exit_code == 2 and str(newer) in refused.output

    dropped = tmp_path / "dropped.db"
    Store.open(dropped).close()
    with closing(sqlite3.connect(dropped)) as conn:
        conn.execute("DROP TABLE timers")
    incomplete = runner.invoke(app, ["db", "verify", "--path", str(dropped)])
    assert incomplete.exit_code == 2 and "missing tables: timers" in incomplete.output


def test_path_is_required() -> None:
    result = runner.invoke(app, ["db", "verify"])
    assert result.exit_code != 0 and "--path" in result.output


def _version_one_store(path: Path) -> None:
    """A store as the first release made it: its DDL alone (migration 0001), with data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    first = migrations()[0]
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.executescript(first.sql)
        conn.execute("PRAGMA user_version = 1")
        conn.execute(
            "INSERT INTO locks (account_id, rule, kind, reason, created_at) "
            "VALUES (7, 'daily_net_loss', 'hard', 'lost 500', '2026-03-10T22:00:00.000000+00:00')"
        )
        conn.execute(
            "INSERT INTO journal (account_id, rule, kind, intent, created_at) "
            "VALUES (7, 'daily_net_loss', 'flatten', '{}', '2026-03-10T22:00:00.000000+00:00')"
        )
    assert _tables(path) >= {"locks", "journal"} and "alert_outbox" not in _tables(path)


def _tables(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_migrate_upgrades_an_old_store_in_place_keeping_its_data(db_path: Path) -> None:
    _version_one_store(db_path)
    result = runner.invoke(app, ["db", "migrate", "--path", str(db_path)])
    assert result.exit_code == 0, result.output
    assert f"schema version {latest_version()}" in result.output
    with Store.open(db_path) as store:
        (lock,) = store.active_locks(T0)
        assert (lock.account_id, lock.reason) == (7, "lost 500")
        (unfinished,) = store.unfinished_actions()
        assert unfinished.kind == "flatten"
        store.save_rule_memory(7, {"k": {"peak": "1"}}, T0)  # the tables added since work
    assert runner.invoke(app, ["db", "verify", "--path", str(db_path)]).exit_code == 0


def test_the_daemons_open_upgrades_an_old_store_too(db_path: Path) -> None:
    _version_one_store(db_path)
    with Store.open(db_path) as store:
        assert store.schema_version == latest_version()
        assert [lock.reason for lock in store.active_locks(T0)] == ["lost 500"]


def test_migrate_refuses_a_store_from_a_newer_version_with_exit_2(db_path: Path) -> None:
    Store.open(db_path).close()
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    result = runner.invoke(app, ["db", "migrate", "--path", str(db_path)])
    assert result.exit_code == 2
    assert f"schema version {latest_version() + 1}" in result.output
    assert "Traceback" not in result.output
