"""A lock whose commit returned survives the process being SIGKILLed mid-write."""

import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

import pytest

from risk_manager.store import Store
from risk_manager.store.verify import verify

# The child commits a lock (and a journal row) per turn and prints each id only after the
# store call returned, so every printed id was committed before the kill.
CHILD = r"""
import sys
from datetime import UTC, datetime, timedelta
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.store import Store

store = Store.open(sys.argv[1])
t0 = datetime(2026, 3, 10, 22, tzinfo=UTC)
n = 0
while True:
    n += 1
    at = t0 + timedelta(microseconds=n)
    lock = store.add_lock(
        Lock(n % 3, "crash_test", LockKind.HARD, f"lock {n} " + "x" * 300, at, None)
    )
    sys.stdout.write(f"lock {lock.id}\n")
    sys.stdout.flush()
    entry = store.journal_intent(n % 3, "crash_test", "flatten", {"n": n}, at)
    sys.stdout.write(f"journal {entry}\n")
    sys.stdout.flush()
"""


def _run_and_kill(path: Path, want_locks: int) -> tuple[set[int], set[int]]:
    """Start the writer, SIGKILL it once it reported ``want_locks`` locks, return every id it
    reported (including lines still in the pipe at the kill)."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdout is not None
    fd = child.stdout.fileno()
    buf = b""
    locks: set[int] = set()
    journal: set[int] = set()

    def take_lines() -> None:
        nonlocal buf
        *lines, buf = buf.split(b"\n")  # an unfinished last line is not counted
        for line in lines:
            kind, _, value = line.decode().partition(" ")
            (locks if kind == "lock" else journal).add(int(value))

    deadline = time.monotonic() + 30
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while len(locks) < want_locks:
            assert time.monotonic() < deadline, "writer too slow"
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            if sel.select(timeout=0.5):
                buf += os.read(fd, 65536)
                take_lines()
    child.kill()  # SIGKILL: lands while the child is in its next write
    child.wait(timeout=10)
    assert child.returncode == -9  # killed by SIGKILL
    buf += child.stdout.read()  # lines written before the kill still count
    take_lines()
    child.stdout.close()
    if child.stderr:
        child.stderr.close()
    return locks, journal


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX-only")
def test_committed_locks_survive_sigkill_mid_write(tmp_path: Path) -> None:
    path = tmp_path / "rm.db"
    reported_locks: set[int] = set()
    reported_journal: set[int] = set()
    for want in (25, 120, 60):  # three kills at different points, same file
        locks, journal = _run_and_kill(path, want)
        reported_locks |= locks
        reported_journal |= journal
        with Store.open(path) as store:
            stored = {lk.id: lk for a in range(3) for lk in store.lock_history(a)}
            entries = {e.id for e in store.unfinished_actions()}
        missing = reported_locks - stored.keys()
        assert not missing, f"committed locks lost after SIGKILL: {sorted(missing)}"
        assert reported_journal <= entries
        for lock_id in reported_locks:
            assert stored[lock_id].reason.startswith("lock ")  # whole rows, not torn
            assert stored[lock_id].reason.endswith("x" * 300)
        report = verify(path)
        assert report.ok, report.problems
    assert len(reported_locks) >= 25 + 120 + 60
