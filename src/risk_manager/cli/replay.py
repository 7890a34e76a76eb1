"""``risk-manager replay``: run recorded gateway events through the engine, print its actions.

The engine's face for testing and for "what would have happened". Input is JSON lines in time
order (see :func:`parse_line`); the same input always gives byte-identical output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer

from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import load_config
from risk_manager.config.models import Config
from risk_manager.domain.actions import (
    AnyAction,
    action_to_dict,
)
from risk_manager.domain.events import ClockTick, ConnectionEvent, Event
from risk_manager.engine.engine import Engine
from risk_manager.engine.factory import engine_for
from risk_manager.projectx.mapping import (
    USER_TARGETS,
    WireError,
    market_events,
    parse_time,
    user_events,
)

REPLAY_SECTIONS = ("trading_day", "rules", "contracts", "accounts")


class BadLine(ValueError):
    """A line replay cannot read; the message names what is wrong."""


def load_replay_config(path: Path) -> Config:
    """Only ``trading_day``, ``rules``, ``contracts`` and ``accounts`` (per-account rule
    overrides, as the daemon applies them) are read; other sections are ignored."""
    return load_config(path, sections=REPLAY_SECTIONS)


def parse_line(obj: Any) -> tuple[datetime, list[Event] | None]:
    """(instant, events); events None = an unknown target, to be skipped with a warning."""
    if not isinstance(obj, dict):
        raise BadLine("expected a JSON object")
    if "at" not in obj:
        raise BadLine("missing `at`")
    try:
        at = parse_time(obj["at"], "at")
    except WireError as exc:
        raise BadLine(str(exc)) from None
    if "connection" in obj:
        hub, state = obj.get("connection"), obj.get("state")
        if hub not in ("user", "market") or state not in ("connected", "disconnected"):
            raise BadLine(
                "connection lines need connection: user|market and state: connected|disconnected"
            )
        return at, [ConnectionEvent(at, hub, state == "connected")]
    if "hub" not in obj:
        return at, [ClockTick(at)]
    hub, target, arguments = obj.get("hub"), obj.get("target"), obj.get("arguments")
    if hub not in ("user", "market") or not isinstance(target, str):
        raise BadLine("hub lines need hub: user|market and a string target")
    if not isinstance(arguments, list):
        raise BadLine("`arguments` must be an array")
    try:
        if hub == "user":
            if target not in USER_TARGETS:
                return at, None
            return at, user_events(target, arguments, at)
        if target != "GatewayQuote":
            return at, None
        return at, market_events(target, arguments, at)
    except WireError as exc:
        raise BadLine(f"{target}: {exc}") from None


def run_replay(
    engine: Engine, lines: Iterator[str], until: datetime | None, warn: Any
) -> Iterator[AnyAction]:
    """Feed lines to the engine; yields actions. Raises BadLine with ``line N:``."""
    last: datetime | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            try:
                obj = json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                raise BadLine(f"not JSON ({exc.msg} at column {exc.colno})") from None
            at, events = parse_line(obj)
            if last is not None and at < last:
                raise BadLine(
                    f"`at` {obj['at']} is before the previous line's; lines must be in time order"
                )
        except BadLine as exc:
            raise BadLine(f"line {number}: {exc}") from None
        last = at
        yield from _fire_timers(engine, at)
        if events is None:
            warn(f"line {number}: skipped unknown target {obj.get('target')!r}")
            continue
        for event in events:
            yield from engine.process(event, at)
    if until is not None:
        if last is not None and until < last:
            raise BadLine(f"--until {until.isoformat()} is before the last event")
        yield from _fire_timers(engine, until)
        yield from engine.tick(until)


def _fire_timers(engine: Engine, upto: datetime) -> Iterator[AnyAction]:
    """Tick at each timer due before ``upto``, at its own instant (as the runtime would)."""
    due = engine.next_wakeup()
    while due is not None and due < upto:
        yield from engine.tick(due)
        after = engine.next_wakeup()
        if after is not None and after <= due:
            break  # a timer that does not advance: leave it to the next event
        due = after


def _table_row(rec: dict[str, Any]) -> str:
    extra = {
        k: v for k, v in rec.items() if k not in ("at", "account_id", "rule", "kind", "reason")
    }
    detail = " ".join(f"{k}={v}" for k, v in extra.items())
    return (
        f"{rec['at']:<26} {rec['account_id']:>10} {rec['kind']:<15} {rec['rule']:<29} "
        f"{detail}\n{'':<26} {rec['reason']}"
    )


def replay(
    events: Path = typer.Argument(..., help="JSON lines of gateway events, in time order."),
    config: Path = typer.Option(
        ..., "--config", help="Config file (trading_day, rules, contracts, accounts are read)."
    ),
    until: str | None = typer.Option(None, "--until", help="Move the clock here at the end."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per action."),
) -> None:
    """Replay recorded events through the rule engine and print the actions it proposes."""
    try:
        cfg = load_replay_config(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    end = None
    if until is not None:
        try:
            end = parse_time(until, "--until")
        except WireError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    try:
        handle = events.open(encoding="utf-8")
    except OSError as exc:
        typer.echo(f"{events}: cannot read ({exc.strerror})", err=True)
        raise typer.Exit(2) from None
    engine = engine_for(cfg)
    count = 0
    with handle:
        try:
            for action in run_replay(
                engine, iter(handle), end, lambda m: typer.echo(f"{events}: {m}", err=True)
            ):
                rec = action_to_dict(action)
                if as_json:
                    typer.echo(json.dumps(rec, ensure_ascii=False))
                else:
                    if count == 0:
                        typer.echo(f"{'at':<26} {'account':>10} {'kind':<15} {'rule':<29} details")
                    typer.echo(_table_row(rec))
                count += 1
        except BadLine as exc:
            typer.echo(f"{events}: {exc}", err=True)
            raise typer.Exit(2) from None
    if not as_json and count == 0:
        typer.echo("no actions")
