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
import contextlib
import contextvars
import functools
import logging
import queue
import threading
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


def in_thread(fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
    """``fn(*args)`` in the loop's default executor, handed to a thread now; the future of
    its result. ``asyncio.to_thread`` does the same from a coroutine, so the thread starts
    only when that coroutine first runs, a loop turn later (behind whatever else is ready:
    on the breach path, the rest of the event's bookkeeping). Context variables are copied
    as ``to_thread`` copies them."""
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args)
    return loop.run_in_executor(None, call)


# What ``soon`` waits on: (landed, result or exception) from the thread, or None (the
# executor's future is done, or the wait ran out: ``soon`` looks at that future).
Told = asyncio.Future[tuple[bool, Any] | None]


class _Word:
    """A first try's own word to its waiting caller, from the worker thread: the outcome, as
    soon as ``fn`` returns or raises (``told``: the future ``soon`` waits on). The executor's
    future says the same a loop turn later (its state copied to the loop, then its callbacks
    run, then the waiter's): on the breach path, each turn is loop work between the journal's
    commit and the send (docs/PERFORMANCE.md, end-to-end latency)."""

    __slots__ = ("first", "fn", "loop", "told")

    def __init__(
        self,
        fn: Callable[..., Any],
        loop: asyncio.AbstractEventLoop,
        first: asyncio.Future[Any] | None = None,
    ) -> None:
        self.fn = fn
        self.loop = loop
        self.told: Told = loop.create_future()
        self.first = first  # the try's own future, settled with the word (``_Urgent``)

    def __call__(self, *args: Any) -> Any:  # in the worker thread
        try:
            result = self.fn(*args)
        except BaseException as exc:
            self._tell((False, exc))
            raise
        self._tell((True, result))
        return result

    def _tell(self, word: tuple[bool, Any]) -> None:
        with contextlib.suppress(RuntimeError):  # a loop closed meanwhile: nobody waits
            self.loop.call_soon_threadsafe(_settle, self.told, word, self.first)


def _settle(
    told: Told, word: tuple[bool, Any] | None, first: asyncio.Future[Any] | None = None
) -> None:
    if not told.done():
        told.set_result(word)
    if first is not None and word is not None and not first.done():
        if word[0]:
            first.set_result(word[1])
        else:
            first.set_exception(word[1])


class _Urgent:
    """One thread of the process's own for urgent writes (``soon(..., urgent=True)``: a
    journal intent before its send, a lock before its enforcement), in their order. A job is
    a put on a queue the thread waits on, and its outcome one loop callback (``_Word``): the
    default executor's submit, its future's chaining and its done-callbacks cost ~60 us of
    the loop's time before the write could start and ~30 us after it ended (bench e2e, 2
    cores), all between a breach's engine verdict and its request. Background writes (fills,
    rule memory, outcomes: grouped, each holding its thread until its group commits) and
    every retry stay in the default executor: an urgent write never waits behind them."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[contextvars.Context, _Word, tuple[Any, ...]]]
        self._jobs = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def put(self, word: _Word, args: tuple[Any, ...]) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._starting:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._run, name="store-urgent-writes", daemon=True
                    )
                    self._thread.start()
        self._jobs.put((contextvars.copy_context(), word, args))

    def _run(self) -> None:
        while True:
            context, word, args = self._jobs.get()
            # told to the caller by the word, whatever its class: the thread lives on for the
            # writes queued behind it
            with contextlib.suppress(BaseException):
                context.run(word, *args)
            del context, word, args  # hold no row or store between jobs


_URGENT = _Urgent()


def _error(done: asyncio.Future[Any]) -> BaseException:
    if done.cancelled():
        return asyncio.CancelledError("the write was cancelled")
    exc = done.exception()
    assert exc is not None  # only asked of a failed try
    return exc


class DurableWrites:
    """Runs blocking store writes; ``soon`` waits up to ``wait`` seconds for one.

    ``on_alert(severity, text)`` hears of outages and recoveries (set by the owner: the actor
    sends them to the alert channels); ``keep(task)`` holds background retries so shutdown
    drains them; ``pending`` counts writes not yet landed (a health figure)."""

    def __init__(
        self,
        *,
        run_blocking: Blocking = in_thread,
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
        urgent: bool = False,
    ) -> tuple[bool, Any]:
        """``(True, result)`` when ``fn(*args)`` landed within ``wait``; else ``(False,
        None)`` at once (on the first failure, or at ``wait``), and the write goes on being
        tried until it lands, ``then(result)`` being called when it does.

        The first try starts before this returns to the loop (with ``in_thread``, the
        default), and the caller resumes as soon as it lands: a journal write before a send
        adds no loop turn of its own to the send (docs/PERFORMANCE.md, end-to-end latency).
        With ``in_thread`` its thread says so itself (``_Word``), one loop callback that
        wakes the caller; the executor's future would take two more turns (its state copied
        to the loop, then a waiter woken). ``urgent``: the first try runs in the thread kept
        for urgent writes (``_Urgent``) rather than the default executor; its retries, if
        any, run in the executor."""
        self.pending += 1
        loop = asyncio.get_running_loop()
        told: Told
        if self._run_blocking is in_thread and urgent:  # a thread of its own (``_Urgent``)
            first = loop.create_future()
            word = _Word(fn, loop, first)
            told = word.told
            _URGENT.put(word, args)
        elif self._run_blocking is in_thread:  # the thread tells its outcome itself (``_Word``)
            word = _Word(fn, loop)
            told = word.told
            first = in_thread(word, *args)
        else:
            told = loop.create_future()
            first = asyncio.ensure_future(self._run_blocking(fn, *args))
        # The first of: the thread's word, the executor's future, the wait running out.
        first.add_done_callback(lambda done: _settle(told, None))
        timer = loop.call_later(self._wait, _settle, told, None)
        try:
            heard = await told  # never cancels ``first`` (a cancelled write would lose the row)
        except asyncio.CancelledError:
            self._carry_on(fn, args, what, first, None)
            raise
        finally:
            timer.cancel()
        if heard is not None and heard[0]:
            self.pending -= 1
            return True, heard[1]  # landed, told by its thread
        if first.done() and not first.cancelled() and first.exception() is None:
            # landed (a write landing just as the wait ran out included)
            self.pending -= 1
            return True, first.result()
        if heard is not None:
            self._failed(what, heard[1])
        elif first.done():
            self._failed(what, _error(first))
        else:  # stuck (another process's write lock, a slow disk): go on without it
            self._failed(what, TimeoutError(f"not written within {self._wait:g}s"))
        self._carry_on(fn, args, what, first, then)
        return False, None

    def _carry_on(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        what: str,
        first: asyncio.Future[Any],
        then: Callable[[Any], None] | None,
    ) -> None:
        task = asyncio.ensure_future(self._until_written(fn, args, what, first, then))
        if self._keep is not None:
            self._keep(task)

    async def _until_written(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        what: str,
        attempt: asyncio.Future[Any],
        then: Callable[[Any], None] | None,
    ) -> Any:
        """The write given up on by ``soon`` (``attempt``: its try still running, or failed),
        tried with capped backoff until it lands; ``pending`` counted it from ``soon``."""
        failures = 0
        try:
            while True:
                try:
                    result = await attempt
                except asyncio.CancelledError:
                    raise
                except BaseException as exc:  # a write's failure, whatever its class
                    self._failed(what, exc)
                    await self._sleep(backoff_delay(failures, base=RETRY_BASE, cap=RETRY_CAP))
                    failures += 1
                    attempt = asyncio.ensure_future(self._run_blocking(fn, *args))
                    continue
                self._landed(what, late=True)
                if then is not None:
                    then(result)
                return result
        finally:
            self.pending -= 1

    def _failed(self, what: str, exc: BaseException) -> None:
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
