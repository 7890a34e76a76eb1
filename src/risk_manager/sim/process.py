"""The simulator in a child process (``risk-manager sim --port 0``), for end-to-end runs.

The child prints its URL once it listens; ``spawned_sim`` waits for that line, so no port is
guessed. Stopping sends SIGTERM then, if it lingers, SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

READY = re.compile(r"listening on (http://\S+)")
CLI = "from risk_manager.cli.main import app; app(prog_name='risk-manager')"


@dataclass(frozen=True, slots=True)
class SimProcess:
    url: str
    process: asyncio.subprocess.Process

    @property
    def user_hub_url(self) -> str:
        return f"{self.url}/hubs/user"

    @property
    def market_hub_url(self) -> str:
        return f"{self.url}/hubs/market"


def cli_command(*args: str) -> list[str]:
    """``risk-manager <args>`` run by this interpreter (works without the console script)."""
    return [sys.executable, "-c", CLI, *args]


@asynccontextmanager
async def spawned_sim(
    accounts: Sequence[str] = ("SIM-50K=50000",),
    *,
    extra: Sequence[str] = (),
    ready_within: float = 20.0,
) -> AsyncIterator[SimProcess]:
    """``accounts`` as ``NAME=BALANCE``; ``extra`` are more ``risk-manager sim`` options."""
    args = ["sim", "--port", "0", *extra]
    for account in accounts:
        args += ["--account", account]
    proc = await asyncio.create_subprocess_exec(
        *cli_command(*args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    drain: asyncio.Task[None] | None = None
    try:
        url = await asyncio.wait_for(_ready_url(proc), ready_within)
        drain = asyncio.create_task(_drain(proc))  # a full pipe would block the child
        yield SimProcess(url, proc)
    finally:
        await stop_process(proc)
        if drain is not None:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain


async def _ready_url(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    while True:
        line = await proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator exited (code {await proc.wait()}) before listening")
        match = READY.search(line.decode(errors="replace"))
        if match:
            return match.group(1)


async def _drain(proc: asyncio.subprocess.Process) -> None:
    assert proc.stdout is not None
    while await proc.stdout.read(65536):
        pass


async def stop_process(
    proc: asyncio.subprocess.Process, within: float = 10.0, sig: int = signal.SIGTERM
) -> int:
    """``sig`` (SIGTERM), then SIGKILL after ``within`` seconds; returns the exit code."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            await asyncio.wait_for(proc.wait(), within)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode
