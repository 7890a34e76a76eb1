"""One daemon per store (RULES.md §5): an OS file lock on ``<store>.lock`` held for the life of
the process, taken through the ``filelock`` library (``flock`` on POSIX, ``msvcrt`` byte locks
on Windows). The OS drops it when the process dies, even by SIGKILL, so a crash never leaves
the store claimed. Who holds it (pid, host, since when) is written to ``<store>.lock.holder``
once the lock is taken, so a refused second daemon can name the first (the lock file itself
is the library's: it may be truncated by every attempt, and on Windows it cannot be read while
locked)."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from risk_manager.domain.errors import RefuseToStart
from risk_manager.store.errors import StoreError

MEMORY = ":memory:"


class StoreInUse(StoreError, RefuseToStart):
    """Another process holds the store: a second guard would double every reduction."""

    def __init__(self, store: Path | str, holder: str) -> None:
        super().__init__(
            f"store {store} is in use by another risk-manager ({holder}); stop that one "
            "first: only one daemon may guard a store"
        )
        self.store = str(store)
        self.holder = holder


def lock_path(store: Path | str) -> Path:
    """``<store>.lock`` beside the store file."""
    path = Path(store)
    return path.with_name(path.name + ".lock")


def note_path(store: Path | str) -> Path:
    """``<store>.lock.holder``: the holder's pid, host and start, as JSON."""
    lock = lock_path(store)
    return lock.with_name(lock.name + ".holder")


def _describe(store: Path) -> str:
    note = note_path(store)
    try:
        data = json.loads(note.read_text(encoding="utf-8"))
        return f"pid {int(data['pid'])} on {data['host']}, since {data['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return f"holder unknown: {note} has no readable note yet"


def _write_note(store: Path) -> None:
    note = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = note_path(store)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(json.dumps(note))


class _Hold:
    def __init__(self, lock: FileLock) -> None:
        self.lock = lock
        self.count = 0


_holds: dict[str, _Hold] = {}
_mutex = threading.Lock()


def _acquire(store: Path) -> tuple[str, _Hold]:
    lock = lock_path(store)
    key = str(lock.resolve())
    with _mutex:
        hold = _holds.get(key)
        if hold is None:
            lock.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # One lock object per file in this process (two flock descriptors of one process
            # would refuse each other); no soft fallback: a marker file would outlive a crash.
            file_lock = FileLock(
                lock,
                timeout=0,
                mode=0o600,
                thread_local=False,
                fallback_to_soft=False,
                preserve_lock_file=True,
            )
            try:
                file_lock.acquire()
            except Timeout:
                raise StoreInUse(store, _describe(store)) from None
            _write_note(store)
            hold = _holds[key] = _Hold(file_lock)
        hold.count += 1
        return key, hold


def _release(key: str, hold: _Hold) -> None:
    with _mutex:
        hold.count -= 1
        if hold.count == 0:
            del _holds[key]
            hold.lock.release(force=True)


@contextmanager
def hold_store(store: Path | str) -> Iterator[None]:
    """Hold the store's lock for the block; re-entrant within one process (``run`` holds it
    for its whole life, the daemon inside it again). Raises :class:`StoreInUse` naming the
    holder when another process has it. ``:memory:`` stores need no lock."""
    if str(store) == MEMORY:
        yield
        return
    key, hold = _acquire(Path(store))
    try:
        yield
    finally:
        _release(key, hold)
