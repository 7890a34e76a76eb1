from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from api.browser import chromium_page
from risk_manager.api.demo_server import demo_model
from risk_manager.api.memory import MemoryReadModel
from risk_manager.api.server import RunningApi, running_api
from risk_manager.runtime.metrics import Metrics

NOW = datetime(2026, 3, 10, 19, 30, tzinfo=UTC)


@pytest.fixture
def model() -> MemoryReadModel:
    return demo_model(NOW)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def api(model: MemoryReadModel, metrics: Metrics) -> AsyncIterator[RunningApi]:
    async with running_api(model, metrics, port=0) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    """A headless Chromium page (``page.errors`` lists its script errors); skips without one."""
    async with chromium_page() as pg:
        yield pg
