"""The store's SQLite connections: one writer, shared safely between threads, with the
durability settings the locks need (a committed lock must survive the process being killed,
even the machine losing power): WAL, ``synchronous=FULL``, foreign keys, a busy timeout for a
second process; and one read-only reader, so a read never waits on a write (WAL readers see
the last commit)."""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from risk_manager.store import schema
from risk_manager.store.errors import StoreError, StoreUnusable

MEMORY = ":memory:"
MIN_SQLITE = (3, 35, 0)  # RETURNING
PRIVATE = 0o600  # the trading history is the owner's alone (folder 0700)
# Page cache per connection, KiB. SQLite's default (2 MiB) fills as the store grows, slowly
# enough to read as growth for the first hours of a run (the soak); the hot pages (the
# tables' and indexes' newest leaves) fit in far less, the rest is in the OS's file cache.
CACHE_KIB = 512

_log = logging.getLogger(__name__)


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
        rule memory, snapshots, outcomes), so it waits for at most the commit in progress."""
        mine = self._writer == threading.get_ident()  # nested: already holds the mutex
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
        try:
            with self._transaction() as conn:
                yield conn
        finally:
            self._mutex.release()

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
            conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            self._writer = threading.get_ident()
            try:
                yield conn
                conn.execute("COMMIT")
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
            return copy_database(self._live(), target)

    def close(self) -> None:
        with self._mutex, self._read_mutex:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @property
    def closed(self) -> bool:
        return self._conn is None
