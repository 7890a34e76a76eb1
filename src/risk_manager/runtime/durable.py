"""Store writes that must land, and that enforcement never waits on for long (RULES.md §5;
the fail-safe policy in docs/RUNTIME.md).

A write normally takes milliseconds, so a lock row is still written before the enforcement it
starts. When the store cannot be written (disk full, another process holding SQLite's write
lock, a vanished file) the caller goes on after at most ``wait`` seconds, acting on what it
holds in memory, and the write is retried in the background with capped backoff until it lands:
nothing is lost and nothing waits. The first failure of an outage raises a critical alert, the
recovery an info one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from risk_manager.domain.actions import Severity
from risk_manager.projectx.backoff import backoff_delay
from risk_manager.types import Sleep

_log = logging.getLogger(__name__)

WAIT = 0.5  # seconds enforcement waits for a write before acting without it
RETRY_BASE = 0.25  # seconds
RETRY_CAP = 5.0  # seconds between tries of a write that keeps failing

Blocking = Callable[..., Awaitable[Any]]
Alert = Callable[[Severity, str], None]


class DurableWrites:
    """Runs blocking store writes; ``soon`` waits up to ``wait`` seconds for one.

    ``on_alert(severity, text)`` hears of outages and recoveries (set by the owner: the actor
    sends them to the alert channels); ``keep(task)`` holds background retries so shutdown
    drains them; ``pending`` counts writes not yet landed (a health figure)."""

    def __init__(
        self,
        *,
        run_blocking: Blocking = asyncio.to_thread,
        sleep: Sleep = asyncio.sleep,
        keep: Callable[[asyncio.Future[Any]], None] | None = None,
        wait: float = WAIT,
    ) -> None:
        self._run_blocking = run_blocking
        self._sleep = sleep
        self._keep = keep
        self._wait = wait
        self.on_alert: Alert | None = None
        self.failing = False
        self.pending = 0

    async def soon(
        self,
        fn: Callable[..., Any],
        *args: Any,
        what: str,
        then: Callable[[Any], None] | None = None,
    ) -> tuple[bool, Any]:
        """``(True, result)`` when ``fn(*args)`` landed within ``wait``; else ``(False,
        None)`` at once (on the first failure, or at ``wait``), and the write goes on being
        tried until it lands, ``then(result)`` being called when it does."""
        first: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        state = {"returned": False}
        task = asyncio.ensure_future(self._until_written(fn, args, what, first, then, state))
        if self._keep is not None:
            self._keep(task)
        try:
            async with asyncio.timeout(self._wait):
                landed = await asyncio.shield(first)
        except TimeoutError:  # stuck (another process's write lock, a slow disk): go on
            # ... unless it landed just as the wait ran out: then ``then`` is not called
            landed = first.done() and first.result()
            if not landed:
                self._failed(what, TimeoutError(f"not written within {self._wait:g}s"))
        state["returned"] = True
        if landed:
            return True, task.result() if task.done() else await task
        return False, None

    async def _until_written(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        what: str,
        first: asyncio.Future[bool],
        then: Callable[[Any], None] | None,
        state: dict[str, bool],
    ) -> Any:
        self.pending += 1
        failures = 0
        try:
            while True:
                try:
                    result = await self._run_blocking(fn, *args)
                except Exception as exc:
                    self._failed(what, exc)
                    if not first.done():
                        first.set_result(False)
                    await self._sleep(backoff_delay(failures, base=RETRY_BASE, cap=RETRY_CAP))
                    failures += 1
                    continue
                self._landed(what, late=failures > 0 or state["returned"])
                if not first.done():
                    first.set_result(True)
                if state["returned"] and then is not None:
                    then(result)
                return result
        finally:
            self.pending -= 1

    def _failed(self, what: str, exc: Exception) -> None:
        if self.failing:
            return
        self.failing = True
        text = (
            f"store: {what} cannot be written ({type(exc).__name__}: {exc}); enforcement goes "
            "on from memory and the write is retried until it lands"
        )
        _log.critical(text)
        if self.on_alert is not None:
            self.on_alert(Severity.CRITICAL, text)

    def _landed(self, what: str, *, late: bool) -> None:
        if late and self.failing:
            self.failing = False
            text = f"store: writable again ({what} landed late)"
            _log.warning(text)
            if self.on_alert is not None:
                self.on_alert(Severity.INFO, text)
