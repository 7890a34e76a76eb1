"""`risk-manager backup create|list|restore` (docs/BACKUP.md) and the daemon's maintenance
pass: online copies while the store is written, checked restores, refused while held."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from risk_manager.admin.password import PasswordFile
from risk_manager.calendar import TradingCalendar
from risk_manager.cli.main import app
from risk_manager.config.sections import BackupConfig, RetentionConfig
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.runtime.maintenance import Maintenance
from risk_manager.store import Store
from risk_manager.store.backup import backup_name, list_backups
from risk_manager.store.schema import latest_version
from support.polling import eventually

from .conftest import T0

runner = CliRunner()


def _lock(store: Store, account: int, reason: str = "why") -> None:
    store.add_lock(Lock(account, "r", LockKind.HARD, reason, T0, None))


def _accounts(path: Path) -> list[int]:
    with closing(sqlite3.connect(path)) as conn:
        return [r[0] for r in conn.execute("SELECT account_id FROM locks ORDER BY id")]


def _backup(db_path: Path, *extra: str) -> Path:
    result = runner.invoke(app, ["backup", "create", "--path", str(db_path), *extra])
    assert result.exit_code == 0, result.output
    (made,) = [
        Path(line.split(" (")[0]) for line in result.output.splitlines() if "integrity ok" in line
    ]
    return made


@pytest.fixture
def holder(db_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the store's single-daemon lock, as a running daemon does."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\n"
            "from risk_manager.store.holder import hold_store\n"
            f"with hold_store({str(db_path)!r}):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()
    proc.stdout.close()


def test_create_copies_the_store_while_it_is_written_and_list_shows_it(db_path: Path) -> None:
    with Store.open(db_path) as store:
        _lock(store, 1)
        stop = threading.Event()

        def keep_writing() -> None:
            n = 2
            while not stop.is_set():
                _lock(store, n)
                n += 1

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            made = _backup(db_path)
        finally:
            stop.set()
            writer.join()
    assert made.parent == db_path.parent / "backups"
    assert made.stat().st_mode & 0o777 == 0o600
    copied = _accounts(made)
    assert copied[0] == 1 and copied == list(range(1, len(copied) + 1))  # a consistent prefix
    with closing(sqlite3.connect(made)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == latest_version()
    listed = runner.invoke(app, ["backup", "list", "--path", str(db_path)])
    assert listed.exit_code == 0 and str(made) in listed.output


def test_create_works_while_a_daemon_holds_the_store(
    db_path: Path, holder: subprocess.Popen[str]
) -> None:
    del holder
    with Store.open(db_path) as store:
        _lock(store, 5)
    assert _accounts(_backup(db_path)) == [5]


def test_keep_deletes_all_but_the_newest(db_path: Path, tmp_path: Path) -> None:
    Store.open(db_path).close()
    folder = tmp_path / "elsewhere"
    for n in range(3):  # older backups, named as the daemon names them
        Store.open(db_path).backup(folder / backup_name(T0 + timedelta(days=n)))
    made = _backup(db_path, "--dir", str(folder), "--keep", "2")
    assert [b.path for b in list_backups(folder)] == [
        made,
        folder / backup_name(T0 + timedelta(days=2)),
    ]


def test_restore_puts_the_backup_back_and_keeps_the_store_as_it_was(db_path: Path) -> None:
    with Store.open(db_path) as store:
        _lock(store, 1)
    made = _backup(db_path)
    with Store.open(db_path) as store:  # a lock made after the backup, ended since
        store.add_lock(Lock(2, "r", LockKind.HARD, "why", T0, T0 + timedelta(minutes=5)))
    result = runner.invoke(app, ["backup", "restore", str(made), "--path", str(db_path)])
    assert result.exit_code == 0, result.output
    assert _accounts(db_path) == [1]
    (safety,) = [b.path for b in list_backups(made.parent) if "pre-restore" in b.path.name]
    assert _accounts(safety) == [1, 2]
    with Store.open(db_path) as store:  # the daemon's next start opens it as usual
        assert [lock.account_id for lock in store.active_locks(T0)] == [1]
        assert [e.action for e in store.audit_log()] == ["backup.restore"]


def test_restore_refuses_to_end_an_active_lock_the_backup_lacks_but_for_the_admin(
    db_path: Path, tmp_path: Path
) -> None:
    """A trader must not escape a lock by restoring yesterday's store."""
    with Store.open(db_path) as store:
        _lock(store, 1)
    made = _backup(db_path)
    with Store.open(db_path) as store:
        _lock(store, 2, "daily_net_loss: net -412 <= -400")  # until cleared: active now
    before = _accounts(db_path)
    result = runner.invoke(app, ["backup", "restore", str(made), "--path", str(db_path)])
    assert result.exit_code == 2, result.output
    assert "account 2" in result.output and "Traceback" not in result.output
    assert _accounts(db_path) == before == [1, 2]
    config = tmp_path / "config.yaml"
    config.write_text(f"store:\n  path: {db_path}\n")
    PasswordFile(tmp_path / "admin.pwd").set("desk-password-1")
    args = ["backup", "restore", str(made), "--config", str(config), "--drop-locks"]
    result = runner.invoke(app, args, input="not it\n")
    assert result.exit_code == 2 and "wrong password" in result.output
    assert _accounts(db_path) == [1, 2]
    result = runner.invoke(app, args, input="desk-password-1\n")
    assert result.exit_code == 0, result.output
    assert _accounts(db_path) == [1]
    with Store.open(db_path) as store:
        (row,) = store.audit_log()
    assert row.action == "backup.restore"
    assert row.detail["dropped_locks"] == ["account 2 r: daily_net_loss: net -412 <= -400"]


def test_restore_refuses_while_a_daemon_holds_the_store(
    db_path: Path, holder: subprocess.Popen[str]
) -> None:
    with Store.open(db_path) as store:
        _lock(store, 1)
    made = _backup(db_path)
    with Store.open(db_path) as store:
        _lock(store, 2)
    result = runner.invoke(app, ["backup", "restore", str(made), "--path", str(db_path)])
    assert result.exit_code == 2
    assert f"pid {holder.pid}" in result.output and "Traceback" not in result.output
    assert _accounts(db_path) == [1, 2]  # untouched


def test_restore_refuses_a_damaged_or_newer_backup(db_path: Path, tmp_path: Path) -> None:
    with Store.open(db_path) as store:
        for n in range(300):
            _lock(store, n, "reason " * 20)
    made = _backup(db_path)
    damaged = tmp_path / "damaged.sqlite"
    data = bytearray(made.read_bytes())
    data[2 * 4096 : 5 * 4096] = b"\xa5" * (3 * 4096)
    damaged.write_bytes(bytes(data))
    before = db_path.read_bytes()
    result = runner.invoke(app, ["backup", "restore", str(damaged), "--path", str(db_path)])
    assert result.exit_code == 2 and "not restored" in result.output
    newer = tmp_path / "newer.sqlite"
    newer.write_bytes(made.read_bytes())
    with closing(sqlite3.connect(newer)) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    result = runner.invoke(app, ["backup", "restore", str(newer), "--path", str(db_path)])
    assert result.exit_code == 2 and "newer than this risk-manager" in result.output
    assert db_path.read_bytes() == before


def test_create_refuses_a_missing_store(tmp_path: Path) -> None:
    result = runner.invoke(app, ["backup", "create", "--path", str(tmp_path / "none.db")])
    assert result.exit_code == 2 and "nothing to back up" in result.output
    assert not (tmp_path / "none.db").exists()


def test_the_config_names_the_store_and_the_folder(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "risk.yaml"
    config.parent.mkdir()
    config.write_text("store: {path: data/rm.db}\nbackup: {dir: saved}\n", encoding="utf-8")
    Store.open(tmp_path / "conf" / "data" / "rm.db").close()
    result = runner.invoke(app, ["backup", "create", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert len(list_backups(tmp_path / "conf" / "saved")) == 1


async def test_the_daemons_pass_backs_up_keeps_n_and_prunes(db_path: Path) -> None:
    now = [datetime(2026, 6, 1, 12, tzinfo=UTC)]
    with Store.open(db_path) as store:
        _lock(store, 1)
        maintenance = Maintenance(
            store,
            BackupConfig(keep=2, every=timedelta(days=1)),
            RetentionConfig(),
            TradingCalendar(),
            lambda: now[0],
        )
        assert maintenance.due_in() == 0.0  # no backup yet: due at once
        for _ in range(3):
            report = await maintenance.run_once()
            assert report.backup is not None and report.pruned is not None
            now[0] += timedelta(days=1)
        assert maintenance.due_in() == 0.0
        now[0] -= timedelta(hours=6)
        assert maintenance.due_in() == pytest.approx(6 * 3600)
    backups = list_backups(db_path.parent / "backups")
    assert len(backups) == 2 and backups[0].taken_at == datetime(2026, 6, 3, 12, tzinfo=UTC)
    assert all(_accounts(b.path) == [1] for b in backups)
    assert not [p for p in backups[0].path.parent.iterdir() if p.name.endswith(".partial")]
    assert os.stat(backups[0].path.parent).st_mode & 0o777 == 0o700


async def test_the_daemons_task_backs_up_when_due_and_a_failed_pass_does_not_end_it(
    db_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Store.open(db_path) as store:
        _lock(store, 1)
        blocker = tmp_path / "a-file"
        blocker.write_text("where the backup folder should be")
        failing = Maintenance(
            store,
            BackupConfig(dir=blocker / "backups"),
            RetentionConfig(),
            TradingCalendar(),
            lambda: datetime.now(UTC),
            start_delay=0,
        )
        task = asyncio.create_task(failing.run())
        await eventually(lambda: "store maintenance failed" in caplog.text)
        assert not task.done()  # tried again later, never raised
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        maintenance = Maintenance(
            store,
            BackupConfig(),
            RetentionConfig(),
            TradingCalendar(),
            lambda: datetime.now(UTC),
            start_delay=0,
        )
        task = asyncio.create_task(maintenance.run())
        await eventually(lambda: maintenance.passes == 1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    (made,) = list_backups(db_path.parent / "backups")
    assert _accounts(made.path) == [1]
    assert "Traceback" not in caplog.text
