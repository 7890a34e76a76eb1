"""The composition root: the one place that builds the daemon's parts and hands them in
(cosmicpython's ``bootstrap``; DESIGN.md style 5 and 11).

``bootstrap(config)`` checks what the config must hold before anything opens, opens the store
(held: one daemon per store), builds the gateway client, the hub factory, the alert channels
and the metrics, and returns an unstarted :class:`~risk_manager.runtime.daemon.Daemon` over
them. Tests hand in fakes through the same function (``open_store``, ``connect``) instead of
reaching into the daemon. Nothing here touches the network: the daemon's start logs in and
connects.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from risk_manager.config.errors import ConfigError
from risk_manager.config.models import Config
from risk_manager.config.sections import BrokerConfig, StoreConfig
from risk_manager.engine.factory import calendar_for
from risk_manager.projectx.client import ProjectXClient
from risk_manager.projectx.hubs import HubFactory
from risk_manager.projectx.wire_faults import WireFaults
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.alerts import AlertChannels
from risk_manager.runtime.alerts.watch import AlertWatch
from risk_manager.runtime.control import DaemonControl
from risk_manager.runtime.daemon import Daemon, DaemonParts
from risk_manager.runtime.health import DaemonHealth
from risk_manager.runtime.maintenance import Maintenance
from risk_manager.runtime.metrics import Metrics
from risk_manager.runtime.pnl_snapshots import PnlSnapshots
from risk_manager.runtime.read_side import DaemonReadSide
from risk_manager.runtime.run_marker import RunMarker, marker_path
from risk_manager.runtime.session import BrokerSession
from risk_manager.store import Store
from risk_manager.store.db import MEMORY
from risk_manager.store.holder import hold_store
from risk_manager.store.ports import MaintainedStore, StorePort
from risk_manager.types import Clock, utc_now

OpenStore = Callable[[StoreConfig], AbstractContextManager[StorePort]]
"""Opens the store for the life of the context (and closes it after): ``sqlite_store``."""


class Connect(Protocol):
    """Builds the gateway client for ``broker`` (not yet entered: no socket opens until the
    daemon's start). ``wire_faults`` counts rejected records; ``on_rest_error(endpoint,
    kind)`` is told of every failed REST attempt. Raises ``ConfigError`` when the broker
    section lacks what a login needs."""

    def __call__(
        self,
        broker: BrokerConfig,
        *,
        wire_faults: WireFaults,
        on_rest_error: Callable[[str, str], None],
    ) -> ProjectXClient: ...


@contextlib.contextmanager
def sqlite_store(config: StoreConfig) -> Iterator[StorePort]:
    """The SQLite store behind the port, held by this process while open (store/holder.py:
    a second daemon on the same file is refused with ``StoreInUse``)."""
    with hold_store(config.path), Store.open(config.path) as store:
        yield store


def connect_gateway(
    broker: BrokerConfig,
    *,
    wire_faults: WireFaults,
    on_rest_error: Callable[[str, str], None],
) -> ProjectXClient:
    """The ProjectX Gateway client for ``broker`` (API doc §2-§6); ``ConfigError`` without a
    username and API key."""
    username, api_key = broker.credentials()
    return ProjectXClient(
        broker.api_url,
        username,
        api_key,
        wire_faults=wire_faults,
        on_rest_error=on_rest_error,
    )


def bootstrap(
    config: Config,
    *,
    clock: Clock = utc_now,
    open_store: OpenStore = sqlite_store,
    connect: Connect = connect_gateway,
    hub_options: Mapping[str, Any] | None = None,
    listeners: Sequence[Callable[[int], None]] = (),
    config_path: Path | None = None,
) -> Daemon:
    """An unstarted daemon over ``config``'s parts (start it with ``async with`` or ``start()``;
    ``stop()`` closes the store even when it never started). ``clock``: aware wall-clock
    time for every part; ``open_store``: the store backend; ``connect``: the gateway
    client; ``hub_options``: ``HubConnection`` keyword arguments for both hubs (tests
    reconnect fast); ``listeners``: told the id of every account an actor changed, after
    the read side (the benchmark waits on them); ``config_path``: the file ``config`` was
    read from, re-read by a reload and watched for changes (None: reload is refused).
    Raises ``ConfigError`` for a config the daemon must not run on (missing credentials; a
    size-dependent value shared by accounts of different sizes, docs/CONFIG.md "Per-account
    values") and ``StoreInUse`` when
    another process holds the store, before anything else is opened."""
    metrics = Metrics()
    wire_faults = WireFaults(metrics.wire_record_rejected)
    client = connect(config.broker, wire_faults=wire_faults, on_rest_error=metrics.rest_error)
    shared = config.shared_size_problems()
    if shared:  # a 100K account must never run on a 50K account's floor
        raise ConfigError(shared)
    closing = contextlib.ExitStack()
    store = closing.enter_context(open_store(config.store))
    try:
        broker = config.broker
        calendar = calendar_for(config.trading_day)
        session = BrokerSession(
            config,
            client,
            HubFactory(
                broker.user_hub_url,
                broker.market_hub_url,
                client.tokens,
                {"faults": wire_faults, **(hub_options or {})},
            ),
            metrics=metrics,
            wire_faults=wire_faults,
            fills=store,
            calendar=calendar,
            clock=clock,
        )
        actors: dict[int, AccountActor] = {}  # filled by the daemon's start
        control = DaemonControl(config, config_path, store, actors, clock)
        health = DaemonHealth((session,), actors, control.problem)
        read_side = DaemonReadSide(
            actors, store, health, config, clock, control=control, first=session.quotes.first
        )
        alerts = AlertChannels(config.alerts, store, clock=clock)
        # backups, retention and the unclean-stop marker need a store file
        on_disk: MaintainedStore | None = (
            store if isinstance(store, MaintainedStore) and store.path != MEMORY else None
        )
        snapshots = PnlSnapshots(actors, store, clock)
        parts = DaemonParts(
            store=store,
            closing=closing,
            sessions=(session,),
            alerts=alerts,
            metrics=metrics,
            calendar=calendar,
            actors=actors,
            health=health,
            read_side=read_side,
            listeners=(read_side.mark, snapshots.mark, *listeners),
            control=control,
            maintenance=(
                Maintenance(on_disk, config.backup, config.retention, calendar, clock)
                if on_disk is not None
                else None
            ),
            watch=(
                AlertWatch(
                    config.alerts.watch,
                    (session,),
                    alerts.send,
                    guarding=lambda: health.guarding,
                    store=None if on_disk is None else Path(on_disk.path),
                    calendar=calendar,
                    clock=clock,
                )
                # a test's fake client has no token manager or breaker to watch
                if isinstance(client, ProjectXClient)
                else None
            ),
            run_marker=None if on_disk is None else RunMarker(marker_path(on_disk.path)),
            snapshots=snapshots,
        )
        return Daemon(config, parts, clock=clock)
    except BaseException:
        closing.close()
        raise
