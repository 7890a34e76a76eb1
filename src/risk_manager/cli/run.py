"""``risk-manager run``: the live daemon."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

import typer

from risk_manager.api.server import running_api
from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import load_config
from risk_manager.config.models import Config
from risk_manager.domain.errors import AuthenticationFailed, RefuseToStart, RetryLater
from risk_manager.runtime.bootstrap import bootstrap
from risk_manager.runtime.logs import setup_logging
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
    setup_logging(cfg.logging.level, cfg.logging.format)
    try:
        # Before anything touches the store, held until the process ends (RULES.md §5: one
        # daemon per store); the kernel releases it even when the process is killed.
        with hold_store(cfg.store.path):
            asyncio.run(_serve(cfg))
    except RefuseToStart as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


async def _serve(cfg: Config) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        if sys.platform == "win32":  # no add_signal_handler on Windows
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
        else:
            loop.add_signal_handler(sig, stop.set)
    log = logging.getLogger(__name__)
    attempt = 0
    while not stop.is_set():
        # A guard must come back by itself: an unreachable gateway or a failed login at start
        # is retried with backoff (locks are enforced from the store as soon as it connects).
        try:
            # The API comes up before the login, so `status` and the dashboards can say why
            # the daemon is not guarding yet (a refused login, an empty account list).
            async with (
                contextlib.aclosing(bootstrap(cfg)) as daemon,
                running_api(
                    daemon.read_side,
                    daemon.metrics,
                    cfg.api.host,
                    cfg.api.port,
                    notify_on_lock=cfg.api.notify_on_lock,
                ) as api,
            ):
                log.info("local API and dashboard at %s", api.url)
                await daemon.start()
                attempt = 0
                log.info("guarding %d account(s); dashboard at %s", len(daemon.actors), api.url)
                await stop.wait()
                log.info("stopping")
                await daemon.stop()  # enforcement in flight drains while the API still answers
                return
        except RefuseToStart:
            raise
        except AuthenticationFailed as exc:
            log.critical("login to the gateway failed: %s; retrying", exc)
            delay = START_RETRY_CAP
        except (RetryLater, OSError) as exc:
            attempt += 1
            delay = min(START_RETRY_CAP, 2.0**attempt)
            log.error(
                "cannot start guarding (%s: %s); retrying in %.0f s", type(exc).__name__, exc, delay
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
