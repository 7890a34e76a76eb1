"""The writer's order: a write enforcement waits on goes before the background ones.

An urgent write (the journal's intent before a send, a lock row: ``Database.write(urgent=True)``)
waits for at most the commit in progress, never for fills, rule memory or snapshots queued
before it; those, written ``grouped``, wait in an open transaction for the next commit (one
fsync for all), or commit themselves after ``GROUP_WINDOW`` (docs/STORE.md "SQLite";
measured by ``bench e2e``, docs/PERFORMANCE.md).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from risk_manager.store import db as db_module
from risk_manager.store.db import Database, grouped

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


# -- grouped writes: background writes ride the next commit (``grouped``) ----------------------


def _grouped_writer(
    db: Database, name: str, written: threading.Event, *, fail: bool = False, urgent: bool = False
) -> tuple[threading.Thread, list[BaseException]]:
    """A background write (a fill, say) in a thread of its own, grouped; ``written`` is set
    once its statements ran (its thread then waits for a commit)."""
    errors: list[BaseException] = []

    @grouped
    def write() -> None:
        with db.write(urgent=urgent) as conn:
            conn.execute("INSERT INTO t VALUES (?)", (name,))
            written.set()
            if fail:
                raise ValueError("this write fails")

    def run() -> None:
        try:
            write()
        except BaseException as exc:  # the test reads it
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"grouped-{name}", daemon=True)
    thread.start()
    return thread, errors


def _names(db: Database) -> list[str]:
    with db.read() as conn:
        return [r[0] for r in conn.execute("SELECT name FROM t ORDER BY rowid")]


def _table(tmp_path: Path) -> Database:
    db = Database.open(tmp_path / "rm.db")
    with db.write() as conn:
        conn.execute("CREATE TABLE t (name TEXT)")
    return db


def test_an_urgent_write_commits_the_grouped_writes_waiting_in_its_own_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "GROUP_WINDOW", DEADLINE)  # only the urgent write commits
    db = _table(tmp_path)
    before = db.commits
    written = [threading.Event(), threading.Event()]
    fills = [_grouped_writer(db, f"fill{i}", written[i]) for i in range(2)]
    assert all(w.wait(DEADLINE) for w in written)
    assert _names(db) == []  # not committed yet: they wait for a commit
    with db.write(urgent=True) as conn:
        conn.execute("INSERT INTO t VALUES ('intent')")
    for thread, errors in fills:
        thread.join(DEADLINE)
        assert not thread.is_alive() and errors == []
    assert db.commits == before + 1  # one fsync for the three writes
    assert sorted(_names(db)) == ["fill0", "fill1", "intent"]
    db.close()


def test_a_grouped_write_alone_commits_itself_after_the_window(tmp_path: Path) -> None:
    db = _table(tmp_path)
    before = db.commits
    written = threading.Event()
    thread, errors = _grouped_writer(db, "fill", written)
    thread.join(DEADLINE)
    assert not thread.is_alive() and errors == []
    assert db.commits == before + 1
    assert _names(db) == ["fill"]
    db.close()


def test_a_failed_grouped_write_leaves_the_others_to_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "GROUP_WINDOW", DEADLINE)
    db = _table(tmp_path)
    ok, bad = threading.Event(), threading.Event()
    fill, fill_errors = _grouped_writer(db, "fill", ok)
    assert ok.wait(DEADLINE)
    broken, broken_errors = _grouped_writer(db, "bad", bad, fail=True)
    broken.join(DEADLINE)
    assert [type(e) for e in broken_errors] == [ValueError]  # its own error, at once
    with db.write() as conn:  # any write commits the group, not only an urgent one
        conn.execute("INSERT INTO t VALUES ('next')")
    fill.join(DEADLINE)
    assert not fill.is_alive() and fill_errors == []
    assert _names(db) == ["fill", "next"]  # the failed write's row rolled back, alone
    db.close()


def test_closing_the_store_commits_the_grouped_writes_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "GROUP_WINDOW", DEADLINE)
    db = _table(tmp_path)
    written = threading.Event()
    thread, errors = _grouped_writer(db, "fill", written)
    assert written.wait(DEADLINE)
    db.close()  # a clean stop: the fill lands before the file closes
    thread.join(DEADLINE)
    assert not thread.is_alive() and errors == []
    again = Database.open(tmp_path / "rm.db")
    assert _names(again) == ["fill"]
    again.close()


def test_an_urgent_write_in_a_grouped_function_is_grouped_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alert's journal row (``journal_intent`` is urgent) written in the background: the
    caller's ``grouped`` says nothing waits on it, so it takes no fsync of its own."""
    monkeypatch.setattr(db_module, "GROUP_WINDOW", DEADLINE)
    db = _table(tmp_path)
    before = db.commits
    written = threading.Event()
    thread, errors = _grouped_writer(db, "alert", written, urgent=True)
    assert written.wait(DEADLINE)
    assert _names(db) == []  # waiting for a commit, not committed on its own
    with db.write(urgent=True) as conn:
        conn.execute("INSERT INTO t VALUES ('intent')")
    thread.join(DEADLINE)
    assert not thread.is_alive() and errors == []
    assert db.commits == before + 1
    assert _names(db) == ["alert", "intent"]
    db.close()


def test_the_writes_of_one_grouped_call_wait_once_and_commit_together(tmp_path: Path) -> None:
    """A P&L snapshot round saves one row per account: one commit at the call's end, not a
    window's wait and an fsync per row (ten accounts would take ten windows)."""
    db = _table(tmp_path)
    before = db.commits

    @grouped
    def save_all() -> None:
        for name in ("a", "b", "c"):
            with db.write() as conn:
                conn.execute("INSERT INTO t VALUES (?)", (name,))

    done = threading.Thread(target=save_all, daemon=True)
    done.start()
    done.join(DEADLINE)
    assert not done.is_alive()
    assert db.commits == before + 1
    assert _names(db) == ["a", "b", "c"]
    db.close()


def test_a_full_group_commits_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``GROUP_MAX`` calls waiting commit without waiting for the window: a burst of fills
    parks a few worker threads, never all of the loop's executor (a journal intent needs one)."""
    monkeypatch.setattr(db_module, "GROUP_WINDOW", 60.0)  # far beyond the test's deadline
    db = _table(tmp_path)
    before = db.commits
    written = [threading.Event() for _ in range(db_module.GROUP_MAX)]
    writers = [_grouped_writer(db, f"fill{i}", w) for i, w in enumerate(written)]
    for thread, errors in writers:
        thread.join(DEADLINE)
        assert not thread.is_alive() and errors == []
    assert db.commits == before + 1
    assert len(_names(db)) == db_module.GROUP_MAX
    db.close()


def test_a_failed_grouped_write_alone_leaves_no_transaction_open(tmp_path: Path) -> None:
    """It opened the group and nobody else joined: the write lock another process may be
    waiting for (a `risk-manager db` command) is let go at once, not at the next write."""
    db = _table(tmp_path)
    failed = threading.Event()
    thread, errors = _grouped_writer(db, "bad", failed, fail=True)
    thread.join(DEADLINE)
    assert [type(e) for e in errors] == [ValueError]
    other = sqlite3.connect(tmp_path / "rm.db", timeout=0)  # another process: no waiting
    other.execute("BEGIN IMMEDIATE")  # raises "database is locked" while a transaction is open
    other.execute("ROLLBACK")
    other.close()
    assert _names(db) == []
    db.close()


def test_an_urgent_commit_wakes_no_grouped_writer_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal intent's thread returns to the loop (and the breach is sent) before the
    grouped writers it committed wake: they see the commit at their next look (``GROUP_POLL``),
    so their threads and their callbacks on the loop do not compete with the send."""
    monkeypatch.setattr(db_module, "GROUP_WINDOW", 60.0)
    monkeypatch.setattr(db_module, "GROUP_POLL", 2.0)  # far beyond the urgent write's time
    db = _table(tmp_path)
    written = threading.Event()
    thread, errors = _grouped_writer(db, "fill", written)
    assert written.wait(DEADLINE)
    with db.write(urgent=True) as conn:
        conn.execute("INSERT INTO t VALUES ('intent')")
    thread.join(0.5)  # a woken writer leaves in milliseconds: this one is not woken
    assert thread.is_alive()
    assert sorted(_names(db)) == ["fill", "intent"]
    thread.join(DEADLINE)  # its next look
    assert not thread.is_alive() and errors == []
    db.close()
