"""The writer's order: a write enforcement waits on goes before the background ones.

An urgent write (the journal's intent before a send, a lock row: ``Database.write(urgent=True)``)
waits for at most the commit in progress, never for fills, rule memory or snapshots queued
before it (docs/STORE.md "SQLite"; measured by ``bench e2e``, docs/PERFORMANCE.md).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from risk_manager.store.db import Database

DEADLINE = 5.0  # seconds for a thread to reach the point the test waits for


def _writer(db: Database, name: str, order: list[str], urgent: bool) -> threading.Thread:
    def write() -> None:
        with db.write(urgent=urgent) as conn:
            conn.execute("INSERT INTO t VALUES (?)", (name,))
            order.append(name)

    thread = threading.Thread(target=write, name=f"writer-{name}", daemon=True)
    thread.start()
    return thread


def test_an_urgent_write_goes_before_background_writes_queued_ahead_of_it(
    tmp_path: Path,
) -> None:
    db = Database.open(tmp_path / "rm.db")
    with db.write() as conn:
        conn.execute("CREATE TABLE t (name TEXT)")
    order: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:  # a fill write in progress (its fsync, say)
        with db.write() as conn:
            conn.execute("INSERT INTO t VALUES ('held')")
            order.append("held")
            holding.set()
            release.wait(DEADLINE)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert holding.wait(DEADLINE)
    fills = _writer(db, "fills", order, urgent=False)  # queued first, behind the holder
    # Each sleep lets the thread just started block on the mutex; only the order is checked.
    time.sleep(0.05)
    intent = _writer(db, "intent", order, urgent=True)
    time.sleep(0.05)
    release.set()
    for thread in (holder, fills, intent):
        thread.join(DEADLINE)
    assert order == ["held", "intent", "fills"]
    with db.read() as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM t")] == order
    db.close()


def test_a_nested_write_inside_an_urgent_one_does_not_wait_for_itself(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "rm.db")
    with db.write(urgent=True) as conn:
        conn.execute("CREATE TABLE t (name TEXT)")
        with db.write() as inner:  # one transaction (the store's writes nest)
            inner.execute("INSERT INTO t VALUES ('nested')")
    with db.read() as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM t")] == ["nested"]
    db.close()
