from __future__ import annotations

from datetime import UTC, datetime

import pytest

from risk_manager.api.demo_server import demo_model
from risk_manager.api.memory import MemoryReadModel


@pytest.fixture
def model() -> MemoryReadModel:
    # Real "now": the dashboard renders countdowns against the wall clock.
    return demo_model(datetime.now(UTC))
