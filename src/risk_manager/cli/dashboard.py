"""``risk-manager dashboard`` (terminal UI) and ``risk-manager status`` (one-shot view).

Both are clients of the daemon's local API; neither can change or stop the daemon.
"""

from __future__ import annotations

import asyncio
import json
import time

import typer
from rich.console import Console

from risk_manager.tui.client import DEFAULT_URL, ApiUnreachable, fetch_status
from risk_manager.types import JSON, utc_now

URL_HELP = "Base URL of the daemon's local API."


def dashboard(url: str = typer.Option(DEFAULT_URL, "--url", help=URL_HELP)) -> None:
    """Open the terminal dashboard (tabs: Overview, P&L, Positions, Rules, Log; q quits)."""
    from risk_manager.tui.app import DashboardApp  # Textual loads only for this command

    DashboardApp(url).run()


def status(
    url: str = typer.Option(DEFAULT_URL, "--url", help=URL_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print health and accounts as JSON."),
    wait: float = typer.Option(
        0.0,
        "--wait",
        min=0.0,
        help="Wait up to this many seconds for the daemon to answer ok (a script's start).",
    ),
) -> None:
    """Print the daemon's health and every account once.

    Exit 0 when healthy, 2 when the daemon answers but is degraded or down, 1 when unreachable.
    With ``--wait``, ask again every half second until it is healthy or the time is up.
    """
    from risk_manager.tui import render
    from risk_manager.tui.state import DashboardState

    try:
        health, accounts = asyncio.run(_status_within(url, wait))
    except ApiUnreachable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps({"health": health, "accounts": accounts}, indent=2))
    else:
        console = Console()
        state = DashboardState(accounts={int(a["id"]): a for a in accounts}, health=health)
        hubs = ", ".join(
            f"{name} {'up' if h.get('connected') else 'DOWN'}"
            for name, h in (health.get("hubs") or {}).items()
        )
        n = int(health.get("accounts_monitored") or 0)
        console.print(
            f"daemon {health.get('status')} · up {int(health.get('uptime') or 0)} s · "
            f"{n} account{'' if n == 1 else 's'} · hubs: {hubs or 'n/a'} · "
            f"last event {health.get('last_event') or 'none'}"
        )
        if health.get("problem"):
            console.print(f"not guarding: {health['problem']}")
        console.print(render.overview(state, utc_now()))
    if health.get("status") != "ok":
        raise typer.Exit(2)


async def _status_within(url: str, wait: float) -> tuple[JSON, list[JSON]]:
    """``fetch_status`` until the daemon says ok or ``wait`` seconds are over; the last
    answer (or the last ``ApiUnreachable``) then."""
    deadline = time.monotonic() + wait
    while True:
        try:
            health, accounts = await fetch_status(url)
        except ApiUnreachable:
            if time.monotonic() >= deadline:
                raise
        else:
            if health.get("status") == "ok" or time.monotonic() >= deadline:
                return health, accounts
        await asyncio.sleep(0.5)
