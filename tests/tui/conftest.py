from __future__ import annotations

from datetime import UTC, datetime

import pytest

from risk_manager.api import demo
from risk_manager.api.memory import MemoryReadModel


@pytest.fixture
def model() -> MemoryReadModel:
    # Real "now": the dashboard renders countdowns against the wall clock.
    now = datetime.now(UTC)
    m = MemoryReadModel()
    m.put_account(demo.locked_account(now))
    m.put_account(demo.calm_account(now))
    for entry in demo.enforcement_log(now):
        m.record_enforcement(entry)
    return m
