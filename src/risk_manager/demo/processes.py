"""Child processes of the demo (the simulator and the daemon): free ports, start with the
output in a log file, wait until ready, stop with SIGINT (then SIGKILL) in order."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp

from risk_manager.sim.process import cli_command, stop_process

STOP_TIMEOUT = 10.0  # seconds a child gets to stop after SIGINT before SIGKILL


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the servers (aiohttp sets SO_REUSEADDR), so TIME_WAIT does not count as taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def pick_port(wanted: int, taken: set[int]) -> int:
    """``wanted`` when free, else a free port the OS picks (never one in ``taken``)."""
    if wanted not in taken and port_is_free(wanted):
        return wanted
    while True:
        port = free_port()
        if port not in taken:
            return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM if the demo dies without cleaning up (e.g. SIGKILL)."""
    if sys.platform == "win32":  # no process groups nor preexec there
        return
    os.setsid()  # own process group: the terminal's Ctrl+C reaches the demo only, which
    # then stops the children in order (daemon first, then the simulator).
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Child:
    """One ``risk-manager`` subcommand running as a child process."""

    def __init__(self, name: str, args: list[str], log_path: Path) -> None:
        self.name = name
        self.args = args
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *cli_command(*self.args),  # this interpreter and checkout, whatever is on PATH
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # only setsid and prctl: safe
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self) -> int | None:
        """SIGINT, then SIGKILL after STOP_TIMEOUT; the exit code."""
        if self.process is None:
            return None
        return await stop_process(self.process, STOP_TIMEOUT, signal.SIGINT)


async def wait_ready(
    child: Child, session: aiohttp.ClientSession, url: str, within: float = 30.0
) -> None:
    """Poll ``url`` until it answers 200; raise naming the child and its log when it exits
    or the time runs out."""
    deadline = time.monotonic() + within
    while True:
        if not child.running:
            raise RuntimeError(
                f"the {child.name} exited during start-up; its log ({child.log_path}):\n"
                + child.log_tail()
            )
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                if resp.status == 200:
                    return
        if time.monotonic() >= deadline:
            raise RuntimeError(
                f"the {child.name} was not ready at {url} after {within:.0f} s; its log "
                f"({child.log_path}):\n" + child.log_tail()
            )
        await asyncio.sleep(0.2)
