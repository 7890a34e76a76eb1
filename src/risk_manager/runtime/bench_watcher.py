"""A dashboard for ``bench accounts --dashboard``, in a process of its own.

A trader's dashboard is another program (a browser, ``risk-manager dashboard``): what the
daemon spends on it is its read side's views and the stream's serializing, on the loop it
guards with. This child (``python -m risk_manager.runtime.bench_watcher URL``) follows the
daemon's ``/api/v1/stream`` at ``URL`` as the terminal dashboard does (``tui.client.
follow_stream``, each message applied to a ``tui.state.DashboardState``), writes ``ready``
once it has the first snapshot, and when its stdin ends writes one JSON line, ``{"messages":
N, "accounts": N, "curves": N, "bytes": N, "connects": N}`` (the messages applied, the account
views among them, those that carried a P&L curve, their JSON's size, the connections made),
then exits. docs/PERFORMANCE.md, "Capacity".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from risk_manager.sim.process import stop_process
from risk_manager.tui.client import follow_stream
from risk_manager.tui.state import DashboardState
from risk_manager.types import JSON

MODULE = "risk_manager.runtime.bench_watcher"
READY_WITHIN = 30.0  # seconds for the child to start and get its snapshot
REPLY_WITHIN = 10.0  # seconds for its counts once told to stop


class WatcherProcess:
    """The parent's side: started with the daemon's API URL, ``counts()`` at the end."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc

    @classmethod
    @asynccontextmanager
    async def started(cls, url: str) -> AsyncIterator[WatcherProcess]:
        """The child following ``url``'s stream, its first snapshot in; stopped on exit.
        Raises ``RuntimeError`` when it does not say ``ready`` within ``READY_WITHIN`` s."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            MODULE,
            url,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        watcher = cls(proc)
        try:
            line = await watcher._line(READY_WITHIN)
            if line != "ready":
                raise RuntimeError(f"the bench's dashboard did not start: {line or 'no reply'}")
            yield watcher
        finally:
            if proc.stdin is not None and not proc.stdin.is_closing():
                proc.stdin.close()
            await stop_process(proc, within=5.0)

    async def counts(self) -> dict[str, int]:
        """Tell the child to stop; what it received (the module's docstring). Raises
        ``RuntimeError`` when no counts come back within ``REPLY_WITHIN`` seconds."""
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        line = await self._line(REPLY_WITHIN)
        try:
            counts = json.loads(line)
        except ValueError:
            raise RuntimeError(f"the bench's dashboard: {line or 'no reply'}") from None
        return {k: int(v) for k, v in counts.items()}

    async def _line(self, within: float) -> str:
        assert self._proc.stdout is not None
        try:
            raw = await asyncio.wait_for(self._proc.stdout.readline(), within)
        except TimeoutError:
            return f"no reply within {within:g} s"
        return raw.decode(errors="replace").strip()


class _Watch:
    """The child's side: the stream's messages applied and counted."""

    def __init__(self) -> None:
        self.state = DashboardState()
        self.counts = {"messages": 0, "accounts": 0, "curves": 0, "bytes": 0, "connects": 0}
        self.snapshot = asyncio.Event()

    def message(self, message: JSON) -> None:
        self.counts["messages"] += 1
        self.counts["bytes"] += len(json.dumps(message, separators=(",", ":")))
        kind = message.get("type")
        if kind == "account":
            self.counts["accounts"] += 1
            self.counts["curves"] += "pnl_curve" in message.get("account", {})
        self.state.apply(message)
        if kind == "snapshot":
            self.snapshot.set()

    def connection(self, connected: bool, note: str) -> None:
        self.counts["connects"] += connected


async def _watch(url: str) -> None:
    watch = _Watch()
    follow = asyncio.create_task(follow_stream(url, watch.message, watch.connection))
    try:
        async with asyncio.timeout(READY_WITHIN):
            await watch.snapshot.wait()
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.read)  # until the parent closes our stdin
    except TimeoutError:
        print(f"error: no snapshot from {url} within {READY_WITHIN:g} s", flush=True)
        return
    finally:
        follow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follow
    print(json.dumps(watch.counts), flush=True)


def main(argv: list[str] | None = None) -> int:
    args: list[Any] = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m risk_manager.runtime.bench_watcher URL", file=sys.stderr)
        return 2
    asyncio.run(_watch(str(args[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
