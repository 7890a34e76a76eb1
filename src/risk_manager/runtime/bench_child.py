"""A bench's helper in a process of its own, spoken to in lines (its stdin, its stdout).

The benches keep what is not the daemon off the daemon's loop: the trader's buys
(runtime/bench_trader.py) and a dashboard following the stream (runtime/bench_watcher.py)
each run as ``python -m MODULE URL``, say ``ready`` once set up, then answer what the parent
writes them. This is the parent's side they share.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import ClassVar, Self

from risk_manager.sim.process import stop_process


class BenchChild:
    """``started(url)``: the child ``MODULE`` for ``url``, ready; stopped on exit. Subclasses
    name their ``MODULE``, what they are (``WHAT``, for errors) and how long they take to be
    ready (``READY_WITHIN``, seconds)."""

    MODULE: ClassVar[str]
    WHAT: ClassVar[str]
    READY_WITHIN: ClassVar[float] = 30.0

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc

    @classmethod
    @asynccontextmanager
    async def started(cls, url: str) -> AsyncIterator[Self]:
        """Raises ``RuntimeError`` with the child's own reason when it does not say ``ready``
        within ``READY_WITHIN`` seconds."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            cls.MODULE,
            url,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        child = cls(proc)
        try:
            line = await child._line(cls.READY_WITHIN)
            if line != "ready":
                raise RuntimeError(f"the bench's {cls.WHAT} did not start: {line or 'no reply'}")
            yield child
        finally:
            if proc.stdin is not None and not proc.stdin.is_closing():
                proc.stdin.close()
            await stop_process(proc, within=5.0)

    def _write(self, line: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(f"{line}\n".encode())

    async def _line(self, within: float) -> str:
        """The child's next line, or why there is none (``no reply within …``)."""
        assert self._proc.stdout is not None
        try:
            raw = await asyncio.wait_for(self._proc.stdout.readline(), within)
        except TimeoutError:
            return f"no reply within {within:g} s"
        return raw.decode(errors="replace").strip()
