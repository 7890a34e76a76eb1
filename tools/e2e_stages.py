"""Where a breach's time goes in ``risk-manager bench e2e``: wall-clock stamps per stage.

    .venv/bin/python tools/e2e_stages.py [BREACHES]      (default 400, 10 accounts)

Runs ``bench e2e`` with the daemon's methods wrapped (in this process only) to stamp
``time.time_ns()`` at each stage of each breach, lines them up with the simulator's own stamps
(``sim --timings``: the size-2 position event handed to its hub, the partial close arriving)
and prints p50 / p99 / mean ms per stage, plus the loop thread's CPU time from the frame read
to the REST call. The stages: sent (simulator) → frame (the hub's frame read) → offer (the
position event into the actor's queue) → handle (the actor takes it) → engine (processed) →
attempt (the enforcer's task starts) → j0 (the journal write starts, in its thread) → jm (it
holds the store's writer mutex) → j1 (committed, fsync'd) → send (the enforcer resumes) →
rest (the client's call) → arrived (the simulator); off that chain, handled (the actor's
bookkeeping done: after the send, since the actor waits for the journal write first). A
diagnostic, not a test: it wraps private methods, so it names the ones it cannot find.
docs/PERFORMANCE.md "End-to-end enforcement latency".
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections import defaultdict
from itertools import pairwise
from typing import Any

from risk_manager.domain.events import PositionEvent
from risk_manager.engine.engine import Engine
from risk_manager.projectx import hub_connection
from risk_manager.projectx.client import ProjectXClient
from risk_manager.runtime import bench_e2e
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.enforcer import Enforcer
from risk_manager.store import db as store_db
from risk_manager.store.journal import JournalRepo

STAGES = [
    "sent", "frame", "offer", "handle", "engine", "attempt",
    "j0", "jm", "j1", "send", "rest", "arrived",
]  # fmt: skip

ns = time.time_ns
_frame = {"at": 0, "cpu": 0}
_current: dict[int, dict[str, int]] = {}  # account -> the stamps of its breach in progress
_done: dict[int, list[dict[str, int]]] = defaultdict(list)
_thread = threading.local()


def _breach(event: object) -> bool:
    return isinstance(event, PositionEvent) and event.position.size == 2


def _stamp(account_id: int, stage: str, at: int | None = None) -> None:
    stamps = _current.get(account_id)
    if stamps is not None and stage not in stamps:
        stamps[stage] = ns() if at is None else at


def _wrap() -> None:
    dispatch = hub_connection.HubConnection._dispatch

    def _dispatch(self: Any, records: Any) -> Any:
        _frame["at"], _frame["cpu"] = ns(), time.thread_time_ns()
        return dispatch(self, records)

    offer = AccountActor.offer

    def _offer(self: AccountActor, event: Any) -> None:
        if _breach(event):
            _current[self.account_id] = {
                "frame": _frame["at"], "cpu0": _frame["cpu"], "offer": ns()
            }  # fmt: skip
        offer(self, event)

    handle = AccountActor.handle

    async def _handle(self: AccountActor, event: Any) -> Any:
        if _breach(event):
            _stamp(self.account_id, "handle")
        actions = await handle(self, event)
        if _breach(event):
            _stamp(self.account_id, "handled")
        return actions

    process = Engine.process

    def _process(self: Engine, event: Any, now: Any) -> Any:
        actions = process(self, event, now)
        if _breach(event):
            _stamp(event.account_id, "engine")
        return actions

    execute = Enforcer.execute

    async def _execute(self: Enforcer, action: Any, book: Any) -> None:
        _stamp(action.account_id, "attempt")
        await execute(self, action, book)

    send = Enforcer._send

    async def _send(self: Enforcer, action: Any, book: Any, **kw: Any) -> Any:
        _stamp(action.account_id, "send")
        return await send(self, action, book, **kw)

    intent = JournalRepo.journal_intent

    def _intent(self: Any, account_id: int, *args: Any, **kw: Any) -> Any:
        started = ns()
        entry = intent(self, account_id, *args, **kw)
        _stamp(account_id, "j0", started)
        _stamp(account_id, "jm", getattr(_thread, "held", started))
        _stamp(account_id, "j1")
        return entry

    close = ProjectXClient.partial_close_position

    async def _close(self: Any, account_id: int, contract_id: str, size: int) -> None:
        stamps = _current.get(account_id)  # kept: the actor's bookkeeping may end after this
        if stamps is not None and "rest" not in stamps:
            stamps["rest"], stamps["cpu1"] = ns(), time.thread_time_ns()
            _done[account_id].append(stamps)
        await close(self, account_id, contract_id, size)

    init = store_db.Database.__init__

    def _init(self: Any, *args: Any, **kw: Any) -> None:
        init(self, *args, **kw)
        self._mutex = _StampedLock(self._mutex)

    hub_connection.HubConnection._dispatch = _dispatch  # type: ignore[method-assign]
    AccountActor.offer = _offer  # type: ignore[method-assign]
    AccountActor.handle = _handle  # type: ignore[method-assign]
    Engine.process = _process  # type: ignore[method-assign]
    Enforcer.execute = _execute  # type: ignore[method-assign]
    Enforcer._send = _send  # type: ignore[method-assign]
    JournalRepo.journal_intent = _intent  # type: ignore[method-assign]
    ProjectXClient.partial_close_position = _close  # type: ignore[method-assign]
    store_db.Database.__init__ = _init  # type: ignore[method-assign]


class _StampedLock:
    """The writer's mutex, stamping when this thread got it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __enter__(self) -> _StampedLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self, *args: Any, **kw: Any) -> Any:
        got = self._inner.acquire(*args, **kw)
        _thread.held = ns()
        return got

    def release(self) -> None:
        self._inner.release()


def _pct(values: list[float], pct: float) -> float:
    return bench_e2e.percentile(values, pct)


def main(breaches: int) -> None:
    _wrap()
    seen: dict[str, Any] = {}
    latencies = bench_e2e.latencies_ms

    def _keep(timings: dict[str, Any]) -> list[float]:
        seen["timings"] = timings
        return latencies(timings)

    bench_e2e.latencies_ms = _keep
    result = asyncio.run(bench_e2e.run_e2e(breaches, 10))
    sent: dict[int, list[int]] = defaultdict(list)
    arrived: dict[int, list[int]] = defaultdict(list)
    for e in seen["timings"]["events"]:
        if e["target"] == "GatewayUserPosition" and e["size"] == 2:
            sent[e["accountId"]].append(e["t_ns"])
    for r in seen["timings"]["requests"]:
        if r["path"] == "Position/partialCloseContract":
            arrived[r["accountId"]].append(r["t_ns"])
    rows = []
    for account_id, stamps in _done.items():
        ours = stamps[-len(sent[account_id]) :]  # the setup's buys breach nothing
        for s, a, b in zip(ours, sent[account_id], arrived[account_id], strict=False):
            s["sent"], s["arrived"] = a, b
            if all(k in s for k in (*STAGES, "handled")):
                rows.append(s)
    floors = result.floors()
    print(
        f"{len(rows)} breaches: p50 {result.p50_ms:.2f} p99 {result.p99_ms:.2f} ms; fsync floor "
        f"{floors['fsync']['p50_ms']:.2f} / {floors['fsync']['p99_ms']:.2f}, bare floor "
        f"{floors['bare']['p50_ms']:.2f} / {floors['bare']['p99_ms']:.2f}"
    )
    lines = [(f"{a} -> {b}", [(r[b] - r[a]) / 1e6 for r in rows]) for a, b in pairwise(STAGES)]
    # off the chain: the actor waits for the journal write before its bookkeeping, which
    # then ends after the send (before the wait, it ended before the journal write began)
    lines.append(("engine -> handled", [(r["handled"] - r["engine"]) / 1e6 for r in rows]))
    lines.append(("send -> handled", [(r["handled"] - r["send"]) / 1e6 for r in rows]))
    lines.append(("loop thread CPU frame -> rest", [(r["cpu1"] - r["cpu0"]) / 1e6 for r in rows]))
    lines.append(("total", [(r["arrived"] - r["sent"]) / 1e6 for r in rows]))
    for name, values in lines:
        mean = sum(values) / len(values)
        p50, p99 = _pct(values, 50), _pct(values, 99)
        print(f"{name:>30}  p50 {p50:7.3f}  p99 {p99:7.3f}  mean {mean:7.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
