"""A ``BrokerSession`` with no gateway behind it, for tests of its routing (quotes, events)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import cast

from risk_manager.config.models import Config
from risk_manager.engine.factory import calendar_for
from risk_manager.projectx.client import ProjectXClient
from risk_manager.projectx.hubs import HubFactory
from risk_manager.projectx.wire_faults import WireFaults
from risk_manager.runtime.metrics import Metrics
from risk_manager.runtime.session import BrokerSession
from risk_manager.store.ports import FillStore


def bare_session(clock: Callable[[], datetime]) -> BrokerSession:
    """A session of the default config whose client, hubs and fill store are never reached
    (unreachable hub URLs; no tokens): actors are carried and messages fed by the test."""
    config = Config.model_validate({})
    client = cast(ProjectXClient, SimpleNamespace(tokens=None))
    return BrokerSession(
        config,
        client,
        HubFactory("wss://user.invalid", "wss://market.invalid", client.tokens),
        metrics=Metrics(),
        wire_faults=WireFaults(),
        fills=cast(FillStore, SimpleNamespace()),
        calendar=calendar_for(config.trading_day),
        clock=clock,
    )
