"""One account inside the engine: its ledger, its rules, in-flight actions and lock enforcement.

Enforcement while locked (RULES.md §2): a hard lock cancels every working order of the trader and
closes every position, again whenever a new one appears; a soft lock cancels only orders that
would open or grow a position and reduces any growth back to the size held when the lock began
(exits shrink that baseline). External locks are never fought.
"""

from __future__ import annotations

from datetime import datetime

from risk_manager.config.rules import RulesConfig
from risk_manager.domain.actions import AnyAction, CancelOrder, ClosePosition
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.engine.inflight import InFlightBook
from risk_manager.engine.ledger import Ledger
from risk_manager.engine.marks import Mark
from risk_manager.engine.rules import Rule, Trigger

_SINGLE = (
    Trigger.TRADE,
    Trigger.POSITION,
    Trigger.ORDER,
    Trigger.ACCOUNT,
    Trigger.QUOTE,
    Trigger.CLOCK,
    Trigger.CONNECTION,
)


class AccountState:
    def __init__(self, account_id: int, config: RulesConfig, rules: list[Rule]) -> None:
        self.account_id = account_id
        self.config = config
        self.rules = rules
        self.ledger = Ledger(account_id)
        self.alerted: set[tuple[str, ...]] = set()
        self.inflight = InFlightBook(config.retry_after, config.max_retries)
        self.soft_baseline: dict[str, int] | None = None  # signed sizes allowed under soft lock
        self._by_trigger: dict[Trigger, list[Rule]] = {
            t: [r for r in rules if r.triggers & t] for t in _SINGLE
        }
        self._by_trigger[Trigger.ALL] = list(rules)

    def rules_for(self, trigger: Trigger) -> list[Rule]:
        found = self._by_trigger.get(trigger)
        if found is None:
            found = self._by_trigger[trigger] = [r for r in self.rules if r.triggers & trigger]
        return found

    def once(self, *key: str) -> bool:
        if key in self.alerted:
            return False
        self.alerted.add(key)
        return True

    def start_soft_baseline(self) -> None:
        if self.soft_baseline is None:
            self.soft_baseline = {cid: p.signed_size for cid, p in self.ledger.positions.items()}

    def mark_fresh_since(self, cid: str, marks: dict[str, Mark], opened: datetime) -> datetime:
        """The later of ``opened`` (when a first quote may be expected) and the last quote."""
        mark = marks.get(cid)
        last = mark.at if mark is not None else None
        return opened if last is None or last < opened else last

    def next_stale_check(self, marks: dict[str, Mark]) -> datetime | None:
        times: list[datetime] = []
        for cid in self.ledger.positions:
            opened = self.ledger.mark_wait.get(cid)
            if opened is not None:
                times.append(self.mark_fresh_since(cid, marks, opened) + self.config.stale_mark)
        return min(times) if times else None

    def enforcement(self, lock: Lock, until: str, now: datetime) -> list[AnyAction]:
        """The actions an active hard or soft lock demands right now."""
        why = f"{lock.rule}: account locked {until} ({lock.kind.value})"

        def close(cid: str, what: str, size: int | None = None) -> ClosePosition:
            reason = f"{why}; {what}"
            return ClosePosition(
                at=now,
                account_id=self.account_id,
                rule=lock.rule,
                reason=reason,
                contract_id=cid,
                size=size,
            )

        out: list[AnyAction] = []
        ledger = self.ledger
        for order in sorted(ledger.trader_orders(), key=lambda o: o.id):
            if lock.kind is LockKind.HARD or ledger.would_increase(order):
                out.append(
                    CancelOrder(
                        at=now,
                        account_id=self.account_id,
                        rule=lock.rule,
                        reason=f"{why}; cancel order {order.id}",
                        order_id=order.id,
                    )
                )
        if lock.kind is LockKind.HARD:
            return out + [close(cid, f"close {cid}") for cid in sorted(ledger.positions)]
        base = self.soft_baseline if self.soft_baseline is not None else {}
        for cid in [c for c in base if c not in ledger.positions]:
            base[cid] = 0  # exited: re-entering would be an entry
        for cid in sorted(ledger.positions):
            signed = ledger.positions[cid].signed_size
            allowed = base.get(cid, 0)
            if allowed == 0 or (allowed > 0) != (signed > 0):
                excess = abs(signed)
            else:
                excess = max(0, abs(signed) - abs(allowed))
                if abs(signed) < abs(allowed):
                    base[cid] = signed  # an exit: the baseline shrinks with it
            if excess:
                size = None if excess == abs(signed) else excess
                out.append(close(cid, f"reduce {cid} by {excess}", size))
        return out
