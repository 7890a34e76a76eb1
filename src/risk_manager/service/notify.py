"""The systemd notify protocol (sd_notify(3)): one datagram per state to the unix socket named
by ``NOTIFY_SOCKET``; nothing when the daemon does not run under systemd (the variable is
unset, or the platform has no unix sockets).

The daemon says ``READY=1`` once its API serves, ``STOPPING=1`` when its stop begins, and feeds
the watchdog (``WATCHDOG=1``) from a task on its own event loop: a loop stuck in a blocking
call stops feeding it, and systemd kills and restarts the daemon after ``WatchdogSec``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import AsyncIterator, Mapping

_log = logging.getLogger(__name__)


class Notifier:
    """Sends notify states to ``NOTIFY_SOCKET`` of ``environ`` (``os.environ`` by default).
    A send that fails is logged once, never raised: the service manager's bookkeeping must
    not stop the guard."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = env.get("NOTIFY_SOCKET") or None
        self._environ = env
        self._warned = False

    @property
    def enabled(self) -> bool:
        """True under systemd (a socket to notify) on a platform with unix sockets."""
        return self.address is not None and sys.platform != "win32"

    def notify(self, *states: str) -> bool:
        """Send ``states`` (``"READY=1"``, ``"STATUS=..."``) as one datagram; True if sent."""
        if not self.enabled or self.address is None or sys.platform == "win32":
            return False
        target = self.address
        if target.startswith("@"):  # an abstract socket (sd_notify(3))
            target = "\0" + target[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto("\n".join(states).encode(), target)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                _log.error("cannot notify systemd at %s: %s", self.address, exc)
            return False
        return True

    def watchdog_interval(self) -> float | None:
        """Seconds between watchdog pings: a third of ``WATCHDOG_USEC`` (systemd sets it from
        ``WatchdogSec=``), or None when no watchdog is asked for this process."""
        usec = self._environ.get("WATCHDOG_USEC")
        pid = self._environ.get("WATCHDOG_PID")
        if not self.enabled or not usec or (pid and pid != str(os.getpid())):
            return None
        try:
            value = int(usec)
        except ValueError:
            return None
        return value / 1_000_000 / 3 if value > 0 else None


async def feed_watchdog(notifier: Notifier, interval: float) -> None:
    """Send ``WATCHDOG=1`` every ``interval`` seconds until cancelled. Runs on the daemon's
    event loop on purpose: while the loop is blocked no ping goes out."""
    while True:
        notifier.notify("WATCHDOG=1")
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def watchdog(notifier: Notifier, interval: float | None = None) -> AsyncIterator[None]:
    """Feed the watchdog for the block (``interval`` defaults to the one systemd asks for;
    nothing runs when it asks for none)."""
    every = notifier.watchdog_interval() if interval is None else interval
    if every is None:
        yield
        return
    task = asyncio.create_task(feed_watchdog(notifier, every), name="systemd-watchdog")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
