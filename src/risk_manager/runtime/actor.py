"""One actor per guarded account: a bounded queue feeding the pure engine (DESIGN.md style 8).

The actor is the only code that touches its account's engine. For each event it runs
``engine.process(event, now)``, writes every new lock durably *before* anything is sent
(RULES.md §5), hands the other actions to the enforcer, records fills in the store and, when
the engine's rule memory changed, stores it (after the actions are carried out). When
the queue is idle it ticks the engine at its next wakeup, so timers (grace periods, cooldown
ends, session edges, retries) fire on time without a separate scheduler task.

An actor built ``reconciled=False`` (the daemon's) waits for its account's first snapshot
before anything reaches the engine: broker events offered before the snapshot's reads were
admitted are dropped (the reads hold them), and those that arrived while the reads were in
flight are handled after the snapshot, in order (docs/RUNTIME.md "Start").
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, assert_never

from risk_manager.domain.actions import (
    Alert,
    AnyAction,
    CancelOrder,
    ClosePosition,
    Flatten,
    LockAccount,
    ModifyOrder,
    PlaceOrder,
    Severity,
    action_to_dict,
)
from risk_manager.domain.errors import AuthenticationFailed
from risk_manager.domain.events import (
    AccountEvent,
    AuthFailureEvent,
    ClockTick,
    Event,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    SnapshotEvent,
    TradeEvent,
)
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Trade
from risk_manager.engine.engine import Engine
from risk_manager.engine.inflight import Key
from risk_manager.runtime.alerts import AlertChannels
from risk_manager.runtime.enforcer import Book, Enforcer
from risk_manager.runtime.logs import ENFORCEMENT
from risk_manager.runtime.metrics import Metrics
from risk_manager.runtime.rest_marks import FetchClose, RestMarks
from risk_manager.store.db import grouped
from risk_manager.store.ports import StorePort
from risk_manager.store.records import JournalOutcome
from risk_manager.types import Clock

_log = logging.getLogger(__name__)
_record = logging.getLogger(ENFORCEMENT)  # the enforcement log: every lock made

MAX_IDLE_TICK = 1.0  # seconds: the engine is ticked at least this often (lock countdowns, gaps)
IDLE_SLACK = 0.001  # seconds: an idle timer firing this early counts as on time (clock grain)
IDLE_SPREAD = 0.5  # seconds: the accounts' idle ticks are spread over this much (idle_phase)
_GOLDEN = 0.6180339887498949  # consecutive account ids land far apart on the spread
FILL_WRITE_DELAY = 0.05  # seconds: fills are stored just after a burst of events
# Seconds the actor waits at most for the journal writes of the enforcement it submitted
# (``Enforcer.until_journalled``) before its bookkeeping: an fsync normally; a stuck store
# holds the account's next events no longer than this (the enforcement goes on regardless).
JOURNAL_HOLD = 0.05
# Events whose bookkeeping (metrics, fills handed to their writer, rule memory, the
# listeners) may wait for the events queued behind them (``AccountActor.handle``'s ``more``):
# at most this many, so a queue that never drains still has its bookkeeping done.
BOOKKEEPING_BATCH = 32
# The broker on the book; matched by exact class (``type(event) in``): the events are final.
_BOOK_EVENT_TYPES = frozenset({PositionEvent, OrderEvent, TradeEvent, SnapshotEvent})
BROKER_STATE = (AccountEvent, OrderEvent, PositionEvent, TradeEvent)  # what a snapshot re-reads


def idle_phase(account_id: int) -> float:
    """Seconds (in ``[0, IDLE_SPREAD)``, fixed per account) taken off ``MAX_IDLE_TICK`` for
    this account's idle tick: 500 actors that start waiting in one loop iteration (a batch of
    events, a start) would otherwise tick in one iteration a second later, and again every
    second, holding the loop ~100 ms each time (docs/PERFORMANCE.md "Capacity"). Only the idle
    "nothing due" tick moves, and only earlier: a due timer is ticked at its time."""
    return (account_id * _GOLDEN) % 1.0 * IDLE_SPREAD


class AccountActor:
    def __init__(
        self,
        account_id: int,
        engine: Engine,
        enforcer: Enforcer,
        store: StorePort,
        clock: Clock,
        metrics: Metrics,
        *,
        queue_size: int = 10_000,
        on_change: Callable[[int], None] | None = None,
        on_lock: Callable[[int], None] | None = None,
        alerts: AlertChannels | None = None,
        fetch_close: FetchClose | None = None,
        reconciled: bool = True,
    ) -> None:
        self.account_id = account_id
        # False until the first snapshot is handled (``first_snapshot``): the engine knows
        # nothing of the broker before it, so no broker event may reach it first.
        self.reconciled = reconciled
        self.reconciled_at: float | None = None  # monotonic s of the first snapshot handled
        self._broker_events = 0  # broker events enqueued (the first snapshot's marks count them)
        self._reads_admitted = False  # a first snapshot's reads have started
        self.alerts = alerts
        self.engine = engine
        self.enforcer = enforcer
        self.store = store
        self._clock = clock
        self._metrics = metrics
        self._on_change = on_change
        self._on_lock = on_lock
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=queue_size)
        self.last_event_at: datetime | None = None
        self.dropped_quotes = 0
        self.needs_reconcile = False
        self._pending_fills: list[tuple[Trade, date]] = []
        self._owed: list[Event] = []  # events handled whose bookkeeping is still to do
        self._owed_change = False  # an owed event carried actions out (the listeners hear)
        self._fill_writer: asyncio.Task[None] | None = None
        self._external_rows = True  # the store may hold external lock rows (restored ones)
        self._contracts: frozenset[str] | None = None  # None: to be read from the engine
        self._idle_timer: asyncio.TimerHandle | None = None  # ticks the engine when idle
        self._idle_until = 0.0  # loop time: a tick is due if no event comes before
        self._waiting = False  # the actor waits on its queue (the idle timer may tick it)
        self._idle_tick = MAX_IDLE_TICK - idle_phase(account_id)  # s: the longest idle wait
        self._rest_marks = (
            None
            if fetch_close is None
            else RestMarks(account_id, fetch_close, self.offer, clock, enforcer.keep)
        )
        self._rest_marks_checked = 0.0  # monotonic seconds
        # rule memory: the version last handed to the store, the latest copy, and its writer
        self.memory_version = engine.memory_version(account_id)
        self._memory: dict[str, dict[str, Any]] | None = None
        self._memory_dirty = False
        self._memory_writer: asyncio.Task[None] | None = None
        self._memory_lock = threading.Lock()  # writes land in order: the latest copy last
        # escalations held back while the broker's latest word shows their action done
        self._held: dict[Key, Alert] = {}
        self._book_heard_at = time.monotonic()  # the broker's last word on the book (a hub event)
        self._login_alerted = False  # a refused login already alerted since the last snapshot
        # The actor owns its enforcer: refusals come back to this engine, store outages to
        # this account's alerts.
        enforcer.on_outcome = self.on_outcome
        enforcer.durable.on_alert = self._store_alert

    # -- feeding ------------------------------------------------------------------------------

    def offer(self, event: Event) -> None:
        """Enqueue without waiting (called from hub receive loops).

        A full queue drops a quote (a newer one follows) but never a user event: those
        mark the account for reconciliation, which re-reads the broker's state. Before the
        first snapshot's reads start, a broker event is dropped: those reads hold it.
        """
        broker_state = isinstance(event, BROKER_STATE)
        if broker_state and not self.reconciled and not self._reads_admitted:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            if isinstance(event, QuoteEvent):
                self.dropped_quotes += 1
            else:
                self.needs_reconcile = True
                _log.error("account %s queue full: will reconcile from REST", self.account_id)
        else:
            if broker_state:
                self._broker_events += 1

    def reads_admitted(self) -> int:
        """The reconciliation's reads of this account start now. Returns the mark to hand
        ``first_snapshot`` with their snapshot: the broker events enqueued before them."""
        self._reads_admitted = True
        return self._broker_events

    def broker_events_since(self, mark: int) -> int:
        """Broker events enqueued since ``reads_admitted`` returned ``mark``."""
        return self._broker_events - mark

    async def first_snapshot(self, snapshot: SnapshotEvent, mark: int) -> None:
        """Hand the engine its first snapshot, before the actor runs (then start ``run``).

        The broker events queued before its reads started (``mark``, from ``reads_admitted``)
        are dropped: the reads hold them. Those that arrived while the reads were in flight
        stay queued behind it, in order: an engine that knows nothing of the account would
        take a lone fill for the day's P&L."""
        kept: list[Event] = []
        seen = 0
        while not self.queue.empty():
            event = self.queue.get_nowait()
            if isinstance(event, BROKER_STATE):
                seen += 1
                if seen <= mark:
                    continue
            kept.append(event)
        for event in kept:  # no await since the drain: nothing was offered in between
            self.queue.put_nowait(event)
        await self.handle(snapshot)
        self.reconciled = True
        self.reconciled_at = time.monotonic()

    # -- running ------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            queue = self.queue
            while True:
                # a queued event at once (no coroutine to wait in: the usual case in a burst)
                event = queue.get_nowait() if queue.qsize() else await self._next_event()
                try:
                    await self.handle(event, more=bool(queue.qsize()))
                except asyncio.CancelledError:
                    raise
                except Exception:  # one bad event must never stop the guard
                    _log.exception(
                        "account %s: event %s failed", self.account_id, type(event).__name__
                    )
                if self._owed and self.queue.empty():  # owed by the events before a bad one
                    self._bookkeeping(self._clock())
        finally:  # stopped (cancelled): the owed fills still go to their writer, drained
            if self._owed:
                self._bookkeeping(self._clock())

    async def _next_event(self) -> Event:
        """The next queued event, or a ``ClockTick`` once the queue has been idle until the
        engine's next wakeup (``MAX_IDLE_TICK`` at most)."""
        if not self.queue.empty():
            # Queued events come first whatever the timers say (a wait would return them at
            # once too): no wakeup to compute, no timeout to arm, on the breach path
            # (docs/PERFORMANCE.md); the tick follows once the queue is drained.
            return self.queue.get_nowait()
        now = self._clock()
        wake = self.engine.next_wakeup()
        idle = self._idle_tick  # nothing due sooner: this account's own phase, never aligned
        delay = idle if wake is None else (wake - now).total_seconds()
        delay = max(0.0, min(delay, idle))
        # One idle timer, moved only when the tick is due sooner: an ``asyncio.timeout`` per
        # wait cost a timer made and cancelled for every quote, a tenth of the loop's time at
        # 500 accounts (docs/PERFORMANCE.md "Capacity"). A plain ``get``, not wait_for: on 3.11
        # wait_for drops a cancellation that arrives with an item (gh-86296).
        loop = asyncio.get_running_loop()
        self._idle_until = loop.time() + delay
        timer = self._idle_timer
        if timer is None or timer.when() > self._idle_until:
            if timer is not None:
                timer.cancel()
            self._idle_timer = loop.call_at(self._idle_until, self._idle_over)
        self._waiting = True
        try:
            return await self.queue.get()
        finally:
            self._waiting = False

    def _idle_over(self) -> None:
        """The idle timer: a tick into the queue when the actor still waits and its idle time
        is over; set again for the later time when events came meanwhile."""
        self._idle_timer = None
        if not self._waiting:  # busy (or stopped): its next wait sets the timer
            return
        loop = asyncio.get_running_loop()
        if loop.time() < self._idle_until - IDLE_SLACK:
            self._idle_timer = loop.call_at(self._idle_until, self._idle_over)
        elif self.queue.empty():
            self.queue.put_nowait(ClockTick(self._clock()))

    async def handle(self, event: Event, *, more: bool = False) -> list[AnyAction]:
        """Apply one event to this account's engine and start its actions (without awaiting
        the broker: each runs in the enforcer's own task), returning them. ``event`` is a
        domain event for this account (or a quote of one of its contracts); the engine is
        touched only here, one event at a time (docs/RUNTIME.md "Shape"). Raises nothing for
        the event's content; the event-to-action latency is recorded on ``/metrics``.

        ``more``: events are queued behind this one (``run`` says). The event's bookkeeping
        (its metrics, its fills handed to their writer, the rule memory, the listeners) then
        waits for theirs, and is done once for them all: when one of them has actions (after
        they are carried out: the enforcement's journal write and send come first), when the
        queue is drained, or after ``BOOKKEEPING_BATCH`` events. A breach's frame brings the
        order, fill and order before its position: their bookkeeping was loop work before its
        journal write and send (docs/PERFORMANCE.md, end-to-end latency). The engine, the
        locks, the enforcer's causes and the external locks' rows are never deferred."""
        started = time.perf_counter()
        now = self._clock()
        # The event's class, looked up once (a quote reaches every account holding its
        # contract: this method's own cost, beside the engine's, is paid 500 times a quote).
        kind = type(event)
        if kind in _BOOK_EVENT_TYPES:
            self._book_heard_at = time.monotonic()
            if kind is SnapshotEvent:
                self._login_alerted = False  # REST answers again: a new refusal is news
        actions = self.engine.process(event, now)
        # A quote moves marks and a tick moves time (day rolls, fill pruning, timers), never the
        # ledger's positions or orders: the contracts stay as read (a view per account per tick
        # held the market hub's reader up to 100 ms at 500 accounts: PERFORMANCE.md).
        if kind is not QuoteEvent and kind is not ClockTick:
            self._contracts = None
        in_flight = self.engine.in_flight(self.account_id)
        self.enforcer.forget_settled(in_flight)
        if self._held:
            self._review_held(in_flight)
        if kind is not ClockTick:
            self.last_event_at = now
        if actions:
            await self.carry_out(actions, now)
            self._metrics.observe_latency(time.perf_counter() - started)
            self._owed_change = True
        if kind is AccountEvent or kind is SnapshotEvent:
            await self._end_external_locks(event, now)
        self._owed.append(event)
        if actions or not more or len(self._owed) >= BOOKKEEPING_BATCH:
            self._bookkeeping(now)
        return actions

    def _bookkeeping(self, now: datetime) -> None:
        """The owed events' bookkeeping: their fills handed to the fill writer in the events'
        order, the events counted on ``/metrics`` (one step a kind), the rule memory stored if
        it changed, the REST marks wanted, and the listeners told once (when one was not a
        clock tick, or had actions). Never raises (``_guarded``)."""
        owed, self._owed = self._owed, []
        changed, self._owed_change = self._owed_change, False
        counted: dict[type[Event], int] = {}  # one counter step a kind, not one an event
        for event in owed:
            kind = type(event)
            if kind is not ClockTick:
                counted[kind] = counted.get(kind, 0) + 1
                changed = True
            if kind is TradeEvent or kind is SnapshotEvent:
                self._guarded(self._record_fills, event)
        for kind, n in counted.items():
            self._guarded(self._metrics.event_processed, kind.__name__, n)
        self._guarded(self._persist_memory)
        self._guarded(self._want_rest_marks, now)
        if self._on_change is not None and changed:
            self._guarded(self._on_change, self.account_id)

    def _guarded(self, part: Callable[..., object], *args: Any) -> None:
        """One part of the bookkeeping; a failure is logged and the others still run (it runs
        outside the event that owed it, and must never stop the actor, nor lose the fills of
        the other owed events)."""
        try:
            part(*args)
        except Exception:
            name = getattr(part, "__name__", type(part).__name__)
            _log.exception("account %s: bookkeeping (%s) failed", self.account_id, name)

    def admin_changed(self, now: datetime) -> None:
        """The admin changed the account's engine (rules swapped by a reload, a lock's
        clearing, a manual reset: runtime/control.py): wake the actor for the new timers, and
        show the account again (its view changed although no event came)."""
        self.offer(ClockTick(now))
        if self._on_change is not None:
            self._on_change(self.account_id)

    def _want_rest_marks(self, now: datetime) -> None:
        """At most every ``MAX_IDLE_TICK``: fetch REST stand-in prices the engine wants."""
        if self._rest_marks is None:
            return
        checked = time.monotonic()
        if checked - self._rest_marks_checked < MAX_IDLE_TICK:
            return
        self._rest_marks_checked = checked
        self._rest_marks.request(self.engine.rest_marks_wanted(self.account_id, now))

    async def carry_out(self, actions: list[AnyAction], now: datetime) -> None:
        # Locks first, durably: a crash after this point still finds the lock on restart.
        # A store that cannot take the row within a moment never holds enforcement back: the
        # engine holds the lock in memory and enforces it; the row lands when it can.
        durable = self.enforcer.durable
        locked = False  # a lock's row written: the dashboards are told after the sends
        for action in actions:
            if isinstance(action, LockAccount):
                _record.warning(
                    "account %s LOCKED by %s (%s lock, until %s): %s",
                    action.account_id,
                    action.rule,
                    action.lock_kind.value,
                    "cleared" if action.until is None else action.until.isoformat("T", "seconds"),
                    action.reason,
                )
                self._lock_alert(action)
                landed, _ = await durable.soon(
                    self._persist_lock,
                    action,
                    what=f"the {action.rule} lock",
                    urgent=True,
                    then=self._lock_written,
                )
                locked = locked or landed
        book: Book | None = None
        submitted: list[asyncio.Task[None]] = []
        for action in actions:
            match action:
                case LockAccount():
                    pass  # persisted above; the engine enforces it
                case Alert():
                    if action.cause is not None and self._moot(action.cause):
                        self._hold(action)
                    else:  # never awaited: the actions after it must not wait on its record
                        self._raise(action, now)
                case Flatten() | ClosePosition() | CancelOrder() | PlaceOrder() | ModifyOrder():
                    if book is None:
                        book = self._book()
                    submitted.append(self.enforcer.submit(action, book))
                case _:
                    assert_never(action)
        if submitted:
            # The enforcement just submitted journals (the fsync before the send) and sends
            # before this event's bookkeeping and the events queued behind it: with the loop
            # idle, the journal's thread runs at once and the send follows its commit without
            # waiting for loop work (docs/PERFORMANCE.md, end-to-end latency).
            await self.enforcer.until_journalled(submitted, JOURNAL_HOLD)
        if locked:  # after the enforcement's own journal writes: the read side waits its turn
            self._lock_written(None)

    def _lock_written(self, _row: object) -> None:
        """A lock's row is in the store (now, or late: ``DurableWrites``'s ``then``): the
        dashboards show it at once (``on_lock``: runtime/read_side.py ``mark_lock``)."""
        if self._on_lock is not None:
            self._guarded(self._on_lock, self.account_id)

    def on_outcome(self, action: AnyAction, outcome: JournalOutcome, detail: str) -> None:
        """Enforcer callback: a refusal goes back to the engine (re-propose or escalate)."""
        self._metrics.enforcement(action.rule, outcome.value)
        if outcome is JournalOutcome.FAILED:
            more = self.engine.action_failed(action, self._clock(), detail)
            if more:
                task = asyncio.ensure_future(self.carry_out(more, self._clock()))
                self.enforcer.keep(task)
        if self._held:
            self._review_held(self.engine.in_flight(self.account_id))
        if self._on_change is not None:
            self._on_change(self.account_id)

    # -- escalations: only while the action is still required (docs/RUNTIME.md) ---------------

    def _moot(self, cause: Key) -> bool:
        """The broker's latest word on ``cause``'s action is "done" (or "nothing left to do"):
        the enforcer's last answer or read said so, and no hub event on the book came after
        it. A read that failed says nothing, so the word before it stands."""
        word = self.enforcer.broker_word(cause)
        return word is not None and not word[0] and word[1] >= self._book_heard_at

    def _hold(self, alert: Alert) -> None:
        assert alert.cause is not None
        if alert.cause not in self._held:
            _log.info(
                "account %s: %s escalation held back: the broker's latest word shows it done "
                "(the ledger is behind); sent if it turns out still required",
                self.account_id,
                alert.rule,
            )
        self._held[alert.cause] = alert

    def _review_held(self, in_flight: frozenset[Key]) -> None:
        """Held escalations: dropped once the engine settles their cause; sent once the
        broker's newer word (a failed send, a hub event on the book) shows it required."""
        for cause, alert in list(self._held.items()):
            if cause not in in_flight:
                del self._held[cause]
            elif not self._moot(cause):
                del self._held[cause]
                self._raise(alert, self._clock())

    def reconcile_failed(self, error: BaseException) -> None:
        """The daemon's REST snapshot of this account failed (the daemon logs it and tries
        again). A refused login is RULE-010's critical alert, once until a snapshot succeeds;
        a busy or unreachable gateway (429, 5xx, a timeout) is no news for the trader: the
        broker holds the account as it was, and the next read tells."""
        if isinstance(error, AuthenticationFailed) and not self._login_alerted:
            self._login_alerted = True
            self.offer(AuthFailureEvent(self._clock(), f"reconciliation failed: {error}"))

    @property
    def contracts_unread(self) -> bool:
        """The account's contracts may have changed since ``contracts`` last read them (an
        event that can move positions or orders came since, or they were never read)."""
        return self._contracts is None

    def contracts(self) -> frozenset[str]:
        """Contracts this account has a position or working order in (quotes it needs).

        Asked by the session's quote index (runtime/quote_routes.py) after the account
        changed, which is after every quote and tick too: the engine's view is built again only
        after an event that can change positions or orders (not a quote, not a clock tick).
        """
        if self._contracts is None:
            view = self.engine.view(self.account_id, self._clock())
            self._contracts = frozenset(p.position.contract_id for p in view.positions) | {
                o.contract_id for o in view.orders
            }
        return self._contracts

    def _book(self) -> Book:
        positions, orders = self.engine.book(self.account_id)  # not a view: on the breach's path
        return Book(positions=positions, orders=orders)

    def _persist_lock(self, action: LockAccount) -> None:
        lock = Lock(
            account_id=action.account_id,
            rule=action.rule,
            kind=action.lock_kind,
            reason=action.reason,
            created_at=action.at,
            ends_at=action.until,
        )
        stored = self.store.add_lock(lock)
        if lock.kind is LockKind.EXTERNAL:
            self._external_rows = True
        entry = self.store.journal_intent(
            action.account_id, action.rule, action.kind, action_to_dict(action), action.at
        )
        self.store.journal_outcome(entry, JournalOutcome.CONFIRMED, f"lock {stored.id}", action.at)
        self._metrics.enforcement(action.rule, "locked")

    async def _end_external_locks(self, event: Event, now: datetime) -> None:
        """``canTrade: true`` ends the external lock (RULES.md §2): the engine ends its own
        copy; the store's row is ours to end (a restored one included)."""
        if not isinstance(event, AccountEvent | SnapshotEvent):
            return
        if event.account.can_trade is True and self._external_rows:
            await asyncio.to_thread(self._end_stored_external, now)

    def _end_stored_external(self, now: datetime) -> None:
        for lock in self.store.active_locks(now, self.account_id):
            if lock.kind is LockKind.EXTERNAL and lock.id is not None:
                self.store.clear_lock(lock.id, now, "broker", "canTrade: true")
        self._external_rows = False

    @grouped  # background writes ride the next commit (docs/STORE.md "SQLite")
    def _journal_alert(self, alert: Alert, now: datetime) -> None:
        entry = self.store.journal_intent(
            alert.account_id, alert.rule, alert.kind, action_to_dict(alert), now
        )
        self.store.journal_outcome(entry, JournalOutcome.CONFIRMED, alert.severity.value, now)

    def missed_events(self, why: str) -> None:
        """The periodic reconciliation found what the stream never delivered (a silent hub):
        the trader and operator must know; a snapshot follows."""
        self._alert(
            Severity.WARNING,
            f"reconcile: the broker shows what the user hub never sent ({why}); "
            "re-read from REST, hub reconnected",
            rule="reconcile",
        )

    def unreadable_record(self, target: str, error: str) -> None:
        """A user-hub record the daemon could not read (it may have been a fill): the book is
        unknown until the REST reconcile that follows; the trader must know why."""
        self._alert(
            Severity.WARNING,
            f"reconcile: a {target} record from the broker could not be read ({error}); "
            "re-reading the account from REST",
            rule="reconcile",
        )

    def _store_alert(self, severity: Severity, text: str) -> None:
        """The store stopped (or resumed) taking writes: the trader and operator must know."""
        self._alert(severity, text, rule="store")

    def _alert(self, severity: Severity, text: str, *, rule: str) -> None:
        """An alert of the runtime's own (not the engine's): sent, and journalled when the
        store takes it."""
        now = self._clock()
        alert = Alert(at=now, account_id=self.account_id, rule=rule, reason=text, severity=severity)
        self._raise(alert, now)

    def _lock_alert(self, lock: LockAccount) -> None:
        """A lock made is an alert (docs/ALERTS.md "Alert rules"): a warning, since the guard
        did its job (critical is for what needs the operator); its journal row is the lock's
        own entry, so the alert is not journalled again."""
        if self.alerts is None:
            return
        until = "an admin clears it" if lock.until is None else lock.until.isoformat("T", "minutes")
        self.alerts.send(
            Alert(
                at=lock.at,
                account_id=lock.account_id,
                rule=lock.rule,
                reason=f"account locked ({lock.lock_kind.value}) until {until}: {lock.reason}",
                severity=Severity.WARNING,
            )
        )

    def _raise(self, alert: Alert, now: datetime) -> None:
        """Send ``alert`` (the channels never wait) and journal it in the background."""
        if self.alerts is not None:
            self.alerts.send(alert)
        # on the record too, once the store takes it (the outage alerts once, so no loop)
        write = self.enforcer.durable.soon(self._journal_alert, alert, now, what="an alert")
        self.enforcer.keep(asyncio.ensure_future(write))

    def _persist_memory(self) -> None:
        """Store the rule memory when it changed, off the event path: a background writer
        (through ``durable.soon``: a stuck store never holds enforcement back) writes the
        latest copy; changes made while it writes are coalesced into its next round."""
        version = self.engine.memory_version(self.account_id)
        if version == self.memory_version:
            return
        self.memory_version = version
        self._memory = self.engine.memory(self.account_id)
        self._memory_dirty = True
        if self._memory_writer is None or self._memory_writer.done():
            self._memory_writer = asyncio.ensure_future(self._write_memory())
            self.enforcer.keep(self._memory_writer)  # drained at shutdown like enforcement

    async def _write_memory(self) -> None:
        while self._memory_dirty:
            self._memory_dirty = False
            await self.enforcer.durable.soon(self._save_latest_memory, what="rule memory")

    @grouped
    def _save_latest_memory(self) -> None:
        # Every attempt (a retry of an older round included) writes the newest copy, one at a
        # time: an older copy can never land after a newer one.
        with self._memory_lock:
            memory = self._memory
            if memory is not None:
                self.store.save_rule_memory(self.account_id, memory, self._clock())

    def _record_fills(self, event: Event) -> None:
        trades: tuple[Trade, ...] = ()
        if isinstance(event, TradeEvent):
            trades = (event.trade,)
        elif isinstance(event, SnapshotEvent):
            trades = event.trades
        if not trades:
            return
        cal = self.engine.calendar
        self._pending_fills.extend((t, cal.trading_day(t.created_at)) for t in trades)
        if self._fill_writer is None or self._fill_writer.done():
            self._fill_writer = asyncio.ensure_future(self._write_fills())
            self.enforcer.keep(self._fill_writer)  # drained at shutdown like enforcement

    async def _write_fills(self) -> None:
        # Off the event path: the position update that breaches follows its fill within a
        # millisecond and must not queue behind this write's fsync (measured by `bench e2e`).
        # A crash before the write loses nothing: reconciliation re-reads the week's fills.
        await asyncio.sleep(FILL_WRITE_DELAY)
        while self._pending_fills:
            batch, self._pending_fills = self._pending_fills, []
            await self.enforcer.durable.soon(self._store_fills, batch, what="fills")

    @grouped
    def _store_fills(self, batch: list[tuple[Trade, date]]) -> None:
        self.store.add_fills(batch)  # with the next commit (a journal intent's, say)
