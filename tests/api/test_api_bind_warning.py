"""An API bound off loopback is logged as a warning when it starts (it has no login)."""

from __future__ import annotations

import logging

import pytest

from risk_manager.api.memory import MemoryReadModel
from risk_manager.api.server import running_api
from risk_manager.runtime.metrics import Metrics


async def test_binding_all_interfaces_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="risk_manager.api.server"):
        async with running_api(MemoryReadModel(), Metrics(), "0.0.0.0", 0):
            pass
    assert any("0.0.0.0 is not a loopback address" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="risk_manager.api.server"):
        async with running_api(MemoryReadModel(), Metrics(), "127.0.0.1", 0):
            pass
    assert not caplog.records
