"""Carries the engine's intents out against the broker (RULES.md §5).

Each action is journalled before it is sent and its outcome after. The first attempt for a
cause acts on what the engine's ledger knows (speed matters: a breach is enforced in
milliseconds); any later attempt for the same cause reads the broker's state first, so a close
is never replayed blindly onto a position that is already flat (that could open the opposite
position). Confirmation proper comes from the broker's events: the engine re-proposes an
action whose effect it does not see within ``retry_after``.

Never giving up (RULES.md §5): a refused or failed attempt is retried here, with capped backoff
and equal jitter (0.25 s doubling to 5 s; ``Retry-After`` obeyed when longer), reading the
broker before each try, for as long as the engine still has the cause in flight; a circuit
breaker that is open only paces the tries. Every request it makes goes first in the REST
budget (``Priority.ENFORCEMENT``, projectx/rate_limit.py). One task per cause: a re-proposal
while one runs is absorbed by it. Idempotent against the broker: a reduction recomputes what
is left to do from the broker's size and the size the rule wants kept; two closes of one
position are never in flight together, whichever rule or lock asks (the second waits, then
reads the broker); a RULE-008 close reads the broker's open orders and a working stop there
cancels it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, Protocol, assert_never

from risk_manager.domain.actions import (
    Alert,
    AnyAction,
    CancelOrder,
    ClosePosition,
    Flatten,
    LockAccount,
    ModifyOrder,
    PlaceOrder,
    action_to_dict,
)
from risk_manager.domain.enums import OrderSide, OrderType
from risk_manager.domain.error_codes import (
    CancelOrderErrorCode,
    ClosePositionErrorCode,
    PartialClosePositionErrorCode,
)
from risk_manager.domain.errors import BrokerRefused, RetryLater, RiskManagerError
from risk_manager.domain.models import Order, Position
from risk_manager.engine.inflight import cause_key
from risk_manager.projectx.backoff import backoff_delay
from risk_manager.projectx.rate_limit import Priority, request_priority
from risk_manager.runtime.durable import DurableWrites, in_thread
from risk_manager.runtime.enforcement_first import EnforcementFirst
from risk_manager.runtime.logs import ENFORCEMENT
from risk_manager.store.db import grouped
from risk_manager.store.ports import JournalStore
from risk_manager.store.records import JournalOutcome
from risk_manager.types import Clock, Sleep

_log = logging.getLogger(__name__)
_record = logging.getLogger(ENFORCEMENT)  # the enforcement log: every action's outcome


class Broker(Protocol):
    """The part of :class:`~risk_manager.projectx.client.ProjectXClient` enforcement uses."""

    async def search_open_positions(self, account_id: int) -> list[Position]: ...
    async def search_open_orders(self, account_id: int) -> list[Order]: ...
    async def cancel_order(self, account_id: int, order_id: int) -> None: ...
    async def close_position(self, account_id: int, contract_id: str) -> None: ...
    async def partial_close_position(
        self, account_id: int, contract_id: str, size: int
    ) -> None: ...
    async def place_order(
        self,
        account_id: int,
        contract_id: str,
        type: OrderType,
        side: OrderSide,
        size: int,
        *,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        custom_tag: str | None = None,
    ) -> int: ...
    async def modify_order(
        self,
        account_id: int,
        order_id: int,
        *,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> None: ...
    async def search_orders(
        self, account_id: int, start: datetime, end: datetime | None = None
    ) -> list[Order]: ...


@dataclass(frozen=True, slots=True)
class Book:
    """What the engine's ledger knows of one account when the action was proposed."""

    positions: Sequence[Position] = ()
    orders: Sequence[Order] = ()
    made: float = field(default_factory=time.monotonic)  # when it was read (monotonic s)


Outcome = tuple[JournalOutcome, str]
Cause = tuple[object, ...]

RETRY_BASE = 0.25  # seconds: the first retry of a failed attempt
RETRY_CAP = 5.0  # seconds: the longest wait between tries while the action is required
TAG_LOOKBACK = timedelta(days=2)  # how far back an earlier attempt under a tag is looked for
SENT_KEPT = 100  # the latest sends kept in ``Enforcer.sent``
_NOTHING: frozenset[Cause] = frozenset()  # no cause in flight
OnOutcome = Callable[[AnyAction, JournalOutcome, str], None]

# Codes that mean "already done": the position is gone, the order is gone.
_ALREADY_FLAT = {
    ("Position/closeContract", int(ClosePositionErrorCode.POSITION_NOT_FOUND)),
    ("Position/partialCloseContract", int(PartialClosePositionErrorCode.POSITION_NOT_FOUND)),
}
_ALREADY_GONE = {
    ("Order/cancel", int(CancelOrderErrorCode.ORDER_NOT_FOUND)),
    ("Order/cancel", int(CancelOrderErrorCode.UNKNOWN_ERROR)),  # seen for filled/cancelled
}


def _sends_on_book(action: AnyAction, book: Book) -> bool:
    """Whether a first attempt (no broker read) sends a request: ``_send``'s book checks."""
    match action:
        case Flatten():
            orders = any(o.is_cancellable for o in book.orders)
            return orders or any(p.size > 0 for p in book.positions)
        case ClosePosition():
            return any(p.contract_id == action.contract_id and p.size > 0 for p in book.positions)
        case CancelOrder() | PlaceOrder() | ModifyOrder():
            return True
        case LockAccount() | Alert():
            return False
        case _:
            assert_never(action)


class Enforcer:
    def __init__(
        self,
        broker: Broker,
        journal: JournalStore,
        clock: Clock,
        *,
        on_outcome: OnOutcome | None = None,
        run_blocking: Callable[..., Awaitable[Any]] = in_thread,
        sleep: Sleep = asyncio.sleep,
        retry_base: float = RETRY_BASE,
        retry_cap: float = RETRY_CAP,
        first: EnforcementFirst | None = None,
    ) -> None:
        self._broker = broker
        self._journal = journal
        self._clock = clock
        self.on_outcome = on_outcome
        self._sleep = sleep
        self._retry_base = retry_base
        self._retry_cap = retry_cap
        self._attempted: set[Cause] = set()
        # the engine's causes in flight; None: not told (never mutated: it is replaced)
        self._wanted: Collection[Cause] | None = None
        self._running: dict[Cause, asyncio.Task[None]] = {}
        self._closing: dict[tuple[int, str], asyncio.Lock] = {}  # one close per position
        self._closed_at: dict[tuple[int, str], float] = {}  # monotonic time of the last close
        # Journal writes that must land but that a send never waits on for long (the store
        # may be full or locked): the owner sets ``durable.on_alert``.
        self.durable = DurableWrites(run_blocking=run_blocking, sleep=sleep, keep=self.keep)
        self._premarked: set[int] = set()  # entries whose sent_at went in with the intent
        # per cause, the broker's latest word: (still required, monotonic time it was read)
        self._word: dict[Cause, tuple[bool, float]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # per task just submitted: done once its first journal write is (``until_journalled``)
        self._journalled: dict[object, asyncio.Future[None]] = {}
        # told while those first journal writes are in flight: the quote fan-out holds its
        # backlog meanwhile (runtime/enforcement_first.py)
        self._first = first
        # The latest sends, (at, what), for tests and the benchmarks; bounded, as the daemon
        # runs for weeks (a list of every send grew ~0.2 KB an enforcement). ``sends`` counts all.
        self.sent: deque[tuple[datetime, str]] = deque(maxlen=SENT_KEPT)
        self.sends = 0

    def submit(self, action: AnyAction, book: Book) -> asyncio.Task[None]:
        """Start carrying ``action`` out; returns the task (kept referenced here). While a
        task for the same cause runs (retrying, say), that task is returned instead: it reads
        the broker before each try, so a second one would only send twice."""
        cause = _cause(action)
        running = self._running.get(cause)
        if running is not None and not running.done():
            return running
        task = asyncio.create_task(
            self.execute(action, book), name=f"enforce-{action.kind}-{action.account_id}"
        )
        self._running[cause] = task
        self._journalled[task] = task.get_loop().create_future()
        if self._first is not None:
            self._first.begin()
        task.add_done_callback(
            lambda t: self._running.pop(cause, None) if self._running.get(cause) is t else None
        )
        task.add_done_callback(self._journal_done)
        self.keep(task)
        return task

    async def until_journalled(self, tasks: Collection[asyncio.Task[None]], within: float) -> None:
        """Until each of ``tasks`` (from ``submit``) has its first journal write behind it
        (landed, or left to the background by ``DurableWrites``) and has gone on to send,
        ``within`` seconds at most. The actor waits here before the rest of its event's
        bookkeeping and the events queued behind it: that loop work would otherwise run
        between the journal's commit and the send, and hold the journal's thread off the GIL
        before it (docs/PERFORMANCE.md, end-to-end latency). Raises nothing but
        ``CancelledError``."""
        waiting = [f for t in tasks if (f := self._journalled.get(t)) is not None]
        if waiting:
            await asyncio.wait(waiting, timeout=within)

    def _journal_done(self, task: object) -> None:
        """``task``'s first journal write is behind it (or the task ended)."""
        ready = self._journalled.pop(task, None)
        if ready is None:
            return
        if self._first is not None:
            self._first.end()
        if not ready.done():
            ready.set_result(None)

    def forget_settled(self, in_flight: Collection[Cause]) -> None:
        """The engine's causes in flight: retries stop for the others, and proposing one
        again later is a new first attempt (acts on the book), not a retry (reads the broker
        first). Called after every event an actor handles (a quote's to each account)."""
        if not in_flight and not self._attempted and not self._word and not self._running:
            self._wanted = _NOTHING  # nothing in flight, nothing to forget: the usual event
            return
        self._wanted = set(in_flight)
        if self._attempted:
            self._attempted.intersection_update(in_flight)
        for cause in [c for c in self._word if c not in self._wanted]:
            del self._word[cause]
        # A task still sleeping in backoff for a settled cause ends when it wakes; the same
        # cause proposed anew (a re-entry) gets a fresh task, not that one's long backoff.
        for cause in [c for c in self._running if c not in self._wanted]:
            del self._running[cause]

    def _still_wanted(self, cause: Cause) -> bool:
        mine = self._running.get(cause)
        if mine is not None and mine is not asyncio.current_task():
            return False  # superseded: the cause was settled and proposed anew meanwhile
        return self._wanted is None or cause in self._wanted

    def broker_word(self, cause: Cause) -> tuple[bool, float] | None:
        """What the broker last said of ``cause``'s action: (still required, when, in
        ``time.monotonic`` seconds), or None before any attempt. Required: the last attempt
        went on to send a request (on the broker's read, or on the ledger's book for a first
        attempt); not required: the broker confirmed it, or its read showed nothing left to
        do. A read that failed (a 429 storm, say) changes nothing: the word before it stands."""
        return self._word.get(cause)

    def _said(self, cause: Cause, required: bool) -> None:
        self._word[cause] = (required, time.monotonic())

    def keep(self, task: asyncio.Future[Any]) -> None:
        """Hold a reference to a follow-up task until it ends."""
        self._tasks.add(task)  # type: ignore[arg-type]
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Future[Any]) -> None:
        # Nobody awaits these: an exception (a journal or fill write that failed, say) would
        # otherwise surface only when the task is garbage-collected, if ever.
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            name = task.get_name() if isinstance(task, asyncio.Task) else "follow-up"
            _log.error("%s failed: %s", name, type(exc).__name__, exc_info=exc)

    async def drain(self, within: float) -> None:
        """Wait for actions in flight (used at shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=within)

    async def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def execute(self, action: AnyAction, book: Book) -> None:
        """Carry ``action`` out, retrying a failed attempt with backoff while the engine still
        has its cause in flight (RULES.md §5: never give up while a rule requires it).

        ``book`` is the account's positions and orders as the engine saw them when it proposed
        the action; a retry reads the broker instead (API reference §6/§7 searches). Journalled
        before it is sent (the journal write never delays the send: runtime/durable.py); the
        outcome goes to ``on_outcome``. Returns when the action is confirmed, found done
        already, or no longer wanted; raises nothing for broker failures (they are retried,
        escalated by the engine after ``rules.max_retries``), only ``CancelledError``. Its
        requests, the reads that verify it included, go first in the REST budget."""
        with request_priority(Priority.ENFORCEMENT):
            await self._execute(action, book)

    async def _execute(self, action: AnyAction, book: Book) -> None:
        cause = _cause(action)
        failures = 0
        while True:
            outcome, wait = await self._attempt(action, book, cause)
            if outcome is not JournalOutcome.FAILED:
                return
            if not self._still_wanted(cause):
                return  # done meanwhile (the engine saw it), or no longer required
            delay = backoff_delay(failures, base=self._retry_base, cap=self._retry_cap)
            failures += 1
            await self._sleep(max(delay, wait or 0.0))
            if not self._still_wanted(cause):
                return

    async def _attempt(
        self, action: AnyAction, book: Book, cause: Cause
    ) -> tuple[JournalOutcome, float | None]:
        """One journalled try: (outcome, the broker's Retry-After in seconds if it gave one)."""
        retry = cause in self._attempted
        self._attempted.add(cause)
        # A first attempt decides from the book alone: when it will send, the intent and its
        # send time go in one commit, so one fsync precedes the request instead of two.
        now = self._clock()
        sends = not retry and _sends_on_book(action, book)
        record = _Record()
        landed, entry = await self.durable.soon(
            partial(
                self._journal.journal_intent,
                action.account_id,
                action.rule,
                action.kind,
                action_to_dict(action),
                now,
                sent_at=now if sends else None,
            ),
            what=f"the journal entry of a {action.kind}",
            then=partial(self._intent_landed, record),
            urgent=True,  # the send waits for it: a thread of its own (runtime/durable.py)
        )
        if landed:
            record.entry = entry
            if sends:
                self._premarked.add(entry)
        # the actor goes on (``until_journalled``); this task sends first (no await before)
        self._journal_done(asyncio.current_task())
        wait: float | None = None
        try:
            outcome, detail = await self._send(action, book, read_first=retry, entry=record.entry)
        except RetryLater as exc:
            outcome, detail, wait = JournalOutcome.FAILED, f"RetryLater: {exc}", exc.retry_after
        except BrokerRefused as exc:
            outcome, detail = JournalOutcome.FAILED, str(exc)
        except RiskManagerError as exc:
            outcome, detail = JournalOutcome.FAILED, f"{type(exc).__name__}: {exc}"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never let one action kill the daemon
            _log.exception("enforcement of %s failed unexpectedly", action.kind)
            outcome, detail = JournalOutcome.FAILED, f"unexpected {type(exc).__name__}: {exc}"
        if outcome is JournalOutcome.CONFIRMED:
            self._said(cause, False)
        if record.entry is not None:
            self._premarked.discard(record.entry)
            await self._write_outcome(record.entry, outcome, detail)
        else:  # written once the intent lands
            record.outcome = (outcome, detail)
        if outcome is JournalOutcome.FAILED:
            _record.warning(
                "account %s %s %s%s failed (retrying while required): %s",
                action.account_id,
                action.rule,
                describe_action(action),
                " (retry)" if retry else "",
                detail,
            )
        else:
            _record.info(
                "account %s %s %s%s: %s, %s",
                action.account_id,
                action.rule,
                describe_action(action),
                " (retry)" if retry else "",
                outcome.value,
                detail,
            )
        if self.on_outcome is not None:
            self.on_outcome(action, outcome, detail)
        return outcome, wait

    async def _write_outcome(self, entry: int, outcome: JournalOutcome, detail: str) -> None:
        # Grouped: committed with the next write (the next breach's journal intent, say), so
        # no breach's journal write waits behind an outcome's own fsync (docs/STORE.md).
        await self.durable.soon(
            grouped(self._journal.journal_outcome),
            entry,
            outcome,
            detail,
            self._clock(),
            what="an enforcement outcome",
        )

    def _intent_landed(self, record: _Record, entry: int) -> None:
        """A journal intent that landed late: its outcome, if known by now, follows it."""
        record.entry = entry
        if record.outcome is not None:
            outcome, detail = record.outcome
            self.keep(asyncio.ensure_future(self._write_outcome(entry, outcome, detail)))

    async def _mark_sent(self, entry: int | None, what: str) -> None:
        now = self._clock()
        self.sent.append((now, what))
        self.sends += 1
        if entry is None:
            return  # the journal is behind (store not writable): its outcome says enough
        if entry in self._premarked:  # journalled with its intent
            self._premarked.discard(entry)
            return
        await self.durable.soon(self._journal.journal_sent, entry, now, what="a send time")

    async def _send(
        self, action: AnyAction, book: Book, *, read_first: bool, entry: int | None
    ) -> Outcome:
        acct = action.account_id
        cause = _cause(action)
        match action:
            case Flatten():
                return await self._flatten(
                    acct, book, read_first=read_first, entry=entry, cause=cause
                )
            case ClosePosition():
                return await self._send_close(action, book, read_first, entry, cause)
            case CancelOrder():
                return await self._send_cancel(action, read_first, entry, cause)
            case PlaceOrder():
                return await self._send_place(action, read_first, entry, cause)
            case ModifyOrder():
                return await self._send_modify(action, book, entry, cause)
            case LockAccount() | Alert():  # carried out by the actor, never sent
                return JournalOutcome.CONFIRMED, "nothing to send"
            case _:
                assert_never(action)

    async def _send_close(
        self, action: ClosePosition, book: Book, read_first: bool, entry: int | None, cause: Cause
    ) -> Outcome:
        acct = action.account_id
        positions, as_of = book.positions, book.made
        if read_first:
            as_of = time.monotonic()
            positions = await self._broker.search_open_positions(acct)
        if not any(p.contract_id == action.contract_id and p.size > 0 for p in positions):
            return JournalOutcome.CONFIRMED, "already flat: nothing to close"
        if action.unless_stop and await self._stop_working(acct, action.contract_id):
            return JournalOutcome.CONFIRMED, "a working stop found at the broker: not closed"
        self._said(cause, True)
        return await self._close(
            acct, action.contract_id, action.size, action.keep, positions, as_of, entry
        )

    async def _send_cancel(
        self, action: CancelOrder, read_first: bool, entry: int | None, cause: Cause
    ) -> Outcome:
        acct = action.account_id
        if read_first:
            open_ids = {o.id for o in await self._broker.search_open_orders(acct)}
            if action.order_id not in open_ids:
                return JournalOutcome.CONFIRMED, "order no longer working"
        self._said(cause, True)
        await self._mark_sent(entry, f"cancel {action.order_id}")
        return await self._cancel(acct, action.order_id)

    async def _send_place(
        self, action: PlaceOrder, read_first: bool, entry: int | None, cause: Cause
    ) -> Outcome:
        acct = action.account_id
        if read_first:
            tags = {o.custom_tag for o in await self._broker.search_open_orders(acct)}
            if action.custom_tag in tags:
                return JournalOutcome.CONFIRMED, "order already working"
        self._said(cause, True)
        await self._mark_sent(entry, f"place {action.custom_tag}")
        is_stop = action.type in (OrderType.STOP, OrderType.TRAILING_STOP)
        try:
            order_id = await self._broker.place_order(
                acct,
                action.contract_id,
                action.type,
                action.side,
                action.size,
                limit_price=None if is_stop else action.price,
                stop_price=action.price if is_stop else None,
                custom_tag=action.custom_tag,
            )
        except BrokerRefused:
            earlier = await self._placed_earlier(acct, action.custom_tag)
            if earlier is None:
                raise
            return JournalOutcome.CONFIRMED, (
                f"placed earlier as order {earlier.id} ({earlier.status.name.lower()}): "
                f"tag {action.custom_tag} is taken"
            )
        return JournalOutcome.CONFIRMED, f"placed order {order_id}"

    async def _send_modify(
        self, action: ModifyOrder, book: Book, entry: int | None, cause: Cause
    ) -> Outcome:
        self._said(cause, True)
        await self._mark_sent(entry, f"modify {action.order_id}")
        order = next((o for o in book.orders if o.id == action.order_id), None)
        is_stop = order is None or order.type.is_stop
        await self._broker.modify_order(
            action.account_id,
            action.order_id,
            limit_price=None if is_stop else action.price,
            stop_price=action.price if is_stop else None,
        )
        return JournalOutcome.CONFIRMED, "modified"

    async def _placed_earlier(self, acct: int, tag: str | None) -> Order | None:
        """The order an earlier attempt placed under ``tag`` (any status), or None.

        A tag is unique across the account (API reference, Order/place ``customTag``), so a
        place refused after a reply that got lost is refused for good (code 2, whatever the
        message says); the broker's day of orders tells whether our order went through, and a
        retry with the same tag would be refused forever."""
        if tag is None:
            return None
        since = self._clock() - TAG_LOOKBACK
        placed = await self._broker.search_orders(acct, since)
        return next((o for o in placed if o.custom_tag == tag), None)

    async def _flatten(
        self, acct: int, book: Book, *, read_first: bool, entry: int | None, cause: Cause
    ) -> Outcome:
        orders: Sequence[Order] = book.orders
        positions: Sequence[Position] = book.positions
        as_of = book.made
        if read_first:
            as_of = time.monotonic()
            orders, positions = await asyncio.gather(
                self._broker.search_open_orders(acct), self._broker.search_open_positions(acct)
            )
        # Ours too: a stop left behind a closed position could open a new one.
        working = [o for o in orders if o.is_cancellable]
        open_positions = [p for p in positions if p.size > 0]
        if not working and not open_positions:
            return JournalOutcome.CONFIRMED, "already flat with no working orders"
        self._said(cause, True)
        await self._mark_sent(entry, f"flatten {acct}")
        # Orders first: a resting order must not fill after the close and reopen a position.
        cancels = await asyncio.gather(
            *(self._cancel(acct, o.id) for o in working), return_exceptions=True
        )
        closes = await asyncio.gather(
            *(
                self._close(acct, p.contract_id, None, None, positions, as_of)
                for p in open_positions
            ),
            return_exceptions=True,
        )
        failures = [str(r) for r in (*cancels, *closes) if isinstance(r, BaseException)]
        if failures:
            return JournalOutcome.FAILED, "; ".join(failures)
        # Say what really happened: a position may have gone flat on its own meanwhile.
        details = [r[1] for r in (*cancels, *closes) if not isinstance(r, BaseException)]
        return JournalOutcome.CONFIRMED, "; ".join(details)

    async def _close(
        self,
        acct: int,
        contract_id: str,
        size: int | None,
        keep: int | None,
        positions: Sequence[Position],
        as_of: float,
        entry: int | None = None,
    ) -> Outcome:
        """Close (``size`` None) or reduce one position; never two closes of it at once.

        ``positions`` is what the caller decided on, as of ``as_of`` (monotonic seconds). A
        reduction sends what is left to do from that size down to ``keep``. A close that had
        to wait for another close of the same position, or whose positions are older than the
        last close sent for it, reads the broker again first (that close may have done it)."""
        key = (acct, contract_id)
        lock = self._closing.setdefault(key, asyncio.Lock())
        waited = lock.locked()
        async with lock:
            closed_at = self._closed_at.get(key)
            if waited or (closed_at is not None and closed_at >= as_of):
                positions = await self._broker.search_open_positions(acct)
            held = next((p for p in positions if p.contract_id == contract_id), None)
            if held is None or held.size <= 0:
                return JournalOutcome.CONFIRMED, f"{contract_id} already flat"
            if keep is not None:
                size = held.size - keep
                if size <= 0:
                    return JournalOutcome.CONFIRMED, (
                        f"{contract_id} already at {held.size} (wanted ≤ {keep}): nothing to send"
                    )
                if size >= held.size:
                    size = None
            if entry is not None:
                await self._mark_sent(entry, f"close {contract_id}")
            try:
                if size is None:
                    await self._broker.close_position(acct, contract_id)
                else:
                    await self._broker.partial_close_position(acct, contract_id, size)
                self._closed_at[key] = time.monotonic()
            except BrokerRefused as exc:
                if (exc.endpoint, exc.code) in _ALREADY_FLAT:
                    return JournalOutcome.CONFIRMED, f"{contract_id} already flat"
                raise
        sized = f" x{size}" if size else ""
        return JournalOutcome.CONFIRMED, f"closed {contract_id}{sized}"

    async def _stop_working(self, acct: int, contract_id: str) -> bool:
        """RULE-008's re-check: a working stop on the exit side of the broker's position."""
        orders, positions = await asyncio.gather(
            self._broker.search_open_orders(acct), self._broker.search_open_positions(acct)
        )
        held = next((p for p in positions if p.contract_id == contract_id), None)
        if held is None:
            return False
        return any(
            o.contract_id == contract_id
            and o.type.is_stop
            and o.is_working
            and o.side is held.exit_side
            for o in orders
        )

    async def _cancel(self, acct: int, order_id: int) -> Outcome:
        try:
            await self._broker.cancel_order(acct, order_id)
        except BrokerRefused as exc:
            if (exc.endpoint, exc.code) in _ALREADY_GONE:
                return JournalOutcome.CONFIRMED, f"order {order_id} already gone"
            raise
        return JournalOutcome.CONFIRMED, f"cancelled order {order_id}"


@dataclass(slots=True)
class _Record:
    """One attempt's journal entry id, once known, and its outcome, once known."""

    entry: int | None = None
    outcome: tuple[JournalOutcome, str] | None = None


def describe_action(action: AnyAction) -> str:
    """A broker action in a few words for the enforcement log: ``close_position CON.F.US.MNQ
    size 2``, ``cancel_order 812``."""
    match action:
        case ClosePosition():
            size = "" if action.size is None else f" size {action.size}"
            return f"{action.kind} {action.contract_id}{size}"
        case CancelOrder():
            return f"{action.kind} {action.order_id}"
        case PlaceOrder():
            return f"{action.kind} {action.contract_id} size {action.size}"
        case ModifyOrder():
            return f"{action.kind} {action.order_id}"
        case Flatten() | LockAccount() | Alert():
            return action.kind
        case _:
            assert_never(action)


def _cause(action: AnyAction) -> Cause:
    """The engine's cause of ``action`` (one task per cause), or one of its own."""
    return cause_key(action) or (action.kind, action.account_id, id(action))
