"""Reconciliation requests: coalesced per account, hot accounts first, read in batches.

``await queue.reconcile(account_id, since)`` returns once a snapshot of the account whose reads
started at or after ``since`` (monotonic seconds; default: the call) was handed over, or failed.
A request made while the account waits joins that round; one made while its reads are in
flight joins them if they started late enough, else gets the next round. So the user hub's
first connect during the start, or the housekeeping and a missed-events resync asking
together, cost one read, not two.

Hot accounts (a position or an active lock) wait at ``Priority.RECONCILE_HOT``, the others at
``Priority.RECONCILE``; both yield to enforcement in the REST budget (projectx/rate_limit.py).
Each class's waiting accounts are read in batches of up to ``max_batch``: one ``Account/search``
and three reads per account, admitted together, then handed over one account at a time, so an
account is guarded as soon as its own batch is in, not when every account's is. A batch takes
what the window has room for when its turn comes (at least ``MIN_BATCH`` accounts' worth, or
all that wait), so the window is filled to its last few requests.

A snapshot is handed over only if no broker event for its account arrived while its reads were
in flight (``moved``): such an event may be newer than a read, and the snapshot would undo it
in the engine. It is read again instead, at most ``MAX_REREADS`` times; then it is handed over
anyway (docs/RUNTIME.md "The REST budget").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from risk_manager.domain.events import SnapshotEvent
from risk_manager.projectx.rate_limit import Admission, Priority, request_priority
from risk_manager.runtime.reconciler import READS_PER_ACCOUNT, requests_for

_log = logging.getLogger(__name__)

MAX_BATCH = 20  # accounts per batch: 61 requests, a third of the budget
MIN_BATCH = 5  # accounts a batch waits for room for (fewer: an Account/search per few reads)
MAX_REREADS = 2  # reads again when events arrived during the reads, then hands over anyway

Result = SnapshotEvent | Exception
Read = Callable[[list[int]], Awaitable[Mapping[int, Result]]]
Deliver = Callable[[int, Result, int], Awaitable[None]]
Admit = Callable[[int, int], Awaitable[Admission]]
Spawn = Callable[[Coroutine[Any, Any, None], str], object]  # returns the task (unused here)
CLASSES = (Priority.RECONCILE_HOT, Priority.RECONCILE)


class ReconcileQueue:
    """Serves reconciliation requests for one gateway connection's accounts.

    ``admit(most, least)`` waits (at the context's priority) until ``least`` requests may
    start together and admits as many as fit, up to ``most``; ``read(ids)`` reads those
    accounts' snapshots; ``deliver(id, result, mark)`` hands one over, with ``mark`` what
    ``admitted(id)`` returned the moment its reads were admitted (the actor's count of broker
    events then); ``moved(id, mark)`` says whether a broker event arrived since; ``hot(id)``
    whether the account has a position or an active lock; ``spawn(coro, name)`` runs a task
    its owner cancels at shutdown."""

    def __init__(
        self,
        admit: Admit,
        read: Read,
        deliver: Deliver,
        *,
        hot: Callable[[int], bool],
        admitted: Callable[[int], int],
        moved: Callable[[int, int], bool],
        spawn: Spawn,
        max_batch: int = MAX_BATCH,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self._admit = admit
        self._read = read
        self._deliver = deliver
        self._hot = hot
        self._admitted = admitted
        self._moved = moved
        self._spawn = spawn
        self._max_batch = max_batch
        self._monotonic = monotonic
        # per class: account -> the future of its next round (shared by every request for it)
        self._waiting: dict[Priority, dict[int, asyncio.Future[None]]] = {c: {} for c in CLASSES}
        self._reading: dict[int, asyncio.Future[None]] = {}  # rounds whose reads are in flight
        self._started: dict[int, float] = {}  # account -> when its latest reads were admitted
        self._rereads: dict[int, int] = {}  # account -> reads again so far for its round
        self._serving: set[Priority] = set()
        self._batch_done = asyncio.Event()
        self._hot_admitted = asyncio.Event()  # the hot class admitted a batch, or has none
        self.batches = 0  # batches read (for tests and the bench)

    def waiting(self) -> int:
        """Accounts waiting for a round (not counting those being read)."""
        return sum(len(w) for w in self._waiting.values())

    async def reconcile(self, account_id: int, since: float | None = None) -> None:
        """Return once a snapshot of ``account_id`` read at or after ``since`` (monotonic s;
        default now) was handed over, or failed."""
        since = self._monotonic() if since is None else since
        waiting = any(account_id in w for w in self._waiting.values())
        if not waiting and self._started.get(account_id, float("-inf")) >= since:
            reading = self._reading.get(account_id)  # its latest reads started late enough
            if reading is not None:
                await asyncio.shield(reading)
            return
        await asyncio.shield(self._join(account_id))

    def _join(self, account_id: int) -> asyncio.Future[None]:
        hot, cold = self._waiting[Priority.RECONCILE_HOT], self._waiting[Priority.RECONCILE]
        future = hot.get(account_id)
        cls = Priority.RECONCILE_HOT
        if future is None:
            future = cold.get(account_id)
            is_hot = self._hot(account_id)
            if future is None:
                future = asyncio.get_running_loop().create_future()
                (hot if is_hot else cold)[account_id] = future
            elif is_hot:  # waiting cold and hot now: it moves up, with its waiters
                hot[account_id] = cold.pop(account_id)
            if not is_hot:
                cls = Priority.RECONCILE
        if cls not in self._serving:
            self._serving.add(cls)
            self._spawn(self._serve(cls), f"reconcile-{cls.name.lower()}")
        return future

    async def _serve(self, cls: Priority) -> None:
        waiting = self._waiting[cls]
        try:
            with request_priority(cls):
                while waiting:
                    try:
                        await self._serve_once(cls, waiting)
                    except Exception:  # a fault of ours: said loudly, and the accounts wait on
                        _log.exception("reconciliation (%s) failed; again in 1 s", cls.name)
                        await asyncio.sleep(1.0)
        finally:
            self._serving.discard(cls)
            self._hot_admitted.set()

    async def _serve_once(self, cls: Priority, waiting: dict[int, asyncio.Future[None]]) -> None:
        """Admit and start reading one batch of ``cls``, or wait for a reason to."""
        if cls is Priority.RECONCILE and self._hot_to_admit():
            # Hot accounts first: the cold class would take the room they need.
            self._hot_admitted.clear()
            await self._hot_admitted.wait()
            return
        batch = [a for a in waiting if a not in self._reading][: self._max_batch]
        if not batch:  # all of them are being read: their next round follows
            self._batch_done.clear()
            await self._batch_done.wait()
            return
        least = requests_for(min(len(batch), MIN_BATCH))
        admission = await self._admit(requests_for(len(batch)), least)
        # Whoever waits now, up to what was admitted (one may have moved up to the hot class
        # meanwhile). Requests from now on need the next round.
        fits = (admission.count - 1) // READS_PER_ACCOUNT
        ready = [a for a in waiting if a not in self._reading][:fits]
        if not ready:
            with admission:  # nobody to read: the requests go back to the window
                return
        rounds = {a: waiting.pop(a) for a in ready}
        started = self._monotonic()
        marks = {}
        for account_id in rounds:
            marks[account_id] = self._admitted(account_id)
            self._started[account_id] = started
        self._reading.update(rounds)
        self._hot_admitted.set()
        self.batches += 1
        name = f"reconcile-batch-{cls.name.lower()}"
        self._spawn(self._read_batch(cls, admission, rounds, marks), name)

    def _hot_to_admit(self) -> bool:
        return any(a not in self._reading for a in self._waiting[Priority.RECONCILE_HOT])

    async def _read_batch(
        self,
        cls: Priority,
        admission: Admission,
        rounds: dict[int, asyncio.Future[None]],
        marks: dict[int, int],
    ) -> None:
        again: dict[int, asyncio.Future[None]] = {}
        handed_on = False
        try:
            ids = list(rounds)
            try:
                with admission:
                    results: Mapping[int, Result] = await self._read(ids)
            except Exception as exc:  # a fault of ours: every account of the batch hears of it
                _log.exception("reading snapshots of %s failed", ids)
                results = dict.fromkeys(ids, exc)
            for account_id, future in rounds.items():
                result, mark = results[account_id], marks[account_id]
                rereads = self._rereads.get(account_id, 0)
                if not isinstance(result, Exception) and self._moved(account_id, mark):
                    if rereads < MAX_REREADS:
                        self._rereads[account_id] = rereads + 1
                        again[account_id] = future
                        continue
                    _log.info("account %s: events kept coming during its reads", account_id)
                self._rereads.pop(account_id, None)
                try:
                    await self._deliver(account_id, result, mark)
                except Exception:  # one account's hand-over must not cost the others theirs
                    _log.exception("account %s: the snapshot was not handed over", account_id)
                finally:
                    if not future.done():
                        future.set_result(None)
            for account_id in rounds:
                del self._reading[account_id]
            for account_id, future in again.items():
                self._read_again(cls, account_id, future)
            handed_on = True
        finally:
            if not handed_on:  # cancelled (the daemon stops): nobody waits for a read any more
                for account_id, future in rounds.items():
                    self._reading.pop(account_id, None)
                    future.cancel()
            self._batch_done.set()

    def _read_again(self, cls: Priority, account_id: int, future: asyncio.Future[None]) -> None:
        """The round's waiters wait for the next read, joining any round already waiting."""
        waiting = next((w[account_id] for w in self._waiting.values() if account_id in w), None)
        if waiting is None:
            self._waiting[cls][account_id] = future
            if cls not in self._serving:
                self._serving.add(cls)
                self._spawn(self._serve(cls), f"reconcile-{cls.name.lower()}")
            return

        def chain(done: asyncio.Future[None]) -> None:
            if not future.done():
                future.set_result(None)

        waiting.add_done_callback(chain)
