"""``risk-manager backup create|list|restore`` (docs/BACKUP.md): copies of the store made with
SQLite's online backup while the daemon runs, and a restore that refuses while it runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from risk_manager.admin.audit_trail import cli_actor, record
from risk_manager.admin.password import PasswordFile
from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import load_config
from risk_manager.store import StoreError
from risk_manager.store.backup import (
    LocksWouldEnd,
    check_backup,
    create_backup,
    default_dir,
    list_backups,
    locks_lost,
    prune_backups,
    restore_backup,
)
from risk_manager.store.store import Store

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


def _admin_allows(config: Path | None) -> None:
    """``--drop-locks`` ends locks early: only the admin may, with the admin password of the
    config's ``admin.password_file`` (exit 2 otherwise)."""
    if config is None:
        typer.echo("error: --drop-locks needs --config (its admin password)", err=True)
        raise typer.Exit(EXIT_REFUSED)
    try:
        cfg = load_config(config, sections=("admin",))
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"{config}: {problem}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    assert cfg.admin.password_file is not None  # the loader fills it in
    password = PasswordFile(cfg.admin.password_file)
    if not password.is_set():
        typer.echo("error: no admin password is set: run `risk-manager admin` first", err=True)
        raise typer.Exit(EXIT_REFUSED)
    if not password.verify(typer.prompt("Admin password", hide_input=True)):
        typer.echo("error: wrong password", err=True)
        raise typer.Exit(EXIT_REFUSED)


@backup_app.command()
def restore(
    backup: Annotated[Path, typer.Argument(help="The backup file to restore.", dir_okay=False)],
    config: ConfigOption = None,
    path: PathOption = None,
    folder: DirOption = None,
    drop_locks: Annotated[
        bool,
        typer.Option(
            "--drop-locks",
            help="Restore even though the backup lacks locks active now (asks the admin "
            "password; audited).",
        ),
    ] = False,
) -> None:
    """Replace the store with BACKUP after checking it (integrity, schema version).

    Refused (exit 2) while a daemon holds the store: stop the service first; and when the
    backup lacks a lock active in the store (restoring would end it early) unless
    --drop-locks. The store as it was is kept in the backup folder (`...-pre-restore.sqlite`);
    the restored store's audit log records the restore."""
    store, where = _where(config, path, folder)
    if drop_locks:
        _admin_allows(config)
    report = check_backup(backup)
    if not report.ok:
        for problem in report.problems:
            typer.echo(f"error: {problem}", err=True)
        typer.echo(f"error: {backup} not restored", err=True)
        raise typer.Exit(EXIT_REFUSED)
    at = datetime.now(UTC)
    try:
        lost = locks_lost(store, backup, at) if drop_locks else []
        safety = restore_backup(backup, store, where, at, drop_locks=drop_locks)
    except LocksWouldEnd as exc:
        typer.echo(f"error: {exc}", err=True)
        typer.echo(
            "a lock must not end by a restore: restore a newer backup, or clear the locks as "
            "the admin (`risk-manager admin locks clear`), or pass --drop-locks",
            err=True,
        )
        raise typer.Exit(EXIT_REFUSED) from None
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    with Store.open(store) as restored:
        record(
            restored,
            cli_actor(),
            "backup.restore",
            at,
            backup=str(backup),
            pre_restore=None if safety is None else str(safety),
            dropped_locks=[f"account {k.account_id} {k.rule}: {k.reason}" for k in lost],
        )
    if safety is not None:
        typer.echo(f"the store as it was: {safety}")
    typer.echo(
        f"{store}: restored from {backup} (schema version {report.version}; "
        "migrated at the next start if older)"
    )
