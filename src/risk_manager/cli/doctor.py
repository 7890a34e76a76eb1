"""``risk-manager doctor [--config FILE] [--url URL] [--json]``: the post-deployment
checklist (docs/OPERATIONS.md "Daily checks"). Each line is a verdict, ok / warn / fail, and
what to do when not ok. Exit 0 when all are ok, 1 with a warning, 2 with a failure; ``--json``
prints ``{"status": worst, "checks": [...]}`` for monitoring."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import aiohttp
import typer

from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import load_config
from risk_manager.config.models import Config
from risk_manager.doctor import checks
from risk_manager.doctor.verdict import Verdict, exit_code, worst
from risk_manager.engine.factory import calendar_for
from risk_manager.service.spec import current_platform, default_spec

UNREACHABLE = (aiohttp.ClientError, OSError, TimeoutError, ValueError)


async def _remote(config: Config, url: str) -> list[Verdict]:
    out: list[Verdict] = []
    now = datetime.now(UTC)
    try:
        probe = await checks.probe_login(config)
    except ConfigError as exc:
        out.append(
            Verdict(
                "login",
                "fail",
                "; ".join(exc.problems),
                "set PROJECTX_USERNAME and PROJECTX_API_KEY (or broker.* in the config)",
            )
        )
    except UNREACHABLE as exc:
        out.append(
            Verdict(
                "login",
                "fail",
                f"{config.broker.api_url} cannot be reached ({type(exc).__name__}: {exc})",
                "check the network, a proxy or firewall, and broker.api_url",
            )
        )
    else:
        out += [checks.check_login(probe, now), checks.check_clock(probe)]
    try:
        readings = await checks.read_daemon(url)
    except UNREACHABLE as exc:
        out.append(checks.unreachable_daemon(url, exc))
        out.append(checks.check_memory(None))
        return out
    calendar = calendar_for(config.trading_day)
    out += [
        checks.check_daemon(readings),
        checks.check_hubs(readings, now),
        checks.check_daily_reset(readings, calendar, now),
        checks.check_latency(readings),
        checks.check_memory(readings),
    ]
    return out


def doctor(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="The daemon's config (default: the installed service's)."
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(help="The daemon's API (default: api.host and api.port of the config)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdicts as JSON.")] = False,
) -> None:
    """Check a deployment: service, login and token, clock, hubs, daily reset, disk,
    database, memory, logs, enforcement latency, backups; each with what to do."""
    spec = default_spec(current_platform())
    path = config or Path(str(spec.config))
    service = checks.check_service(
        spec, f"sudo risk-manager service install --config {path} (docs/INSTALL.md)"
    )
    verdicts = [service]
    try:
        cfg = load_config(path, env=checks.environment(spec))
    except ConfigError as exc:
        verdicts.append(
            Verdict(
                "config",
                "fail",
                "; ".join(exc.problems),
                "run it with sudo: the installed config is the service user's alone"
                if any("cannot read" in p for p in exc.problems)
                else "fix the config (risk-manager config check FILE)",
            )
        )
        _report(verdicts, as_json)
        return
    verdicts.append(Verdict("config", "ok", f"{path} is valid"))
    api = url or cfg.api.url
    verdicts += asyncio.run(_remote(cfg, api))
    store = Path(cfg.store.path)
    verdicts += [
        checks.check_disk(store),
        checks.check_database(store),
        checks.check_logs(cfg, service_installed=service.status == "ok"),
        checks.check_backups(cfg),
    ]
    _report(verdicts, as_json)


def _report(verdicts: list[Verdict], as_json: bool) -> None:
    if as_json:
        body = {"status": worst(verdicts), "checks": [v.as_json() for v in verdicts]}
        typer.echo(json.dumps(body, indent=2))
    else:
        for verdict in verdicts:
            typer.echo(verdict.line())
    code = exit_code(verdicts)
    if code:
        raise typer.Exit(code)
