"""Store writes that must land but that enforcement never waits on for long."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any

from risk_manager.domain.actions import Severity
from risk_manager.runtime.durable import DurableWrites


async def test_a_quick_write_is_waited_for_and_returns_its_result() -> None:
    writes = DurableWrites(wait=1.0)
    assert await writes.soon(lambda x: x * 2, 21, what="a row") == (True, 42)
    assert writes.pending == 0 and not writes.failing


async def test_a_failing_write_returns_at_once_alerts_once_and_lands_later() -> None:
    alerts: list[tuple[Severity, str]] = []
    landed: list[Any] = []
    tries = {"n": 0}
    kept: list[asyncio.Future[Any]] = []

    def flaky() -> str:
        tries["n"] += 1
        if tries["n"] < 4:
            raise OSError("No space left on device")
        return "row 7"

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    writes = DurableWrites(wait=5.0, sleep=no_sleep, keep=kept.append)
    writes.on_alert = lambda sev, text: alerts.append((sev, text))
    assert await writes.soon(flaky, what="a lock", then=landed.append) == (False, None)
    await asyncio.gather(*kept)
    assert landed == ["row 7"] and tries["n"] == 4
    assert [a[0] for a in alerts] == [Severity.CRITICAL, Severity.INFO]
    assert "No space left" in alerts[0][1] and "a lock" in alerts[0][1]


async def test_a_stuck_write_is_not_waited_for_past_the_deadline() -> None:
    release = threading.Event()
    kept: list[asyncio.Future[Any]] = []
    writes = DurableWrites(wait=0.05, keep=kept.append)
    alerts: list[Severity] = []
    writes.on_alert = lambda sev, _text: alerts.append(sev)
    landed: list[Any] = []
    ok, _ = await writes.soon(lambda: release.wait(5) and "done", what="a lock", then=landed.append)
    assert not ok and alerts == [Severity.CRITICAL]  # another process holds the write lock
    release.set()
    await asyncio.gather(*kept)
    assert landed == ["done"] and alerts == [Severity.CRITICAL, Severity.INFO]


async def test_a_write_landing_just_as_the_wait_runs_out_counts_as_landed() -> None:
    """The write lands in the same loop turn as the wait expires: reported landed, not
    failed (a caller told "not landed" would wait for a ``then`` that never comes)."""

    async def direct(fn: Any, *args: Any) -> Any:
        return fn(*args)

    writes = DurableWrites(run_blocking=direct, wait=0.0)
    alerts: list[Severity] = []
    writes.on_alert = lambda sev, _text: alerts.append(sev)
    later: list[Any] = []
    assert await writes.soon(lambda: "row 7", what="a row", then=later.append) == (True, "row 7")
    assert alerts == [] and later == [] and not writes.failing


class _LateExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each call in a worker thread, but its future says so only once ``release`` is
    set: the executor's word comes late, as it does a loop turn late in the real one."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.release = threading.Event()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        late: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                self.release.wait(5)
                late.set_exception(exc)
            else:
                self.release.wait(5)
                late.set_result(result)

        super().submit(run)
        return late


async def test_a_write_in_a_thread_wakes_its_caller_itself_not_through_the_executor() -> None:
    """The thread that ran the write tells the waiting caller at once: the executor's future
    would wake it two loop turns later (its state copied to the loop, then a waiter woken),
    turns between a breach's journal commit and its send (docs/PERFORMANCE.md)."""
    loop = asyncio.get_running_loop()
    executor = _LateExecutor()
    loop.set_default_executor(executor)
    alerts: list[tuple[Severity, str]] = []
    kept: list[asyncio.Future[Any]] = []
    try:
        writes = DurableWrites(wait=2.0, keep=kept.append)
        writes.on_alert = lambda severity, text: alerts.append((severity, text))
        assert await writes.soon(lambda: "row 7", what="a row") == (True, "row 7")
        assert writes.pending == 0 and not writes.failing

        tries: list[str] = []

        def full_once() -> str:
            tries.append("try")
            if len(tries) == 1:
                raise OSError("No space left on device")
            return "row 8"

        landed: list[str] = []
        outcome = await writes.soon(full_once, what="a lock", then=landed.append)
        assert outcome == (False, None)
        ((severity, text),) = alerts  # told at once by the thread, not timed out
        assert severity is Severity.CRITICAL and "No space left" in text
        assert writes.pending == 1
        executor.release.set()
        await asyncio.gather(*kept)  # retried until it lands
        assert landed == ["row 8"] and writes.pending == 0
    finally:
        executor.release.set()
        executor.shutdown(wait=True)


async def test_an_urgent_write_runs_in_a_thread_of_its_own_and_its_retries_in_the_executor() -> (
    None
):
    """``urgent``: the first try runs in the thread kept for urgent writes, never behind the
    default executor's jobs; a failed one is retried there (in the executor) until it lands."""
    loop = asyncio.get_running_loop()
    busy = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    release = threading.Event()
    loop.set_default_executor(busy)
    threads: list[str] = []
    kept: list[asyncio.Future[Any]] = []

    def write(fail: bool) -> str:
        threads.append(threading.current_thread().name)
        if fail and len(threads) == 1:
            raise OSError("disk I/O error")
        return "row"

    try:
        blocked = loop.run_in_executor(None, release.wait, 10.0)  # its one thread, held
        writes = DurableWrites(wait=2.0, keep=kept.append)
        assert await writes.soon(write, False, what="an intent", urgent=True) == (True, "row")
        assert threads == ["store-urgent-writes"] and not blocked.done()
        threads.clear()
        assert await writes.soon(write, True, what="an intent", urgent=True) == (False, None)
        release.set()
        await asyncio.gather(*kept)
        assert threads[0] == "store-urgent-writes" and threads[1] != "store-urgent-writes"
        assert writes.pending == 0
    finally:
        release.set()
        busy.shutdown(wait=True)


async def test_an_urgent_write_failing_with_a_base_exception_strands_no_write() -> None:
    """A write that raises something not an ``Exception`` neither kills the urgent writes'
    thread (the lock row queued behind it still lands at once) nor its own retries."""

    class Boom(BaseException):
        pass

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    gate = threading.Event()
    tries: list[str] = []
    kept: list[asyncio.Future[Any]] = []

    def bad() -> str:
        tries.append("bad")
        if len(tries) == 1:
            gate.wait(5)
            raise Boom("not an Exception")
        return "retried"

    writes = DurableWrites(wait=2.0, sleep=no_sleep, keep=kept.append)
    first = asyncio.create_task(writes.soon(bad, what="a", urgent=True))
    behind = asyncio.create_task(writes.soon(lambda: "lock row", what="a lock", urgent=True))
    await asyncio.sleep(0.05)
    gate.set()
    async with asyncio.timeout(5):  # a deadline, not a measure
        assert await first == (False, None)
        assert await behind == (True, "lock row")
        await asyncio.gather(*kept)
    assert tries == ["bad", "bad"] and writes.pending == 0
