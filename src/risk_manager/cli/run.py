"""``risk-manager run``: the live daemon."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import typer

from risk_manager.admin.config_edit import ConfigFile
from risk_manager.admin.password import PasswordFile
from risk_manager.api.admin import AdminSurface
from risk_manager.api.server import running_api
from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import load_config
from risk_manager.config.models import Config
from risk_manager.domain.errors import AuthenticationFailed, RefuseToStart, RetryLater
from risk_manager.runtime.bootstrap import bootstrap
from risk_manager.runtime.daemon import Daemon
from risk_manager.runtime.logs import config_secrets, setup_logging
from risk_manager.service.notify import Notifier, watchdog
from risk_manager.stop_signals import stop_on_signals
from risk_manager.store.holder import hold_store

START_RETRY_CAP = 60.0  # seconds between start attempts at most


def run(
    config: Path = typer.Option(..., "--config", "-c", help="The YAML config file."),
) -> None:
    """Guard the accounts: connect to the gateway and enforce the rule book until stopped.

    Guards every account the API key sees, or those listed under `accounts:`.
    """
    try:
        cfg = load_config(config)
        cfg.require_broker_credentials()
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"{config}: {problem}", err=True)
        raise typer.Exit(2) from None
    try:
        setup_logging(cfg.logging, secrets=config_secrets(cfg))
    except OSError as exc:  # a log folder that cannot be written: say which, start nothing
        typer.echo(f"{config}: logging: cannot open a log file ({exc})", err=True)
        raise typer.Exit(2) from None
    try:
        # Before anything touches the store, held until the process ends (RULES.md §5: one
        # daemon per store); the kernel releases it even when the process is killed.
        with hold_store(cfg.store.path):
            asyncio.run(_serve(cfg, config))
    except RefuseToStart as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _admin(cfg: Config, path: Path, daemon: Daemon) -> AdminSurface:
    """The admin API's parts (docs/ADMIN.md), the daemon's control (reload, lock clearing,
    reset) among them."""
    assert cfg.admin.password_file is not None  # the loader fills it in
    return AdminSurface(
        password=PasswordFile(cfg.admin.password_file),
        config=ConfigFile(path),
        audit=daemon.store,
        read_model=daemon.read_side,
        control=daemon.control,
        clock=daemon.clock,
    )


async def _serve(cfg: Config, path: Path) -> None:
    stop = asyncio.Event()
    # Under systemd (Type=notify): READY once the API serves, the watchdog fed from this loop.
    notifier = Notifier()
    with stop_on_signals(stop):
        async with watchdog(notifier):
            await _guard_until_stopped(cfg, path, stop, notifier)


async def _guard_until_stopped(
    cfg: Config, path: Path, stop: asyncio.Event, notifier: Notifier
) -> None:
    log = logging.getLogger(__name__)
    attempt = 0
    while not stop.is_set():
        # A guard must come back by itself: an unreachable gateway or a failed login at start
        # is retried with backoff (locks are enforced from the store as soon as it connects).
        try:
            # The API comes up before the login, so `status` and the dashboards can say why
            # the daemon is not guarding yet (a refused login, an empty account list).
            async with (
                contextlib.aclosing(bootstrap(cfg, config_path=path)) as daemon,
                running_api(
                    daemon.read_side,
                    daemon.metrics,
                    cfg.api.host,
                    cfg.api.port,
                    admin=_admin(cfg, path, daemon),
                    notify_on_lock=cfg.api.notify_on_lock,
                ) as api,
            ):
                log.info("local API and dashboard at %s", api.url)
                notifier.notify("READY=1", "STATUS=logging in and reconciling")
                await daemon.start()
                attempt = 0
                log.info("guarding %d account(s); dashboard at %s", len(daemon.actors), api.url)
                notifier.notify(f"STATUS=guarding {len(daemon.actors)} account(s)")
                await stop.wait()
                log.info("stopping")
                notifier.notify("STOPPING=1")
                await daemon.stop()  # enforcement in flight drains while the API still answers
                return
        except RefuseToStart:
            raise
        except AuthenticationFailed as exc:
            log.critical("login to the gateway failed: %s; retrying", exc)
            notifier.notify(f"STATUS=login failed: {exc}")
            delay = START_RETRY_CAP
        except (RetryLater, OSError) as exc:
            attempt += 1
            delay = min(START_RETRY_CAP, 2.0**attempt)
            log.error(
                "cannot start guarding (%s: %s); retrying in %.0f s", type(exc).__name__, exc, delay
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
