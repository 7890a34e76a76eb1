"""``risk-manager backup create|list|restore`` (docs/BACKUP.md): copies of the store made with
SQLite's online backup while the daemon runs, and a restore that refuses while it runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import load_config
from risk_manager.store import StoreError
from risk_manager.store.backup import (
    check_backup,
    create_backup,
    default_dir,
    list_backups,
    prune_backups,
    restore_backup,
)

backup_app = typer.Typer(
    name="backup",
    help="Back the store up, list its backups, restore one.",
    no_args_is_help=True,
)

EXIT_REFUSED = 2

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="The YAML config: its store.path and backup.dir."),
]
PathOption = Annotated[
    Path | None, typer.Option("--path", help="The store's SQLite file (instead of --config).")
]
DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir", help="The backup folder (default: backup.dir, or backups/ by the store)."
    ),
]


def _where(config: Path | None, path: Path | None, folder: Path | None) -> tuple[Path, Path]:
    """(store file, backup folder) from the options; exits 2 on a bad config or neither."""
    if config is not None:
        try:
            cfg = load_config(config, sections=("store", "backup"))
        except ConfigError as exc:
            for problem in exc.problems:
                typer.echo(f"{config}: {problem}", err=True)
            raise typer.Exit(EXIT_REFUSED) from None
        path = path or cfg.store.path
        folder = folder or cfg.backup.dir
    if path is None:
        typer.echo("error: give --config or --path", err=True)
        raise typer.Exit(EXIT_REFUSED)
    return path, folder or default_dir(path)


@backup_app.command()
def create(
    config: ConfigOption = None,
    path: PathOption = None,
    folder: DirOption = None,
    keep: Annotated[
        int | None,
        typer.Option("--keep", min=1, help="Then delete all but the newest N backups."),
    ] = None,
) -> None:
    """Copy the store into the backup folder, safely while the daemon runs; exit 2 on failure."""
    store, where = _where(config, path, folder)
    try:
        made = create_backup(store, where, datetime.now(UTC))
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    typer.echo(f"{made} ({made.stat().st_size} bytes, integrity ok)")
    if keep is not None:
        for old in prune_backups(where, keep):
            typer.echo(f"deleted {old}")


@backup_app.command("list")
def list_command(
    config: ConfigOption = None, path: PathOption = None, folder: DirOption = None
) -> None:
    """The backups in the backup folder, newest first: when, size, file."""
    _, where = _where(config, path, folder)
    backups = list_backups(where)
    if not backups:
        typer.echo(f"no backups in {where}")
        return
    for backup in backups:
        stamp = backup.taken_at.isoformat(timespec="seconds")
        typer.echo(f"{stamp}  {backup.size:>12,d} bytes  {backup.path}")


@backup_app.command()
def restore(
    backup: Annotated[Path, typer.Argument(help="The backup file to restore.", dir_okay=False)],
    config: ConfigOption = None,
    path: PathOption = None,
    folder: DirOption = None,
) -> None:
    """Replace the store with BACKUP after checking it (integrity, schema version).

    Refused (exit 2) while a daemon holds the store: stop the service first. The store as it
    was is kept in the backup folder (`...-pre-restore.sqlite`)."""
    store, where = _where(config, path, folder)
    report = check_backup(backup)
    if not report.ok:
        for problem in report.problems:
            typer.echo(f"error: {problem}", err=True)
        typer.echo(f"error: {backup} not restored", err=True)
        raise typer.Exit(EXIT_REFUSED)
    try:
        safety = restore_backup(backup, store, where, datetime.now(UTC))
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    if safety is not None:
        typer.echo(f"the store as it was: {safety}")
    typer.echo(
        f"{store}: restored from {backup} (schema version {report.version}; "
        "migrated at the next start if older)"
    )
