"""Backups of the store file (docs/BACKUP.md): consistent copies made with SQLite's online
backup API, safe while a daemon writes (the copy is one read transaction of the source),
listed newest first, pruned to the newest N, and restored only into a store no daemon holds,
after the backup has passed SQLite's integrity check and the schema check.

A backup is named ``risk-manager-YYYYmmddTHHMMSSffffffZ.sqlite`` (UTC); a copy in progress is
written under a ``.partial`` name and renamed when complete, so a listed file is always whole.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from risk_manager.domain.locks import Lock
from risk_manager.store.db import connect_reader, copy_database, make_private
from risk_manager.store.errors import StoreError
from risk_manager.store.holder import hold_store
from risk_manager.store.verify import VerifyReport, verify

PREFIX = "risk-manager-"
SUFFIX = ".sqlite"
_STAMP = "%Y%m%dT%H%M%S%fZ"


class BackupRefused(StoreError):
    """A backup that fails its checks, or a restore that would be unsafe."""


class LocksWouldEnd(BackupRefused):
    """Restoring the backup would end the store's active ``locks`` early (the backup predates
    them): a trader must not escape a lock by restoring yesterday's store."""

    def __init__(self, backup: Path, locks: list[Lock]) -> None:
        self.locks = locks
        named = "; ".join(f"account {k.account_id} {k.rule} ({k.reason})" for k in locks)
        super().__init__(
            f"restoring {backup} would end {len(locks)} active lock(s) it does not hold: {named}"
        )


def locks_lost(store: Path, backup: Path, at: datetime) -> list[Lock]:
    """The store's locks active at ``at`` that ``backup`` does not hold active (same account,
    rule and start): what restoring it would end early. The backup is read from a temporary
    copy (opening a store migrates it; the backup itself is never changed)."""
    from risk_manager.store.store import Store  # the Store is built on this package

    if not store.is_file():
        return []
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "backup.sqlite"
        shutil.copyfile(backup, copy)
        with Store.open(copy) as old:
            kept = {(k.account_id, k.rule, k.created_at) for k in old.active_locks(at)}
    with Store.open(store) as now:
        current = now.active_locks(at)
    return [k for k in current if (k.account_id, k.rule, k.created_at) not in kept]


@dataclass(frozen=True, slots=True)
class BackupFile:
    """One backup: its file, when it was taken (from its name, UTC) and its size in bytes."""

    path: Path
    taken_at: datetime
    size: int


def default_dir(store: Path | str) -> Path:
    """``backups`` beside the store file: where backups go when ``backup.dir`` is unset."""
    return Path(store).parent / "backups"


def backup_name(at: datetime, label: str = "") -> str:
    """The file name of a backup taken at ``at`` (aware); ``label`` is put before the suffix
    (``pre-restore``)."""
    stamp = at.astimezone(UTC).strftime(_STAMP)
    return f"{PREFIX}{stamp}{'-' + label if label else ''}{SUFFIX}"


def _taken_at(name: str) -> datetime | None:
    if not (name.startswith(PREFIX) and name.endswith(SUFFIX)):
        return None
    stamp = name[len(PREFIX) : -len(SUFFIX)].split("-", 1)[0]
    try:
        return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def list_backups(folder: Path) -> list[BackupFile]:
    """The backups in ``folder``, newest first (none when it does not exist)."""
    found: list[BackupFile] = []
    if not folder.is_dir():
        return found
    for path in folder.iterdir():
        taken = _taken_at(path.name)
        if taken is not None and path.is_file():
            found.append(BackupFile(path, taken, path.stat().st_size))
    found.sort(key=lambda b: (b.taken_at, b.path.name), reverse=True)
    return found


def create_backup(store: Path, folder: Path, at: datetime, *, label: str = "") -> Path:
    """Back ``store`` up into ``folder`` while any process may be writing it (a read-only
    connection: this never takes the daemon's write lock); the copy is checked before it is
    kept. Raises :class:`BackupRefused` for a missing store or a copy that fails its check."""
    if not store.is_file():
        raise BackupRefused(f"no store at {store}: nothing to back up")
    target = folder / backup_name(at, label)
    try:
        with closing(connect_reader(store, busy_timeout=5.0)) as source:
            copy_database(source, target)
    except sqlite3.Error as exc:
        raise BackupRefused(f"backing up {store} failed: {exc}") from exc
    report = verify(target)
    if not report.ok:
        target.unlink(missing_ok=True)
        raise BackupRefused(f"the backup of {store} failed its check: {'; '.join(report.problems)}")
    return target


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups in ``folder``; returns what was deleted.
    Labelled copies (a restore's safety copy) count like any other."""
    removed: list[Path] = []
    for old in list_backups(folder)[keep:]:
        old.path.unlink(missing_ok=True)
        removed.append(old.path)
    return removed


def check_backup(backup: Path) -> VerifyReport:
    """The backup's integrity and schema, read only: an older schema passes (the next open
    migrates it), a newer one or any damage does not."""
    return verify(backup, allow_older=True)


def restore_backup(
    backup: Path, store: Path, safety_dir: Path, at: datetime, *, drop_locks: bool = False
) -> Path | None:
    """Replace the contents of ``store`` with ``backup``'s.

    Refused with :class:`~risk_manager.store.holder.StoreInUse` while a daemon holds the store
    (its single-daemon lock, held here for the whole restore), and with
    :class:`BackupRefused` when the backup fails :func:`check_backup`, and with
    :class:`LocksWouldEnd` when it lacks locks active in the store, unless ``drop_locks`` (the
    admin's explicit choice, audited by the caller). The store as it was is
    first backed up into ``safety_dir`` (labelled ``pre-restore``); returns that copy's path
    (None when there was no store). The copy goes through SQLite's backup API into the store
    file, so its -wal and -shm stay consistent."""
    with hold_store(store):
        report = check_backup(backup)
        if not report.ok:
            raise BackupRefused(f"{backup} cannot be restored: {'; '.join(report.problems)}")
        lost = locks_lost(store, backup, at)
        if lost and not drop_locks:
            raise LocksWouldEnd(backup, lost)
        safety = (
            create_backup(store, safety_dir, at, label="pre-restore") if store.is_file() else None
        )
        make_private(store, warn=False)
        try:
            with (
                closing(connect_reader(backup, busy_timeout=5.0)) as source,
                closing(sqlite3.connect(str(store), timeout=5.0)) as target,
            ):
                source.backup(target)
        except sqlite3.Error as exc:
            raise BackupRefused(f"restoring {backup} into {store} failed: {exc}") from exc
        return safety
