"""``risk-manager demo``: watch the guard enforce the rule book against a scripted trader."""

from __future__ import annotations

from pathlib import Path

import typer

from risk_manager.demo.run import DemoOptions, main


def demo(
    speed: float = typer.Option(
        1.0, min=0.1, max=100.0, help="Run the script this many times faster (waits and grace)."
    ),
    duration: float = typer.Option(
        300.0, min=0.0, help="Stop after this many seconds in all (0: only on Ctrl+C)."
    ),
    port_base: int | None = typer.Option(
        None,
        min=1,
        max=65534,
        help="Simulator on this port, API on the next (default 5800 and 8765; "
        "taken ports fall back to free ones).",
    ),
    data_dir: Path | None = typer.Option(
        None, help="Where the config, logs and a fresh SQLite file go (default: a new temp dir)."
    ),
    seed: int = typer.Option(0, help="Seed of the simulator's random price walk."),
) -> None:
    """Run the simulator, the daemon and a scripted trader that breaks the rules one by one.

    Open the web dashboard it prints, or `risk-manager dashboard --url …` in another terminal.
    """
    options = DemoOptions(
        speed=speed, duration=duration, port_base=port_base, data_dir=data_dir, seed=seed
    )
    raise typer.Exit(main(options))
