"""A dashboard for ``bench accounts --dashboard``, in a process of its own.

A trader's dashboard is another program (a browser, ``risk-manager dashboard``): what the
daemon spends on it is its read side's views and the stream's serializing, on the loop it
guards with. This child (``python -m risk_manager.runtime.bench_watcher URL``) follows the
daemon's ``/api/v1/stream`` at ``URL`` as the terminal dashboard does (``tui.client.
follow_stream``, each message applied to a ``tui.state.DashboardState``), writes ``ready``
once it has the first snapshot, starts counting afresh at a ``start`` line on its stdin (the
measured window), and when its stdin ends writes one JSON line, ``{"messages": N, "accounts":
N, "curves": N, "bytes": N, "connects": N, "drops": N, "seconds": S}`` (the messages applied
since ``start``, the account views among them, those that carried a P&L curve, their JSON's
size, the connections made and lost, the seconds counted), then exits; a failure is one line
``error: WHY`` instead. docs/PERFORMANCE.md, "Capacity".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time

from risk_manager.runtime.bench_child import BenchChild
from risk_manager.tui.client import follow_stream
from risk_manager.tui.state import DashboardState
from risk_manager.types import JSON

MODULE = "risk_manager.runtime.bench_watcher"
READY_WITHIN = 30.0  # seconds for the child to start and get its snapshot
REPLY_WITHIN = 10.0  # seconds for its counts once told to stop


class WatcherProcess(BenchChild):
    """The parent's side: ``started(url)`` with the daemon's API URL (``BenchChild``: its
    first snapshot in), ``start()`` as the measured window begins, ``counts()`` at its end."""

    MODULE = MODULE
    WHAT = "dashboard"
    READY_WITHIN = READY_WITHIN + 5.0  # the child's own reason first

    def start(self) -> None:
        """The measured window begins: the child counts from now."""
        self._write("start")

    async def counts(self) -> dict[str, float]:
        """Tell the child to stop; what it received (the module's docstring). Raises
        ``RuntimeError`` when no counts come back within ``REPLY_WITHIN`` seconds."""
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        line = await self._line(REPLY_WITHIN)
        try:
            counts = json.loads(line)
        except ValueError:
            raise RuntimeError(f"the bench's dashboard: {line or 'no reply'}") from None
        if not isinstance(counts, dict):
            raise RuntimeError(f"the bench's dashboard: {line}")
        return {k: float(v) if k == "seconds" else int(v) for k, v in counts.items()}


class _Watch:
    """The child's side: the stream's messages applied and counted."""

    def __init__(self) -> None:
        self.state = DashboardState()
        self.counts = dict.fromkeys(("messages", "accounts", "curves", "bytes"), 0)
        self.counts |= {"connects": 0, "drops": 0}
        self.snapshot = asyncio.Event()
        self.since = time.monotonic()

    def start(self) -> None:
        self.counts = dict.fromkeys(self.counts, 0)
        self.since = time.monotonic()

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
        self.counts["connects" if connected else "drops"] += 1

    def report(self) -> str:
        return json.dumps({**self.counts, "seconds": round(time.monotonic() - self.since, 3)})


def _read_commands(loop: asyncio.AbstractEventLoop, watch: _Watch) -> None:
    """The parent's lines, in a thread until its stdin ends: ``start`` zeroes the counts."""
    for line in sys.stdin:
        if line.strip() == "start":
            loop.call_soon_threadsafe(watch.start)


async def _watch(url: str) -> None:
    watch = _Watch()
    follow = asyncio.create_task(follow_stream(url, watch.message, watch.connection))
    try:
        snapshot = asyncio.create_task(watch.snapshot.wait())
        done, _ = await asyncio.wait(
            [snapshot, follow], timeout=READY_WITHIN, return_when="FIRST_COMPLETED"
        )
        if snapshot not in done:
            snapshot.cancel()
            print(
                f"error: no snapshot from {url} within {READY_WITHIN:g} s{_why(follow)}", flush=True
            )
            return
        print("ready", flush=True)
        commands = asyncio.ensure_future(
            asyncio.to_thread(_read_commands, asyncio.get_running_loop(), watch)
        )
        await asyncio.wait([commands, follow], return_when="FIRST_COMPLETED")
        if follow.done():  # the follower died: say why instead of counts
            print(f"error: stopped following {url}{_why(follow)}", flush=True)
            return
    finally:
        follow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follow
    print(watch.report(), flush=True)


def _why(follow: asyncio.Task[None]) -> str:
    if not follow.done() or follow.cancelled() or follow.exception() is None:
        return ""
    return f": {follow.exception()!r}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m risk_manager.runtime.bench_watcher URL", file=sys.stderr)
        return 2
    asyncio.run(_watch(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
