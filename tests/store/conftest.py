"""Fixtures of the store tests.

The port's tests (``test_store_locks``, ``_roundtrip``, ``_outbox``, ``_rule_memory``) take
``store``, a :class:`~risk_manager.store.ports.StorePort`, and ``open_store``, which opens the
same storage again (a restart), from every backend in :data:`BACKENDS`: a second backend adds
its entry here and the whole port suite runs against it (docs/STORE.md). The SQLite-only tests
(migrations, file modes, crashes, the ``db`` command, timers) take ``sqlite_store`` or
``db_path``.
"""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from risk_manager.store import Store
from risk_manager.store.ports import StorePort

T0 = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)  # 17:00 CT, a daily reset

#: Opens one storage, the same each call: a ``with`` block is one run of the daemon.
Opener = Callable[[], AbstractContextManager[StorePort]]


def _sqlite(tmp_path: Path) -> Opener:
    path = tmp_path / "data" / "rm.db"
    return lambda: Store.open(path)


#: Backend name -> given an empty folder of the test's own, an opener of fresh storage.
BACKENDS: dict[str, Callable[[Path], Opener]] = {"sqlite": _sqlite}


@pytest.fixture(params=sorted(BACKENDS))
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    return BACKENDS[request.param](tmp_path)


@pytest.fixture
def store(open_store: Opener) -> Iterator[StorePort]:
    with open_store() as s:
        yield s


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "rm.db"


@pytest.fixture
def sqlite_store(db_path: Path) -> Iterator[Store]:
    with Store.open(db_path) as s:
        yield s
