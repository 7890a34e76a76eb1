"""``NamedTasks``: the background tasks one part of the runtime owns (the daemon, a broker
session): spawned by name, logged when one dies, cancelled and awaited together at stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

_log = logging.getLogger(__name__)


class NamedTasks:
    """A set of running tasks. ``spawn`` names each (``actor-<id>``, ``read-side``, ...) so a
    stuck stop can say what hangs; a task that ends with an exception is logged, never lost."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run ``coro`` as a task named ``name`` until it ends or :meth:`stop` cancels it;
        returns the task (to see whether it still runs)."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("task %s died: %r", task.get_name(), task.exception())

    @property
    def running(self) -> frozenset[asyncio.Task[Any]]:
        """The tasks still running."""
        return frozenset(self._tasks)

    async def stop(self) -> None:
        """Cancel every task and wait until all have ended (their exceptions are not raised)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
