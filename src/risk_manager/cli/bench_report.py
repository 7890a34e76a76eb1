"""What every ``risk-manager bench`` prints: the machine, the command, the figures, the floor
measured in the same run and the ratios of the figures to it (docs/PERFORMANCE.md).

A figure alone says little on a shared two-core machine; its ratio to a floor taken in the
same run (what the machine allows for the same hop or the same bytes, without the product)
holds when the machine's speed drifts.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import typer


def cpu_model() -> str:
    """The processor's name (``/proc/cpuinfo`` on Linux, else what ``platform`` says)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """The facts a figure depends on: CPU, cores, OS, Python, aiohttp, the load average."""
    facts: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "aiohttp": metadata.version("aiohttp"),
    }
    if hasattr(os, "getloadavg"):  # not on Windows
        facts["load_average"] = [round(v, 2) for v in os.getloadavg()]
    return facts


def ratios(figures: dict[str, Any], floor: dict[str, Any]) -> dict[str, float]:
    """``figure / floor`` for every key both have with a positive floor (2 decimals)."""
    return {
        key: round(figures[key] / value, 2)
        for key, value in floor.items()
        if key in figures and isinstance(value, int | float) and value > 0
    }


@dataclass(frozen=True, slots=True)
class BenchReport:
    """One benchmark's result. ``floor_what`` says what the floor did; ``floor`` has the same
    keys as the figures it bounds (a time per event, a latency); ``extra`` more figures that
    have no floor (counts, memory, what limited the run)."""

    bench: str
    command: str
    figures: dict[str, Any]
    floor: dict[str, Any]
    floor_what: str
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "bench": self.bench,
            "command": self.command,
            "machine": machine(),
            "figures": {**self.figures, **self.extra},
            "floor": {**self.floor, "what": self.floor_what},
            "ratio_to_floor": ratios(self.figures, self.floor),
        }


def emit(report: BenchReport, as_json: bool) -> None:
    """Print ``report``: one JSON line with ``as_json``, else one labelled line a part."""
    data = report.as_dict()
    if as_json:
        typer.echo(json.dumps(data))
        return
    facts = data["machine"]
    typer.echo(f"command:  {data['command']}")
    load = facts.get("load_average")
    typer.echo(
        f"machine:  {facts['cpu']}, {facts['cores']} cores, {facts['os']}, Python "
        f"{facts['python']}, aiohttp {facts['aiohttp']}"
        + (f", load average {load[0]} / {load[1]} / {load[2]}" if load else "")
    )
    flat = {k: v for k, v in data["figures"].items() if not isinstance(v, list | dict)}
    typer.echo("figures:  " + _pairs(flat))
    typer.echo(f"floor:    {_pairs(report.floor)}  ({report.floor_what})")
    typer.echo("ratio:    " + _pairs({k: f"{v}×" for k, v in data["ratio_to_floor"].items()}))


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in values.items()) or "-"


def command_line(*parts: object) -> str:
    """``risk-manager bench …`` as typed (the options given, in the order given)."""
    return " ".join(["risk-manager", "bench", *(str(p) for p in parts if str(p))])
