"""One daemon per store (RULES.md §5): an OS file lock on ``<store>.lock`` held for the life of
the process. The kernel drops it when the process dies, even by SIGKILL, so a crash never
leaves the store claimed. Who holds it (pid, host, since when) is written into the same file,
outside the locked byte on Windows, so a refused second daemon can name the first."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from risk_manager.domain.errors import RefuseToStart
from risk_manager.store.errors import StoreError

MEMORY = ":memory:"
_WINDOWS_LOCK_OFFSET = 1 << 20  # the locked byte, far past the holder's note (Windows locks
# are mandatory: a locked byte cannot be read by another process)


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


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except PermissionError:  # some filesystems answer EACCES for contention
        return False
    return True


def _describe(lock: Path) -> str:
    try:
        note = json.loads(lock.read_text(encoding="utf-8"))
        return f"pid {int(note['pid'])} on {note['host']}, since {note['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return f"holder unknown: {lock} has no readable note yet"


class _Hold:
    def __init__(self, fd: int) -> None:
        self.fd = fd
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
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
            if not _try_lock(fd):
                os.close(fd)
                raise StoreInUse(store, _describe(lock))
            note = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(note).encode().ljust(200))  # fixed width: no stale tail
            hold = _holds[key] = _Hold(fd)
        hold.count += 1
        return key, hold


def _release(key: str, hold: _Hold) -> None:
    with _mutex:
        hold.count -= 1
        if hold.count == 0:
            del _holds[key]
            os.close(hold.fd)  # closing the only descriptor drops the lock


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
