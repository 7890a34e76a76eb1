from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from risk_manager.store import Store

T0 = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)  # 17:00 CT, a daily reset


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "rm.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store.open(db_path) as s:
        yield s
