"""Runs a fidelity driver (``drivers/*_driver.py``) under its client's own venv against a
simulator in a child process, and turns its JSON lines into one pytest test per step.

The simulator runs with its defaults (switches off, so the run trades at any hour); a driver
that checks closed hours also gets a second simulator started with ``--trading-hours``.

The venvs are built by ``make fidelity`` (``.venv-fidelity/<client>``, from the pinned
``requirements/<client>.txt``); without one the tests are skipped with the reason printed, and
fail under CI (``CI`` set), where ``.ci/run`` builds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from risk_manager.sim.process import spawned_sim, stop_process
from risk_manager.sim.server import SimSettings

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VENVS = REPO / ".venv-fidelity"
DRIVERS = HERE / "drivers"
REQUIREMENTS = HERE / "requirements"
ACCOUNT = "SIM-50K"
DRIVER_DEADLINE = 100.0  # seconds for a whole driver run (about 25 s when healthy)


@dataclass(frozen=True)
class StepResult:
    ok: bool
    error: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class DriverRun:
    """What one driver run reported: its steps by name, its exit code, its output's tail."""

    steps: dict[str, StepResult]
    exit_code: int | None
    output_tail: str = field(repr=False)


def client_python(client: str) -> Path:
    """The interpreter of ``client``'s venv; skip (fail under CI) when it is not built."""
    python = VENVS / client / "bin" / "python"
    if not (VENVS / client / ".installed").exists():
        reason = f"{client}'s venv is not built ({python}): run `make fidelity`"
        print(reason)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return python


def pinned_version(client: str) -> str:
    """The ``client==X`` pin in ``requirements/<client>.txt``."""
    text = (REQUIREMENTS / f"{client}.txt").read_text()
    match = re.search(rf"^{re.escape(client)}==(\S+)$", text, re.MULTILINE)
    assert match, f"no {client}== pin in requirements/{client}.txt"
    return match.group(1)


def run_driver(client: str, driver: str, *, trading_hours: bool = False) -> DriverRun:
    """Start a simulator (its default credentials, one account), run ``driver`` under
    ``client``'s venv against it, and collect the steps it reported. With ``trading_hours``
    a second simulator runs with ``--trading-hours`` (same credentials and account), its URL
    given to the driver as ``"tradingHoursUrl"``."""
    return asyncio.run(_run(client_python(client), DRIVERS / driver, trading_hours))


async def _run(python: Path, driver: Path, trading_hours: bool) -> DriverRun:
    settings = SimSettings()
    with tempfile.TemporaryDirectory(prefix="fidelity-") as scratch:
        report = Path(scratch) / "steps.jsonl"
        # The simulator's default credentials (project-x-py's quick start checks the key's
        # length), given as flags so the child surely accepts exactly these.
        flags = ["--username", settings.username, "--api-key", settings.api_key]
        accounts = (f"{ACCOUNT}=50000",)
        async with contextlib.AsyncExitStack() as stack:
            sim = await stack.enter_async_context(spawned_sim(accounts, extra=flags))
            config = {
                "url": sim.url,
                "username": settings.username,
                "apiKey": settings.api_key,
                "account": ACCOUNT,
                "report": str(report),
            }
            if trading_hours:
                hours = spawned_sim(accounts, extra=[*flags, "--trading-hours"])
                config["tradingHoursUrl"] = (await stack.enter_async_context(hours)).url
            proc = await asyncio.create_subprocess_exec(
                str(python),
                str(driver),
                json.dumps(config),
                cwd=DRIVERS,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,  # the clients' logs, for a failure's message
            )
            try:
                out, _ = await asyncio.wait_for(proc.communicate(), DRIVER_DEADLINE)
            except TimeoutError:
                out = b"(driver killed after %d s)" % DRIVER_DEADLINE
            finally:
                await stop_process(proc, within=5)
        lines = report.read_text().splitlines() if report.exists() else []
    steps: dict[str, StepResult] = {}
    for line in lines:
        record = json.loads(line)
        steps[record["step"]] = StepResult(
            bool(record["ok"]), record.get("error"), record.get("detail") or {}
        )
    tail = out.decode(errors="replace").splitlines()[-40:]
    return DriverRun(steps, proc.returncode, "\n".join(tail))


def expect_step(run: DriverRun, name: str) -> None:
    """Assert that step ``name`` was reported and passed; a failure names the step's error
    (the client's exception and where in its code) and its detail."""
    result = run.steps.get(name)
    assert result is not None, (
        f"the driver never reported {name} (exit {run.exit_code}):\n{run.output_tail}"
    )
    assert result.ok, f"{name}: {result.error}\ndetail: {json.dumps(result.detail)[:2000]}"


def expect_complete(run: DriverRun, steps: list[str], client: str) -> None:
    """The driver ended cleanly, reported exactly ``steps``, on the pinned client version."""
    assert run.exit_code == 0, f"driver exit {run.exit_code}:\n{run.output_tail}"
    assert sorted(run.steps) == sorted(["client.version", *steps])
    version = run.steps["client.version"].detail.get("version")
    assert version == pinned_version(client), f"{client} {version} is not the pinned version"
