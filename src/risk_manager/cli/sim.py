"""``risk-manager sim``: run the local ProjectX Gateway simulator until Ctrl+C."""

from __future__ import annotations

import asyncio
from decimal import Decimal, InvalidOperation

import typer

from risk_manager.sim.server import (
    DEFAULT_API_KEY,
    DEFAULT_USERNAME,
    SimServer,
    SimSettings,
    run_sim,
)


def parse_account(text: str) -> tuple[str, Decimal]:
    """``NAME=BALANCE`` → (name, balance)."""
    name, sep, balance = text.partition("=")
    try:
        amount = Decimal(balance)
    except InvalidOperation:
        amount = Decimal("NaN")
    if not sep or not name.strip() or not amount.is_finite() or amount < 0:
        raise typer.BadParameter(f"{text!r}: write NAME=BALANCE, e.g. SIM-50K=50000")
    return name.strip(), amount


def parse_rate(text: str) -> tuple[int, float]:
    """``COUNT/SECONDS`` → (count, seconds)."""
    count, sep, seconds = text.partition("/")
    try:
        limit, window = int(count), float(seconds)
    except ValueError:
        limit, window = 0, 0.0
    if not sep or limit <= 0 or window <= 0:
        raise typer.BadParameter(f"{text!r}: write COUNT/SECONDS, e.g. 200/60")
    return limit, window


def _announce(sim: SimServer) -> None:
    user_hub, market_hub = sim.hub_urls
    s = sim.settings
    lines = [
        f"ProjectX Gateway simulator listening on {sim.url}",
        f"  REST base:   {sim.url}/api",
        f"  user hub:    {user_hub}",
        f"  market hub:  {market_hub}",
        f"  control:     {sim.url}/sim/ (loopback only: price, state, fault, reset)",
        f"  username:    {s.username}",
        f"  api key:     {s.api_key}",
    ]
    lines += [
        f"  account:     {a.name} (id {a.id}) balance {a.balance}"
        for a in sim.exchange.accounts.values()
    ]
    lines.append("Press Ctrl+C to stop.")
    typer.echo("\n".join(lines))


def sim_command(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(5800, help="TCP port (0 picks a free one)."),
    username: str = typer.Option(DEFAULT_USERNAME, help="userName the simulator accepts."),
    api_key: str = typer.Option(DEFAULT_API_KEY, help="apiKey the simulator accepts."),
    account: list[str] = typer.Option(
        [], help="NAME=BALANCE; repeat for several accounts (default SIM-50K=50000)."
    ),
    seed: int = typer.Option(0, help="Seed for the random walk and synthetic bars."),
    walk: bool = typer.Option(False, "--walk", help="Move prices by a seeded random walk."),
    walk_interval: float = typer.Option(
        1.0, min=0.01, help="Seconds between random-walk steps (each moves every front month)."
    ),
    rate_limit: str = typer.Option("200/60", help="REST limit per token, COUNT/SECONDS."),
    bars_rate_limit: str = typer.Option("50/30", help="History/retrieveBars limit, COUNT/SECONDS."),
    timings: bool = typer.Option(
        False, "--timings", help="Log wall-clock event/request times at GET /sim/timings."
    ),
    trading_hours: bool = typer.Option(
        False,
        "--trading-hours",
        help="Follow CME Globex hours: refuse orders when closed (code 5), no closed-hour bars.",
    ),
    partial_fills: int | None = typer.Option(
        None,
        min=1,
        help="Contracts a resting limit order gets at its own price per price print.",
    ),
    unsigned_bracket_ticks: bool = typer.Option(
        False,
        "--unsigned-bracket-ticks",
        help="Accept bracket ticks of either sign (default: the gateway's signed convention).",
    ),
) -> None:
    """Run a local ProjectX Gateway simulator (REST, SignalR hubs, control API)."""
    accounts = tuple(parse_account(a) for a in account) or SimSettings().accounts
    settings = SimSettings(
        host=host,
        port=port,
        username=username,
        api_key=api_key,
        accounts=accounts,
        seed=seed,
        walk=walk,
        walk_interval=walk_interval,
        rate_limit=parse_rate(rate_limit),
        bars_rate_limit=parse_rate(bars_rate_limit),
        timings=timings,
        trading_hours=trading_hours,
        partial_fills=partial_fills,
        unsigned_bracket_ticks=unsigned_bracket_ticks,
    )
    try:
        asyncio.run(run_sim(settings, _announce))
    except KeyboardInterrupt:
        typer.echo("simulator stopped")
