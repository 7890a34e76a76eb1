"""In-flight tracking (RULES.md §4, §5): an action is proposed once per cause; while in flight
it is not proposed again; unconfirmed after ``retry_after`` it is re-proposed, up to
``max_retries``, then escalated as a critical alert, and it keeps being re-proposed every
``ESCALATED_EVERY`` for as long as the ledger does not show it done: a guard never gives up
while a rule or lock still requires the action. A refusal reported by the runtime counts as an
attempt (the runtime itself retries the refused request with backoff, reading the broker
first). Confirmation is read from the ledger (position gone, order gone, our tagged order
seen), so this stays pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import assert_never

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
)
from risk_manager.domain.models import Position
from risk_manager.engine.ledger import Ledger

Key = tuple[object, ...]

ESCALATED_EVERY = timedelta(seconds=10)  # re-proposal pace once escalated to the operator


def cause_key(action: AnyAction) -> Key | None:
    """What an action is about; None for actions that are not tracked (locks, alerts)."""
    match action:  # the classes are disjoint; a lock's refusal (a cancel) tested first
        case CancelOrder():
            return ("cancel", action.account_id, action.order_id)
        case Flatten():
            return ("flatten", action.account_id, action.rule)
        case ClosePosition():
            return ("close", action.account_id, action.contract_id)
        case PlaceOrder():
            return ("place", action.account_id, action.custom_tag)
        case ModifyOrder():
            return ("modify", action.account_id, action.order_id, action.price)
        case LockAccount() | Alert():
            return None
        case _:
            assert_never(action)


@dataclass(slots=True)
class InFlight:
    action: AnyAction
    last_at: datetime
    attempts: int = 1
    expect_size: int | None = None  # partial close: the |size| that means done
    escalated: bool = False
    refused: str | None = None  # the broker's last refusal of it (shown until it is done)
    # flatten: the positions (the ledger's record per contract) and trader orders (ids) it was
    # proposed against; it is done when those are gone, whatever the trader opens or places
    # afterwards (§5). A full close of a contract whose record is still the one here is the
    # flatten's to do (its answer may be in, the broker's events not yet); a changed record (a
    # re-entry) is a new close.
    targets: tuple[Mapping[str, Position], frozenset[int]] | None = None
    cause: object = None  # what can settle it (_settled_by), kept for the book's index


def is_done(flight: InFlight, ledger: Ledger) -> bool:
    a = flight.action
    match a:
        case Flatten():
            if flight.targets is None:
                return not ledger.positions and not ledger.trader_orders()
            cids, order_ids = flight.targets
            return not any(c in ledger.positions for c in cids) and not any(
                o in ledger.orders for o in order_ids
            )
        case ClosePosition():
            p = ledger.positions.get(a.contract_id)
            return p is None or (flight.expect_size is not None and p.size <= flight.expect_size)
        case CancelOrder():
            return a.order_id not in ledger.orders
        case PlaceOrder():
            return a.custom_tag in ledger.tags_seen
        case ModifyOrder():
            o = ledger.orders.get(a.order_id)
            return o is None or a.price in (o.stop_price, o.limit_price)
        case LockAccount() | Alert():  # never tracked (cause_key is None)
            return True
        case _:
            assert_never(a)


def _covers(flatten: InFlight, action: AnyAction, ledger: Ledger, now: datetime) -> bool:
    """Does an undone ``flatten`` already cover ``action`` (a cancel or a full close)? One
    proposed at this instant covers both; later, a close of a contract whose position record
    the ledger still holds from the flatten's proposal (nothing new seen: a second
    ``closeContract`` would be sent on a stale book)."""
    if flatten.last_at == now:
        return True
    if not isinstance(action, ClosePosition) or flatten.targets is None:
        return False
    held = ledger.positions.get(action.contract_id)
    return held is not None and flatten.targets[0].get(action.contract_id) is held


def _settled_by(action: AnyAction) -> object:
    """What in the ledger can make ``action`` done (:func:`is_done`): its order (a cancel, a
    modify), its tag (a placement) or its contract's position (a close); None for a flatten,
    which every change may finish."""
    match action:
        case CancelOrder() | ModifyOrder():
            return ("order", action.order_id)
        case PlaceOrder():
            return ("tag", action.custom_tag)
        case ClosePosition():
            return ("position", action.contract_id)
        case _:
            return None


class InFlightBook:
    """The account's actions in flight, by cause (``cause_key``).

    Indexed by what can settle each one (``_settled_by``), so an event settles only the
    actions it can have finished (:meth:`settle` with ``touched``) instead of testing ~30
    placements the broker never confirmed on every event (issue 16); flattens and the
    actions admitted since the last settle are tested every time. The earliest retry is
    kept until the book changes."""

    def __init__(self, retry_after: timedelta, max_retries: int) -> None:
        self.retry_after = retry_after
        self.max_retries = max_retries
        self.items: dict[Key, InFlight] = {}
        self._by_cause: dict[object, set[Key]] = {}  # _settled_by → keys
        self._flattens: dict[Key, None] = {}  # tested on every settle
        self._places: dict[Key, None] = {}  # placements, in the items' order (placing)
        self._fresh: list[Key] = []  # admitted since the last settle: tested at the next
        self._changes = 0  # moves whenever an item is added, dropped or retried
        # next_due's answer, for the _changes and retry_after it was computed at
        self._due_at: datetime | None = None
        self._due_for: tuple[int, timedelta] | None = None

    def admit(self, action: AnyAction, ledger: Ledger, now: datetime) -> bool:
        """True when the action should go out (its cause is not already in flight)."""
        key = cause_key(action)
        if key is None:
            return True
        flight = self.items.get(key)
        if flight is not None and not is_done(flight, ledger):
            return False
        covered = isinstance(action, CancelOrder) or (
            isinstance(action, ClosePosition) and action.size is None
        )
        if (covered and self._flattens) and any(  # a flatten in flight already covers it
            not is_done(f, ledger) and _covers(f, action, ledger, now)
            for f in [self.items[k] for k in self._flattens]
        ):
            return False
        expect = None
        if isinstance(action, ClosePosition) and action.size is not None:
            p = ledger.positions.get(action.contract_id)
            expect = (
                action.keep
                if action.keep is not None
                else max(0, (p.size if p else 0) - action.size)
            )
        targets = None
        if isinstance(action, Flatten):
            targets = (
                dict(ledger.positions),
                frozenset(o.id for o in ledger.trader_orders()),
            )
        cause = _settled_by(action)
        self.items[key] = InFlight(action, now, expect_size=expect, targets=targets, cause=cause)
        if cause is None:
            self._flattens[key] = None
        else:
            watched = self._by_cause.get(cause)
            if watched is None:
                self._by_cause[cause] = {key}
            else:
                watched.add(key)
        if isinstance(action, PlaceOrder):
            self._places[key] = None
        self._fresh.append(key)
        self._changes += 1
        return True

    def placing(self, ledger: Ledger) -> tuple[PlaceOrder, ...]:
        """Placements proposed and not yet seen on the account (their tag not in the ledger):
        a rule reads them to not propose the same order twice (rules keep no state)."""
        items, seen = self.items, ledger.tags_seen
        out: list[PlaceOrder] = []
        for key in self._places:
            action = items[key].action
            if isinstance(action, PlaceOrder) and action.custom_tag not in seen:
                out.append(action)
        return tuple(out)

    def tags(self) -> set[str]:
        """The ``customTag`` of every placement in flight (seen on the account or not)."""
        out: set[str] = set()
        for key in self._places:
            action = self.items[key].action
            if isinstance(action, PlaceOrder):
                out.add(action.custom_tag)
        return out

    def settle(self, ledger: Ledger, touched: tuple[object, ...] | None = None) -> None:
        """Forget what the ledger shows done (escalated causes too: they are still pursued).

        ``touched``: what the event changed in the ledger, as ``_settled_by`` names it (an
        order, a tag, a contract's position); only the actions settled by those, the
        flattens and the actions admitted since the last settle are tested. None (a fill, a
        snapshot, a tick): every action."""
        items = self.items
        if not items:
            self._fresh.clear()
            return
        if touched is None:
            keys: Iterable[Key] = list(items)
        else:
            found = [*self._fresh, *self._flattens]
            for cause in touched:
                watched = self._by_cause.get(cause)
                if watched:
                    found.extend(watched)
            keys = found
        self._fresh.clear()
        for key in keys:
            flight = items.get(key)
            if flight is not None and is_done(flight, ledger):
                self._drop(key, flight)

    def _drop(self, key: Key, flight: InFlight) -> None:
        del self.items[key]
        cause = flight.cause
        if cause is None:
            del self._flattens[key]
        else:
            watched = self._by_cause[cause]
            watched.discard(key)
            if not watched:
                del self._by_cause[cause]
        self._places.pop(key, None)
        self._changes += 1

    def _interval(self, flight: InFlight) -> timedelta:
        return ESCALATED_EVERY if flight.escalated else self.retry_after

    def due(self, now: datetime) -> list[AnyAction]:
        """Re-proposals and escalations whose time has come."""
        out: list[AnyAction] = []
        for flight in self.items.values():
            if now - flight.last_at >= self._interval(flight):
                out.extend(self._retry(flight, now, "not confirmed"))
        return out

    def failed(self, action: AnyAction, now: datetime, detail: str) -> list[AnyAction]:
        """The broker refused an attempt: it counts, and past ``max_retries`` the operator is
        alerted (once). Nothing is re-proposed here: the runtime retries the refused request
        itself, with backoff, reading the broker first (RULES.md §5)."""
        key = cause_key(action)
        flight = self.items.get(key) if key is not None else None
        if flight is None:
            return []
        flight.attempts += 1
        flight.last_at = now
        flight.refused = detail
        self._changes += 1
        if flight.escalated or flight.attempts <= self.max_retries + 1:
            return []
        return [self._escalate(flight, now, f"refused: {detail}")]

    def _retry(self, flight: InFlight, now: datetime, why: str) -> list[AnyAction]:
        self._changes += 1  # its time (and maybe its escalation) moves
        if flight.attempts > self.max_retries and not flight.escalated:
            flight.last_at = now
            return [self._escalate(flight, now, why)]
        flight.attempts += 1
        flight.last_at = now
        return [replace(flight.action, at=now)]

    def _escalate(self, flight: InFlight, now: datetime, why: str) -> Alert:
        flight.escalated = True
        a = flight.action
        return Alert(
            at=now,
            account_id=a.account_id,
            rule=a.rule,
            severity=Severity.CRITICAL,
            reason=f"{a.rule}: {a.kind} {why} after {flight.attempts} attempts; "
            f"needs the operator, still retrying every {ESCALATED_EVERY.total_seconds():g}s "
            f"({a.reason})",
            cause=cause_key(a),
        )

    def next_due(self) -> datetime | None:
        """When the earliest re-proposal or escalation is due (None: nothing in flight);
        kept until an item is added, dropped or retried, or ``retry_after`` changes."""
        changes, retry_after, known = self._changes, self.retry_after, self._due_for
        if known is not None and known[0] == changes and known[1] == retry_after:
            return self._due_at
        times = [f.last_at + self._interval(f) for f in self.items.values()]
        due = self._due_at = min(times) if times else None
        if len(times) > 2:  # worth keeping: a book of one or two is walked again
            self._due_for = (changes, retry_after)
        return due
