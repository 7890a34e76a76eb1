"""Where a breach's time goes in ``risk-manager bench e2e`` or ``bench accounts``: wall-clock
stamps per stage.

    .venv/bin/python tools/e2e_stages.py [BREACHES]      (bench e2e, default 400, 10 accounts)
    .venv/bin/python tools/e2e_stages.py --accounts 500 [--seconds 10]   (one bench accounts step)

Runs the bench with the daemon's methods wrapped (in this process only) to stamp
``time.time_ns()`` at each stage of each breach, lines them up with the simulator's own stamps
(``sim --timings``: the size-2 position event handed to its hub, the partial close arriving)
and prints p50 / p99 / mean ms per stage, plus the loop thread's CPU time from the frame read
to the REST call, and between the stages the loop stamps ("loop CPU": its own work then, the
breach's and whatever else it ran). The stages: sent (simulator) → frame (the hub's frame read)
→ offer (the position event into the actor's queue) → handle (the actor takes it) → engine
(processed) → attempt (the enforcer's task starts) → j0 (the journal write starts, in its
thread) → jm (it holds the store's writer mutex) → j1 (committed, fsync'd) → send (the enforcer
resumes) → rest (the client's call) → wrote (the request's bytes handed to the socket) →
arrived (the simulator); off that chain, handled (the actor's bookkeeping done: after the send,
since the actor waits for the journal write first; "wrote -> handled" negative when it ends
before the request is out). A diagnostic, not a test: it wraps private methods, so it names the
ones it cannot find. docs/PERFORMANCE.md "End-to-end enforcement latency" and "Capacity".

Then, for the slowest breaches (the worst 5 %, at least one), each stage's median beside the
median breach's and its share of their extra time, and the slowest ones one by one. Beside the
stages: the event loop's polls (its selector wrapped: how long the loop was busy elsewhere
after the simulator sent, waiting in the poll, and running callbacks after the poll before the
frame was read), the garbage collections during the breach, and the journal's executor queue
when the enforcer started (writes queued before the intent in the default executor).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import logging
import statistics
import sys
import threading
import time
from asyncio import selector_events
from collections import defaultdict
from collections.abc import Callable, Coroutine
from itertools import pairwise
from typing import Any

from risk_manager.domain.events import PositionEvent
from risk_manager.engine.engine import Engine
from risk_manager.projectx import hub_connection
from risk_manager.projectx.client import ProjectXClient
from risk_manager.runtime import bench_accounts, bench_e2e, daemon
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.enforcer import Enforcer
from risk_manager.store import db as store_db
from risk_manager.store.journal import JournalRepo

STAGES = [
    "sent", "frame", "offer", "handle", "engine", "attempt",
    "j0", "jm", "j1", "send", "rest", "wrote", "arrived",
]  # fmt: skip

ns = time.time_ns
_frame = {"at": 0, "cpu": 0}
_writing = [0]  # the account whose partial close the client is sending
_current: dict[int, dict[str, int]] = {}  # account -> the stamps of its breach in progress
_done: dict[int, list[dict[str, int]]] = defaultdict(list)
_thread = threading.local()
_polls: tuple[list[int], list[int]] = ([], [])  # each selector poll: (entered, returned), ns
_gcs: list[tuple[int, int, int]] = []  # each collection: (start, stop, generation), ns
_floor_commits: list[float] = []  # the fsync floor's own commits in the same run, ms
SLOW_SHARE = 0.05  # the slowest breaches: this share of them, at least one
_LOOP_THREAD = threading.main_thread().ident  # the benches run their loop on the main thread
# The stages the loop's thread stamps, in order: its CPU between two is its own work then
# (the breach's and whatever else it ran); "attempt -> send" spans the journal write.
LOOP_STAGES = ["frame", "offer", "handle", "engine", "attempt", "send", "rest", "wrote"]


def _breach(event: object) -> bool:
    return isinstance(event, PositionEvent) and event.position.size == 2


def _stamp(account_id: int, stage: str, at: int | None = None) -> None:
    stamps = _current.get(account_id)
    if stamps is not None and stage not in stamps:
        stamps[stage] = ns() if at is None else at
        if threading.get_ident() == _LOOP_THREAD:  # the loop's own CPU up to this stage
            stamps[f"cpu:{stage}"] = time.thread_time_ns()


def _wrap() -> None:
    dispatch = hub_connection.HubConnection._dispatch

    def _dispatch(self: Any, records: Any) -> Any:
        _frame["at"], _frame["cpu"] = ns(), time.thread_time_ns()
        return dispatch(self, records)

    offer = AccountActor.offer

    def _offer(self: AccountActor, event: Any) -> None:
        if _breach(event):
            _current[self.account_id] = {
                "frame": _frame["at"], "cpu:frame": _frame["cpu"],
                "offer": ns(), "cpu:offer": time.thread_time_ns(),
            }  # fmt: skip
        offer(self, event)

    handle = AccountActor.handle

    async def _handle(self: AccountActor, event: Any, **kw: Any) -> Any:
        if _breach(event):
            _stamp(self.account_id, "handle")
        actions = await handle(self, event, **kw)
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
        executor = getattr(asyncio.get_running_loop(), "_default_executor", None)
        queue = getattr(executor, "_work_queue", None)
        _stamp(action.account_id, "queued", queue.qsize() if queue is not None else -1)
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
            stamps["rest"], stamps["cpu:rest"] = ns(), time.thread_time_ns()
            _done[account_id].append(stamps)
        _writing[0] = account_id
        await close(self, account_id, contract_id, size)

    transport: Any = getattr(selector_events, "_SelectorSocketTransport")  # noqa: B009
    write = transport.write

    def _write(self: Any, data: Any) -> None:
        if b"partialCloseContract" in bytes(data[:120]):
            _stamp(_writing[0], "wrote")
        write(self, data)

    init = store_db.Database.__init__

    def _init(self: Any, *args: Any, **kw: Any) -> None:
        init(self, *args, **kw)
        self._mutex = _StampedLock(self._mutex)

    floor_write = bench_e2e.Journal._write

    def _floor_write(self: bench_e2e.Journal, n: int) -> None:
        started = ns()
        floor_write(self, n)
        _floor_commits.append((ns() - started) / 1e6)

    bench_e2e.Journal._write = _floor_write  # type: ignore[method-assign]
    hub_connection.HubConnection._dispatch = _dispatch  # type: ignore[method-assign]
    AccountActor.offer = _offer  # type: ignore[method-assign]
    AccountActor.handle = _handle  # type: ignore[method-assign]
    Engine.process = _process  # type: ignore[method-assign]
    Enforcer.execute = _execute  # type: ignore[method-assign]
    Enforcer._send = _send  # type: ignore[method-assign]
    JournalRepo.journal_intent = _intent  # type: ignore[method-assign]
    ProjectXClient.partial_close_position = _close  # type: ignore[method-assign]
    store_db.Database.__init__ = _init  # type: ignore[method-assign]
    transport.write = _write


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


def _watch_loop() -> None:
    """Stamp each poll of the running loop's selector and each garbage collection."""
    selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
    select = selector.select
    entered, returned = _polls

    def _select(timeout: float | None = None) -> Any:
        entered.append(ns())
        try:
            return select(timeout)
        finally:
            returned.append(ns())

    selector.select = _select
    started: dict[str, int] = {}

    def _collected(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started["at"] = ns()
        elif "at" in started:
            _gcs.append((started.pop("at"), ns(), int(info["generation"])))

    gc.callbacks.append(_collected)


def _poll_parts(row: dict[str, int]) -> tuple[float, float, float]:
    """The sent → frame time split by the loop's polls, in ms: (the loop busy elsewhere when
    the simulator sent, until it next polled; in that poll; from that poll's return to the
    frame's read: the hop's last part, aiohttp reading the socket, then the hub's reader task
    a loop turn later, plus whatever ran between)."""
    entered, returned = _polls
    i = bisect.bisect_right(returned, row["sent"])  # the first poll to return after sent
    if i >= len(returned) or returned[i] > row["frame"]:
        return 0.0, 0.0, (row["frame"] - row["sent"]) / 1e6
    polled, woke = entered[i], returned[i]
    busy = max(0, polled - row["sent"])
    waiting = max(0, woke - max(polled, row["sent"]))
    return busy / 1e6, waiting / 1e6, (row["frame"] - woke) / 1e6


def _iterations(row: dict[str, int]) -> int:
    """The loop's polls between the frame's read and the REST call (its iterations: each one
    runs every callback ready, the quotes' slices and actors included)."""
    returned = _polls[1]
    return bisect.bisect_right(returned, row["rest"]) - bisect.bisect_right(returned, row["frame"])


def _gc_ms(row: dict[str, int]) -> tuple[float, int]:
    """Collections' time within the breach (sent → arrived), in ms, and their top generation."""
    total, top = 0, -1
    for start, stop, generation in _gcs:
        overlap = min(stop, row["arrived"]) - max(start, row["sent"])
        if overlap > 0:
            total += overlap
            top = max(top, generation)
    return total / 1e6, top


def _columns(rows: list[dict[str, int]]) -> list[tuple[str, list[float]]]:
    """Per breach, each stage and each split, in ms (the rows' order)."""
    cols = [(f"{a} -> {b}", [(r[b] - r[a]) / 1e6 for r in rows]) for a, b in pairwise(STAGES)]
    parts = [_poll_parts(r) for r in rows]
    cols += [
        ("  of sent -> frame: loop busy", [p[0] for p in parts]),
        ("  of sent -> frame: in poll", [p[1] for p in parts]),
        ("  of sent -> frame: after poll", [p[2] for p in parts]),
        # off the chain: the actor waits for the journal write before its bookkeeping, which
        # then ends after the send
        ("engine -> handled", [(r["handled"] - r["engine"]) / 1e6 for r in rows]),
        ("send -> handled", [(r["handled"] - r["send"]) / 1e6 for r in rows]),
        # negative: the request went out before the bookkeeping ended, as it should
        ("wrote -> handled", [(r["handled"] - r["wrote"]) / 1e6 for r in rows]),
        ("gc during the breach", [_gc_ms(r)[0] for r in rows]),
        ("loop polls frame -> rest (count)", [float(_iterations(r)) for r in rows]),
        ("loop thread CPU frame -> rest", [(r["cpu:rest"] - r["cpu:frame"]) / 1e6 for r in rows]),
        *(
            (f"  loop CPU {a} -> {b}", [(r[f"cpu:{b}"] - r[f"cpu:{a}"]) / 1e6 for r in rows])
            for a, b in pairwise(LOOP_STAGES)
            if all(f"cpu:{a}" in r and f"cpu:{b}" in r for r in rows)
        ),
        ("total", [(r["arrived"] - r["sent"]) / 1e6 for r in rows]),
    ]
    return cols


def _report(rows: list[dict[str, int]]) -> None:
    cols = _columns(rows)
    for name, values in cols:
        mean = sum(values) / len(values)
        p50, p99 = _pct(values, 50), _pct(values, 99)
        print(f"{name:>34}  p50 {p50:7.3f}  p99 {p99:7.3f}  mean {mean:7.3f}")
    totals = dict(cols)["total"]
    order = sorted(range(len(rows)), key=lambda i: totals[i], reverse=True)
    slow = order[: max(1, round(len(rows) * SLOW_SHARE))]
    extra = sum(totals[i] for i in slow) - len(slow) * statistics.median(totals)
    print(
        f"\nthe slowest {len(slow)} breaches (total {min(totals[i] for i in slow):.2f} – "
        f"{max(totals[i] for i in slow):.2f} ms) against the median breach; 'share' is the "
        "stage's part of their time over the median total"
    )
    print(f"{'':>34}  {'median':>7}  {'slow med':>8}  {'slow mean':>9}  share")
    for name, values in cols:
        median = statistics.median(values)
        mine = [values[i] for i in slow]
        share = (sum(mine) - len(mine) * median) / extra if extra > 0 else 0.0
        print(
            f"{name:>34}  {median:7.3f}  {statistics.median(mine):8.3f}  "
            f"{sum(mine) / len(mine):9.3f}  " + ("" if "(count)" in name else f"{share:5.0%}")
        )
    print("\nthe slowest one by one: total ms, its three longest stages, gc, executor queue")
    stages = cols[: len(STAGES) + 2]  # the stages and the poll split
    for i in order[: min(len(slow), 12)]:
        longest = sorted(((values[i], name) for name, values in stages), reverse=True)[:3]
        gc_ms, generation = _gc_ms(rows[i])
        print(
            f"  {totals[i]:7.2f}  "
            + ", ".join(f"{name.strip()} {ms:.2f}" for ms, name in longest)
            + f"; gc {gc_ms:.2f} (gen {generation}); queued {rows[i].get('queued', -1)}"
        )


async def _watched(run: Coroutine[Any, Any, Any]) -> Any:
    _watch_loop()
    return await run


def _keep_timings(seen: dict[str, Any]) -> Callable[[dict[str, Any]], list[float]]:
    latencies = bench_e2e.latencies_ms

    def _keep(timings: dict[str, Any]) -> list[float]:
        seen["timings"] = timings
        return latencies(timings)

    return _keep


def main(breaches: int, accounts: int | None, seconds: float) -> None:
    _wrap()
    seen: dict[str, Any] = {}
    keep = _keep_timings(seen)
    for module in (bench_e2e, bench_accounts):  # bench_accounts imported it by name
        setattr(module, "latencies_ms", keep)  # noqa: B010
    if accounts is None:
        result = asyncio.run(_watched(bench_e2e.run_e2e(breaches, 10)))
        floors = result.floors()
        head = (
            f"p50 {result.p50_ms:.2f} p99 {result.p99_ms:.2f} ms; fsync floor "
            f"{floors['fsync']['p50_ms']:.2f} / {floors['fsync']['p99_ms']:.2f}, bare floor "
            f"{floors['bare']['p50_ms']:.2f} / {floors['bare']['p99_ms']:.2f}"
        )
    else:
        logging.getLogger("risk_manager").setLevel(logging.ERROR)  # as bench accounts does
        step = asyncio.run(_watched(bench_accounts.run_step(accounts, seconds, 5.0)))
        head = (
            f"{accounts} accounts: p50 {step.p50_ms:.2f} p99 {step.p99_ms:.2f} ms; floor p99 "
            f"{step.floor_p99_ms:.2f}; loop lag {step.loop_lag_ms:.1f} ms; daemon CPU "
            f"{step.daemon_cpu_pct:.0f}%, simulator {step.sim_cpu_pct:.0f}%"
        )
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
    print(f"{len(rows)} breaches: {head}")
    if _floor_commits:  # set beside "jm -> j1", the breach's own commit
        print(
            f"{'the fsync floor commit':>34}  p50 {_pct(_floor_commits, 50):7.3f}  "
            f"p99 {_pct(_floor_commits, 99):7.3f}  (its thread's write, same run)"
        )
    _report(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("breaches", nargs="?", type=int, default=400, help="bench e2e's")
    parser.add_argument("--accounts", type=int, help="one bench accounts step of this many")
    parser.add_argument("--seconds", type=float, default=10.0, help="bench accounts' breaches")
    parser.add_argument(
        "--switch-interval",
        type=float,
        help="the daemon's SWITCH_INTERVAL for the run, s (0.005: Python's own, as before)",
    )
    args = parser.parse_args()
    if args.switch_interval is not None:
        setattr(daemon, "SWITCH_INTERVAL", args.switch_interval)  # noqa: B010
        sys.setswitchinterval(args.switch_interval)
    main(args.breaches, args.accounts, args.seconds)
