"""``risk-manager config check FILE`` and ``risk-manager config show FILE``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from risk_manager.api.server import exposure_warning
from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import load_config
from risk_manager.config.models import Config
from risk_manager.config.rules import RULE_KEYS, RuleConfig

config_app = typer.Typer(
    name="config", help="Check a config file or print its effective settings.", no_args_is_help=True
)

FileArgument = Annotated[
    Path, typer.Argument(help="The YAML config file.", dir_okay=False, show_default=False)
]

EXIT_BAD_CONFIG = 2


def _load_or_exit(path: Path) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"{exc.source}: {problem}", err=True)
        raise typer.Exit(EXIT_BAD_CONFIG) from None


@config_app.command()
def check(path: FileArgument) -> None:
    """Validate FILE; print a one-screen summary, or every problem (exit 2)."""
    config = _load_or_exit(path)
    shared = config.shared_size_problems()
    if shared:
        for problem in shared:
            typer.echo(f"{path}: {problem}", err=True)
        raise typer.Exit(EXIT_BAD_CONFIG)
    typer.echo(f"{path}: ok")
    for line in summary(config):
        typer.echo(line)
    exposed = exposure_warning(config.api.host, config.api.port)
    if exposed is not None:
        typer.echo(f"warning: {exposed}", err=True)


@config_app.command()
def show(path: FileArgument) -> None:
    """Print the effective config of FILE (defaults filled in) as YAML, secrets masked."""
    config = _load_or_exit(path)
    typer.echo(config.masked_yaml(), nl=False)


def describe_rule(rule: RuleConfig) -> str:
    """``RULE-003 daily_realized_loss  limit=1000 include_fees=true`` (unset keys left out)."""
    return f"  {rule.rule_id} {rule.key:<29} {rule.settings_text()}".rstrip()


def _overrides(config: Config) -> list[str]:
    lines = []
    for entry in config.accounts.list:
        if not entry.rules:
            continue
        effective = config.rules_for(entry.id)
        label = entry.label
        changed = [key for key in entry.rules if key in RULE_KEYS]
        for key in changed:
            lines.append(f"  account {label}: " + describe_rule(effective.rule(key)).strip())
        others = [key for key in entry.rules if key not in RULE_KEYS]
        if others:
            lines.append(f"  account {label}: also sets {', '.join(others)}")
    return lines


def summary(config: Config) -> list[str]:
    """A one-screen overview of what the daemon would guard and how."""
    broker = config.broker
    user = broker.username or "(no username)"
    key = "api key set" if broker.api_key and broker.api_key.get_secret_value() else "no api key"
    lines = [f"broker:      {broker.api_url} as {user} ({key})"]
    if not broker.username or key == "no api key":
        lines.append("             (username and api_key are needed to run the daemon)")
    if config.accounts.mode == "all":
        accounts = "every account the login can see"
    else:
        accounts = "only " + ", ".join(entry.label for entry in config.accounts.list)
    lines.append(f"accounts:    {accounts}")
    day = config.trading_day
    lines.append(
        f"trading day: resets {day.daily_reset:%H:%M} {day.timezone}; week resets "
        f"{day.weekly_reset.day.value} {day.weekly_reset.time:%H:%M}"
    )
    lines.append(f"store:       {config.store.path}")
    lines.append(f"api:         http://{config.api.host}:{config.api.port}")
    if config.contracts:
        symbols = ", ".join(entry.symbol for entry in config.contracts)
        lines.append(f"contracts:   built-in catalog + {symbols}")
    enabled = config.rules.enabled_rules()
    rules = config.rules
    lines.append(
        f"rules:       {len(enabled)} of {len(RULE_KEYS)} enabled (mark={rules.mark}, "
        f"stale_mark={rules.model_dump(mode='json')['stale_mark']})"
    )
    lines.extend(describe_rule(rule) for rule in enabled)
    lines.extend(_overrides(config))
    lines.extend(_starting_balances(config))
    return lines


def _starting_balances(config: Config) -> list[str]:
    """Where each account's RULE-016 starting balance comes from (never shared silently)."""
    if not config.rules.trailing_drawdown.enabled and not any(
        config.rules_for(e.id).trailing_drawdown.enabled for e in config.accounts.list
    ):
        return []
    lines = ["starting balance (RULE-016, per account):"]
    for entry in config.accounts.list:
        td = config.rules_for(entry.id).trailing_drawdown
        if td.enabled:
            start = td.starting_balance
            lines.append(
                f"  account {entry.label}: "
                + (f"{start}" if start is not None else "the balance first seen (stored)")
            )
    if config.accounts.mode == "all":
        start = config.rules.trailing_drawdown.starting_balance
        lines.append(
            "  every other account: "
            + (f"{start}" if start is not None else "its own balance first seen (stored)")
        )
    return lines


@config_app.command()
def docs() -> None:
    """Print docs/CONFIG.md: the prose, then every key of every section from the models
    (``risk-manager config docs > docs/CONFIG.md``)."""
    from risk_manager.config.reference import config_docs

    typer.echo(config_docs(), nl=False)
