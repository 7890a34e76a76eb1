"""The store's SQLite connections: one writer, shared safely between threads, with the
durability settings the locks need (a committed lock must survive the process being killed,
even the machine losing power): WAL, ``synchronous=FULL``, foreign keys, a busy timeout for a
second process; and one read-only reader, so a read never waits on a write (WAL readers see
the last commit)."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

from risk_manager.store import schema
from risk_manager.store.errors import StoreError, StoreUnusable

MEMORY = ":memory:"
MIN_SQLITE = (3, 35, 0)  # RETURNING
PRIVATE = 0o600  # the trading history is the owner's alone (folder 0700)
# Page cache per connection, KiB. SQLite's default (2 MiB) fills as the store grows, slowly
# enough to read as growth for the first hours of a run (the soak); the hot pages (the
# tables' and indexes' newest leaves) fit in far less, the rest is in the OS's file cache.
CACHE_KIB = 512

# Seconds a grouped write (``grouped``) waits for another write to commit it before it commits
# itself: fills, rule memory, outcomes ride the next journal intent's fsync instead of taking
# one of their own that a breach's journal write would queue behind (docs/STORE.md "SQLite").
GROUP_WINDOW = 0.02
# Grouped calls a group holds at most: the one that fills it commits it at once. Each waits in
# a worker thread of the loop's default executor (at least 5 of them): a burst of fills parks
# at most 3 threads, never all those a journal intent needs.
GROUP_MAX = 4
# Seconds between a parked grouped writer's looks at its group: a commit made by another write
# (a journal intent's, on the breach path) wakes nobody, so the grouped writers' threads and
# their futures' callbacks on the loop do not compete with that intent's own return to the
# loop and its send; they leave within this time instead.
GROUP_POLL = 0.002

_log = logging.getLogger(__name__)
# .on: this thread's writes are grouped; .joined: the (database, group) each went into
_grouping = threading.local()
P = ParamSpec("P")
R = TypeVar("R")


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def grouped(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` with its store writes *grouped*: each write's statements go into a transaction
    left open for the next write to commit (an urgent one, the journal's intent before a
    send, commits them in its own fsync), or committed by ``fn``'s thread once
    ``GROUP_WINDOW`` has passed with no other write (or by the call that makes the group
    ``GROUP_MAX`` calls). ``fn`` returns only once its writes are
    committed (on disk: ``synchronous=FULL``; several writes of one call wait once, at its
    end), and raises if that commit fails, as an ungrouped write would. For background
    writes run in a worker thread (fills, rule memory, outcomes, alerts' journal rows, P&L
    snapshots): the thread waits up to ``GROUP_WINDOW`` for the commit. Called on an event
    loop's thread (a test's direct runner), or inside another grouped call, ``fn`` runs as
    it is (committing at once; joining the outer call's group)."""

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if getattr(_grouping, "on", False) or _on_event_loop():  # never hold a loop's thread
            return fn(*args, **kwargs)
        _grouping.on, _grouping.joined = True, []
        try:
            result = fn(*args, **kwargs)
        finally:
            joined: list[tuple[Database, _Group]] = _grouping.joined
            _grouping.on, _grouping.joined = False, []
        # fn's writes landed in these groups: wait for their commits (a raise above leaves
        # them to commit with the next write, as a write committed before the raise would be)
        for db, group in joined:
            db._await_commit(group)
        return result

    return run


def _store_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def make_private(path: Path, *, warn: bool) -> None:
    """Create the store's folder 0700 and the file 0600 when missing; tighten the file and
    its -wal/-shm (SQLite creates them with the file's mode) when anyone else may read them.
    POSIX only: Windows files follow the folder's ACL."""
    if sys.platform == "win32":  # pragma: no cover
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE))
    for file in _store_files(path):
        try:
            mode = file.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if mode & 0o077:
            file.chmod(PRIVATE)
            if warn:
                _log.warning(
                    "%s was readable by other users (mode %o); now %o", file, mode, PRIVATE
                )


def connect(path: Path | str, busy_timeout: float) -> sqlite3.Connection:
    """Open ``path`` with the store's settings; nothing is created beyond the file itself."""
    conn = sqlite3.connect(
        str(path),
        timeout=busy_timeout,
        isolation_level=None,  # autocommit: transactions are explicit BEGIN IMMEDIATE … COMMIT
        check_same_thread=False,  # callers reach us through asyncio.to_thread; guarded below
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000):d}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() not in ("wal", "memory"):
            raise StoreUnusable(
                f"{path}: SQLite refused WAL mode (got {mode!r}); put the database on a local "
                "disk, not a network share"
            )
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB:d}")
    except BaseException:
        conn.close()
        raise
    return conn


def connect_reader(path: Path | str, busy_timeout: float) -> sqlite3.Connection:
    """A read-only connection to ``path`` (opened ``mode=ro``, and ``query_only`` besides):
    reads can never write, and in WAL mode never wait for the writer."""
    conn = sqlite3.connect(
        f"{Path(path).resolve().as_uri()}?mode=ro",
        uri=True,
        timeout=busy_timeout,
        isolation_level=None,
        check_same_thread=False,  # reads run in worker threads; guarded by Database
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000):d}")
        conn.execute("PRAGMA query_only = ON")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB:d}")
    except BaseException:
        conn.close()
        raise
    return conn


def require_returning(path: Path | str) -> None:
    """Refuse an SQLite older than 3.35: the store's inserts read their ids with RETURNING."""
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        need = ".".join(map(str, MIN_SQLITE))
        raise StoreUnusable(
            f"{path}: this Python links SQLite {sqlite3.sqlite_version}; the store needs "
            f"{need} or newer (INSERT ... RETURNING): use a Python built with a newer SQLite"
        )


def returned_id(cur: sqlite3.Cursor) -> int:
    """The id an ``INSERT ... RETURNING id`` gave back. Reads every row, so the statement is
    finished before the transaction commits."""
    rows = cur.fetchall()
    if len(rows) != 1:
        raise StoreError(f"expected one id back from an insert, got {len(rows)} rows")
    return int(rows[0][0])


def unusable(path: Path | str, exc: Exception) -> StoreUnusable:
    return StoreUnusable(
        f"{path}: not a usable risk-manager database ({exc}); move it aside or restore a "
        "backup, then run `risk-manager db migrate`"
    )


def copy_database(source: sqlite3.Connection, target: Path) -> Path:
    """Copy ``source`` into a new file at ``target`` with SQLite's online backup API: written
    0600 (its folder made 0700) under a ``.partial`` name and renamed once complete, so a file
    at ``target`` is always whole; one self-contained file (journal mode DELETE, no -wal).
    Returns ``target``."""
    if sys.platform == "win32":  # pragma: no cover - the folder's ACL applies
        target.parent.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE))
    try:
        dst = sqlite3.connect(str(partial))
        try:
            source.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


class _Group:
    """An open transaction holding grouped writes, until a commit ends it (``Database``)."""

    __slots__ = ("deadline", "done", "error", "writers")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline  # time.monotonic(): its writers commit it themselves after
        self.writers = 0  # grouped calls waiting for it (GROUP_MAX: full, committed)
        self.done = False
        self.error: BaseException | None = None  # the commit failed: its writes did not land


class Database:
    """The writer connection plus a re-entrant mutex; ``write()`` nests into one transaction.

    Reads use a read-only connection of their own: in WAL mode a reader never waits for a
    writer, so a write stuck behind another process's lock (up to the busy timeout) never
    holds up a read, such as the dashboards' (run off the event loop: docs/STORE.md). A
    ``:memory:`` database has one connection: reads share the writer's mutex."""

    def __init__(self, conn: sqlite3.Connection, path: str, busy_timeout: float = 5.0) -> None:
        self._conn: sqlite3.Connection | None = conn
        self.path = path
        self._mutex = threading.RLock()
        # Urgent writers waiting for the mutex (the journal's intents before a send): other
        # writers wait at this gate while there are any (``write``).
        self._gate = threading.Condition(threading.Lock())
        self._urgent = 0
        self._depth = 0
        self._busy_timeout = busy_timeout
        self._reader: sqlite3.Connection | None = None
        self._writer: int | None = None  # the thread inside write(), if any
        self._read_mutex = threading.RLock()
        # Grouped writes waiting for a commit (``grouped``): the open transaction holding them,
        # and the condition their threads wait on (its lock is the gate's).
        self._group: _Group | None = None
        self.commits = 0  # transactions committed (a figure for tests and benchmarks)

    @classmethod
    def open(cls, path: Path | str, busy_timeout: float = 5.0) -> Database:
        """Open (creating the file 0600 in a 0700 folder) and migrate. Raises
        ``StoreUnusable`` (SchemaTooNew included) for a file or an SQLite it cannot use."""
        require_returning(path)
        try:
            if str(path) != MEMORY:
                make_private(Path(path), warn=True)
            conn = connect(path, busy_timeout)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise unusable(path, exc) from exc
        try:
            schema.migrate(conn, path)
            if str(path) != MEMORY:
                make_private(Path(path), warn=False)  # -wal and -shm now exist
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise unusable(path, exc) from exc
        except BaseException:
            conn.close()
            raise
        return cls(conn, str(path), busy_timeout)

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"store {self.path} is closed")
        return self._conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        if self.path == MEMORY or self._writer == threading.get_ident():  # see our own write
            with self._mutex:
                yield self._live()
            return
        with self._read_mutex:
            self._live()  # raises once closed
            if self._reader is None:
                self._reader = connect_reader(self.path, self._busy_timeout)
            yield self._reader

    @contextmanager
    def write(self, *, urgent: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction; taken IMMEDIATE so a second process waits at BEGIN, not mid-way.
        COMMIT returns only once the WAL is synced (synchronous=FULL).

        ``urgent``: a write something waits on to act (the journal's intent before a send,
        RULES.md §5): it goes before every write not yet started that is not urgent (fills,
        rule memory, snapshots, outcomes), so it waits for at most the commit in progress.
        In a thread running a ``grouped`` function the write is grouped (urgent or not: its
        caller says nothing waits on it): its statements join the open transaction and its
        thread waits for a commit. Any other write commits the grouped writes waiting with
        its own, in one fsync."""
        mine = self._writer == threading.get_ident()  # nested: already holds the mutex
        grouping: bool = not mine and getattr(_grouping, "on", False)
        urgent = urgent and not grouping
        if urgent and not mine:
            with self._gate:
                self._urgent += 1
            try:
                self._mutex.acquire()
            finally:
                with self._gate:
                    self._urgent -= 1
                    if not self._urgent:
                        self._gate.notify_all()
        elif mine:
            self._mutex.acquire()
        else:
            self._acquire_behind_urgent()
        if grouping:
            try:
                group = self._join_group()
                try:
                    with self._savepoint() as conn:
                        yield conn
                except BaseException:
                    if not group.writers:  # nobody's rows in it: SQLite's write lock let go
                        self._live().execute("ROLLBACK")
                        self._end_group(None)
                    raise
                joined: list[tuple[Database, _Group]] = _grouping.joined
                if (self, group) not in joined:  # ``grouped`` waits for its commit
                    joined.append((self, group))
                    group.writers += 1
                if group.writers >= GROUP_MAX:
                    self._commit_group()  # full (raises when it fails: not landed)
            finally:
                self._mutex.release()
            return
        try:
            with self._transaction() as conn:
                yield conn
        finally:
            self._mutex.release()

    def _join_group(self) -> _Group:
        """The open group transaction (begun now when none is), the mutex held."""
        if self._group is None:
            self._live().execute("BEGIN IMMEDIATE")
            self._group = _Group(time.monotonic() + GROUP_WINDOW)
        return self._group

    @contextmanager
    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        """A grouped write's statements, all or none (a savepoint in the group's transaction:
        a write that fails leaves the others' rows as they were); the mutex held."""
        conn = self._live()
        conn.execute("SAVEPOINT grouped")
        self._depth = 1
        self._writer = threading.get_ident()
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK TO grouped")
            raise
        finally:
            conn.execute("RELEASE grouped")
            self._depth = 0
            self._writer = None

    def _await_commit(self, group: _Group) -> None:
        """Until ``group`` is committed: by another write (seen within ``GROUP_POLL``), else
        by this thread at the group's deadline. Raises the commit's error (the write did not
        land)."""
        with self._gate:
            while not group.done and (left := group.deadline - time.monotonic()) > 0:
                self._gate.wait(min(left, GROUP_POLL))
        if not group.done:
            self._acquire_behind_urgent()
            try:
                if self._group is group:
                    self._commit_group()
            finally:
                self._mutex.release()
        if group.error is not None:
            raise StoreError(f"{self.path}: a grouped commit failed: {group.error}")

    def _commit_group(self, *, wake: bool = True) -> None:
        """Commit the open group transaction (the mutex held); ``wake``: its writers now (not
        within ``GROUP_POLL``). A failed commit wakes them at once."""
        conn = self._live()
        try:
            conn.execute("COMMIT")
            self.commits += 1
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._end_group(exc)
            raise
        self._end_group(None, wake=wake)

    def _end_group(self, error: BaseException | None, *, wake: bool = True) -> None:
        group, self._group = self._group, None
        if group is None:
            return
        with self._gate:
            group.done, group.error = True, error
            if wake or error is not None:
                self._gate.notify_all()

    def _acquire_behind_urgent(self) -> None:
        """The mutex for a write that is not urgent, once no urgent write waits for it: one
        that got the mutex while an urgent write was waiting gives it up and queues again."""
        while True:
            with self._gate:
                self._gate.wait_for(lambda: not self._urgent)
            self._mutex.acquire()
            with self._gate:
                if not self._urgent:
                    return
            self._mutex.release()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            conn = self._live()
            if self._depth:
                self._depth += 1
                try:
                    yield conn
                finally:
                    self._depth -= 1
                return
            if self._group is not None:  # grouped writes wait: this commit takes them along
                with self._savepoint() as conn:
                    yield conn
                self._commit_group(wake=False)  # they see it within GROUP_POLL
                return
            conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            self._writer = threading.get_ident()
            try:
                yield conn
                conn.execute("COMMIT")
                self.commits += 1
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0
                self._writer = None

    def backup(self, to_path: Path | str) -> Path:
        """A consistent copy of the live database at ``to_path`` (see :func:`copy_database`);
        writes wait for it (it holds the writer's mutex: a small store copies in
        milliseconds)."""
        target = Path(to_path)
        if (
            self.path != MEMORY
            and target.exists()
            and target.resolve() == Path(self.path).resolve()
        ):
            raise StoreError(f"cannot back up {self.path} onto itself")
        with self._mutex:
            if self._group is not None:  # the copy holds what was written, grouped included
                self._commit_group()
            return copy_database(self._live(), target)

    def close(self) -> None:
        with self._mutex, self._read_mutex:
            try:
                if self._group is not None and self._conn is not None:
                    self._commit_group()  # grouped writes land before a clean stop
            finally:
                if self._reader is not None:
                    self._reader.close()
                    self._reader = None
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

    @property
    def closed(self) -> bool:
        return self._conn is None
