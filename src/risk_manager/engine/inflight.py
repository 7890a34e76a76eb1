"""In-flight tracking (RULES.md §4): an action is proposed once per cause; while in flight it is
not proposed again; unconfirmed after ``retry_after`` it is re-proposed, up to ``max_retries``,
then escalated as a critical alert. Confirmation is read from the ledger (position gone, order
gone, our tagged order seen), so this stays pure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from risk_manager.domain.actions import (
    Alert,
    AnyAction,
    CancelOrder,
    ClosePosition,
    Flatten,
    ModifyOrder,
    PlaceOrder,
    Severity,
)
from risk_manager.engine.ledger import Ledger

Key = tuple[object, ...]


def cause_key(action: AnyAction) -> Key | None:
    """What an action is about; None for actions that are not tracked (locks, alerts)."""
    if isinstance(action, Flatten):
        return ("flatten", action.account_id, action.rule)
    if isinstance(action, ClosePosition):
        return ("close", action.account_id, action.contract_id)
    if isinstance(action, CancelOrder):
        return ("cancel", action.account_id, action.order_id)
    if isinstance(action, PlaceOrder):
        return ("place", action.account_id, action.custom_tag)
    if isinstance(action, ModifyOrder):
        return ("modify", action.account_id, action.order_id, action.price)
    return None


@dataclass(slots=True)
class InFlight:
    action: AnyAction
    last_at: datetime
    attempts: int = 1
    expect_size: int | None = None  # partial close: the |size| that means done
    escalated: bool = False
    # flatten: the positions (contract ids) and trader orders (ids) it was proposed against;
    # it is done when those are gone, whatever the trader opens or places afterwards (§5)
    targets: tuple[frozenset[str], frozenset[int]] | None = None


def is_done(flight: InFlight, ledger: Ledger) -> bool:
    a = flight.action
    if isinstance(a, Flatten):
        if flight.targets is None:
            return not ledger.positions and not ledger.trader_orders()
        cids, order_ids = flight.targets
        return not any(c in ledger.positions for c in cids) and not any(
            o in ledger.orders for o in order_ids
        )
    if isinstance(a, ClosePosition):
        p = ledger.positions.get(a.contract_id)
        return p is None or (flight.expect_size is not None and p.size <= flight.expect_size)
    if isinstance(a, CancelOrder):
        return a.order_id not in ledger.orders
    if isinstance(a, PlaceOrder):
        return a.custom_tag in ledger.tags_seen
    if isinstance(a, ModifyOrder):
        o = ledger.orders.get(a.order_id)
        return o is None or a.price in (o.stop_price, o.limit_price)
    return True


class InFlightBook:
    def __init__(self, retry_after: timedelta, max_retries: int) -> None:
        self.retry_after = retry_after
        self.max_retries = max_retries
        self.items: dict[Key, InFlight] = {}

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
        if covered and any(  # a flatten proposed at this instant already covers it
            k[0] == "flatten" and f.last_at == now and not is_done(f, ledger)
            for k, f in self.items.items()
        ):
            return False
        expect = None
        if isinstance(action, ClosePosition) and action.size is not None:
            p = ledger.positions.get(action.contract_id)
            expect = max(0, (p.size if p else 0) - action.size)
        targets = None
        if isinstance(action, Flatten):
            targets = (
                frozenset(ledger.positions),
                frozenset(o.id for o in ledger.trader_orders()),
            )
        self.items[key] = InFlight(action, now, expect_size=expect, targets=targets)
        return True

    def settle(self, ledger: Ledger) -> None:
        """Forget what the ledger shows done. An escalated cause is parked: it is looked at
        again only when proposed anew (``admit``), so a stuck one costs no event anything."""
        if self.items:
            done = [k for k, f in self.items.items() if not f.escalated and is_done(f, ledger)]
            for key in done:
                del self.items[key]

    def due(self, now: datetime) -> list[AnyAction]:
        """Re-proposals and escalations whose time has come."""
        out: list[AnyAction] = []
        for flight in self.items.values():
            if flight.escalated or now - flight.last_at < self.retry_after:
                continue
            out.extend(self._retry(flight, now, "not confirmed"))
        return out

    def failed(self, action: AnyAction, now: datetime, detail: str) -> list[AnyAction]:
        key = cause_key(action)
        flight = self.items.get(key) if key is not None else None
        if flight is None or flight.escalated:
            return []
        return self._retry(flight, now, f"refused: {detail}")

    def _retry(self, flight: InFlight, now: datetime, why: str) -> list[AnyAction]:
        a = flight.action
        if flight.attempts > self.max_retries:
            flight.escalated = True
            return [
                Alert(
                    at=now,
                    account_id=a.account_id,
                    rule=a.rule,
                    severity=Severity.CRITICAL,
                    reason=f"{a.rule}: {a.kind} {why} after {flight.attempts} attempts; "
                    f"needs the operator ({a.reason})",
                )
            ]
        flight.attempts += 1
        flight.last_at = now
        return [replace(a, at=now)]

    def next_due(self) -> datetime | None:
        times = [f.last_at + self.retry_after for f in self.items.values() if not f.escalated]
        return min(times) if times else None
