"""Daemons for tests, built through the composition root (runtime/bootstrap.py) as the
command builds them: from fakes (no store file, no gateway) or started on a real config with
the local API served beside it, as ``risk-manager run`` serves it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from risk_manager.api.server import running_api
from risk_manager.config.models import Config
from risk_manager.config.sections import BrokerConfig, StoreConfig
from risk_manager.projectx.client import ProjectXClient
from risk_manager.projectx.wire_faults import WireFaults
from risk_manager.runtime.bootstrap import bootstrap
from risk_manager.runtime.daemon import Daemon
from risk_manager.store.ports import StorePort
from risk_manager.types import utc_now


def daemon_from_fakes(
    config: Config | None = None,
    *,
    store: object = None,
    client: object = None,
    clock: Callable[[], datetime] = utc_now,
) -> Daemon:
    """An unstarted daemon over ``store`` and ``client`` (any objects with the methods the
    test reaches; by default ones that have none)."""

    @contextlib.contextmanager
    def open_store(_: StoreConfig) -> Any:
        yield cast(StorePort, store if store is not None else SimpleNamespace())

    def connect(
        broker: BrokerConfig, *, wire_faults: WireFaults, on_rest_error: Callable[[str, str], None]
    ) -> ProjectXClient:
        return cast(ProjectXClient, client if client is not None else SimpleNamespace(tokens=None))

    return bootstrap(
        config or Config.model_validate({}), clock=clock, open_store=open_store, connect=connect
    )


@contextlib.asynccontextmanager
async def serving(daemon: Daemon, config: Config) -> AsyncIterator[str]:
    """The local API over ``daemon``'s read side on ``config.api``, as the command serves it
    (before the start); yields its URL."""
    async with running_api(
        daemon.read_side, daemon.metrics, config.api.host, config.api.port
    ) as api:
        yield api.url
