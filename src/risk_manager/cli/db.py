"""``risk-manager db migrate`` and ``risk-manager db verify``: create, upgrade and check the
store file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from risk_manager.store import Store, StoreError
from risk_manager.store.holder import hold_store
from risk_manager.store.schema import EXPECTED_TABLES
from risk_manager.store.verify import verify as verify_store

db_app = typer.Typer(
    name="db", help="Create, migrate and check the SQLite store.", no_args_is_help=True
)

PathOption = Annotated[
    Path,
    typer.Option("--path", help="The store's SQLite file.", dir_okay=False, resolve_path=False),
]

EXIT_BAD_DATABASE = 2


@db_app.command()
def migrate(path: PathOption) -> None:
    """Create the database (and its folder) if needed and apply pending migrations.

    Refused (exit 2) while a daemon holds the store: the daemon migrates it itself at start."""
    try:
        with hold_store(path), Store.open(path) as store:
            version = store.schema_version
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_DATABASE) from exc
    typer.echo(f"{path}: schema version {version}")


@db_app.command()
def verify(path: PathOption) -> None:
    """Check integrity, schema version and tables; exit 2 when anything is wrong."""
    report = verify_store(path)
    if report.ok:
        typer.echo(
            f"{path}: ok (integrity ok, schema version {report.version}, "
            f"{len(EXPECTED_TABLES)} expected tables present)"
        )
        return
    for problem in report.problems:
        typer.echo(f"error: {problem}", err=True)
    raise typer.Exit(EXIT_BAD_DATABASE)
