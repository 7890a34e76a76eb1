"""Entry point of the ``risk-manager`` console command.

Subcommands live in their own modules and are registered here.
"""

from __future__ import annotations

import typer

from risk_manager import __version__

app = typer.Typer(
    name="risk-manager",
    help="Real-time risk manager for TopstepX / ProjectX Gateway futures accounts.",
    no_args_is_help=True,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"risk-manager {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Guard trading accounts: watch P&L, positions and orders; enforce the rule book."""


def _register() -> None:
    """Attach subcommand groups (imported here so each stays one module)."""
    from risk_manager.cli.admin import admin_app
    from risk_manager.cli.backup import backup_app
    from risk_manager.cli.bench import bench_app
    from risk_manager.cli.config_cmd import config_app
    from risk_manager.cli.dashboard import dashboard, status
    from risk_manager.cli.db import db_app
    from risk_manager.cli.demo import demo
    from risk_manager.cli.doctor import doctor
    from risk_manager.cli.replay import replay
    from risk_manager.cli.run import run
    from risk_manager.cli.service import service_app
    from risk_manager.cli.sim import sim_command

    app.add_typer(db_app, name="db")
    app.add_typer(admin_app, name="admin")
    app.add_typer(backup_app, name="backup")
    app.command("dashboard")(dashboard)
    app.command("status")(status)
    app.add_typer(config_app, name="config")
    app.command("replay")(replay)
    app.add_typer(bench_app, name="bench")
    app.command("run")(run)
    app.command("sim")(sim_command)
    app.command("demo")(demo)
    app.add_typer(service_app, name="service")
    app.command("doctor")(doctor)


_register()
