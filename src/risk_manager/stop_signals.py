"""SIGINT and SIGTERM as a stop request on an asyncio event, on every platform.

``loop.add_signal_handler`` exists only on POSIX event loops (Windows' raises
NotImplementedError); there the plain ``signal.signal`` handler runs in the main thread
between bytecodes and hands the stop to the loop with ``call_soon_threadsafe``. A console
Ctrl+C and a service wrapper's stop (WinSW sends Ctrl+C) both arrive as SIGINT."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Set ``stop`` on SIGINT or SIGTERM for the block (call it on the running loop); the
    previous handlers are put back after it."""
    loop = asyncio.get_running_loop()
    on_loop: list[signal.Signals] = []
    previous: dict[signal.Signals, Any] = {}  # whatever signal.signal returned

    def handler(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(stop.set)

    for sig in STOP_SIGNALS:
        previous[sig] = signal.getsignal(sig)
        try:
            loop.add_signal_handler(sig, stop.set)
            on_loop.append(sig)
        except NotImplementedError:  # Windows' event loops
            signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig in on_loop:
            loop.remove_signal_handler(sig)  # resets SIGINT to Python's default, not the old one
        for sig, old in previous.items():
            if old is not None:  # None: set outside Python; nothing to put back
                signal.signal(sig, old)
