"""One account inside the engine: its ledger, its rules, in-flight actions and lock enforcement.

Enforcement while locked (RULES.md §2): a hard lock cancels every working order of the trader and
closes every position, again whenever a new one appears; a soft lock cancels only orders that
would open or grow a position and reduces any growth back to the size held when the lock began
(exits shrink that baseline). After a restart the baseline is the book the broker reports in
the first snapshot (RULES.md §2), not the empty book the engine starts with. External locks are
never fought.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from operator import attrgetter

from risk_manager.config.rules import RulesConfig
from risk_manager.domain.actions import AnyAction, CancelOrder, ClosePosition
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Order
from risk_manager.engine.inflight import InFlightBook
from risk_manager.engine.ledger import Ledger
from risk_manager.engine.marks import Mark
from risk_manager.engine.memory import RuleMemory
from risk_manager.engine.rules import AnyRule, Trigger
from risk_manager.engine.rules.base import Context, Rule
from risk_manager.engine.rules.session_block_outside import SessionBlockOutsideRule

STALE_REPEAT = timedelta(minutes=1)  # the stale-mark alert repeats this often until a live quote

_SINGLE = (
    Trigger.TRADE,
    Trigger.POSITION,
    Trigger.ORDER,
    Trigger.ACCOUNT,
    Trigger.QUOTE,
    Trigger.CLOCK,
    Trigger.CONNECTION,
)


def _age(order: Order) -> tuple[datetime, int]:
    """Oldest first; an order without a creation time counts as the newest."""
    return (order.created_at or _NEVER, order.id)


_NEVER = datetime.max.replace(tzinfo=UTC)
_order_id = attrgetter("id")  # sort key of the orders a lock cancels


def _remembers(rule: AnyRule) -> bool:
    """Whether the rule keeps memory at all (overrides ``Rule.remember``)."""
    return type(rule).remember is not Rule.remember


class AccountState:
    def __init__(self, account_id: int, config: RulesConfig, rules: list[AnyRule]) -> None:
        self.account_id = account_id
        self.config = config
        self.rules = rules
        self.ledger = Ledger(account_id)
        self.memory = RuleMemory()
        self.ledger.our_tags = self.memory.our_tags  # one set: our orders are those we recorded
        self.alerted: set[tuple[str, ...]] = set()
        # (contract, counted from its mark_wait) -> the stale-mark alert last sent of that
        # kind: (since, round); see ``stale_once``
        self._stale_sent: dict[tuple[str, bool], tuple[datetime, int]] = {}
        self.inflight = InFlightBook(config.retry_after, config.max_retries)
        self.soft_baseline: dict[str, int] | None = None  # signed sizes allowed under soft lock
        # a soft lock restored after a restart: its baseline is the broker's next snapshot
        self.baseline_from_broker = False
        self.remember_due: set[str] = set()  # rule keys to remember on their next run
        self.context: Context | None = None  # the engine's, renewed for each event
        self.use_rules(config, rules)

    def use_rules(self, config: RulesConfig, rules: list[AnyRule]) -> None:
        """Evaluate under ``config``'s rules from now on (built by the factory; a hot reload
        swaps them between two events). Rules keep no state of their own: the ledger, the
        memory and the actions in flight carry on."""
        self.config = config
        self.rules = rules
        # read for every context; a pydantic model's attribute goes through its __getattr__
        self.mark_mode: str = config.mark
        self.stale_mark: timedelta = config.stale_mark
        self.context = None  # built again with these settings
        self.inflight.retry_after = config.retry_after
        self.inflight.max_retries = config.max_retries
        self._by_trigger: dict[Trigger, list[AnyRule]] = {
            t: [r for r in rules if r.triggers & t] for t in _SINGLE
        }
        self._by_trigger[Trigger.ALL] = list(rules)
        self._runs: dict[Trigger, list[tuple[AnyRule, bool, bool]]] = {}
        # `until_session_start` means RULE-009's configured sessions when it is on (§3)
        self.sessions = next(
            (r.calendar for r in rules if isinstance(r, SessionBlockOutsideRule)), None
        )
        self.inputs_changed()

    def inputs_changed(self) -> None:
        """What every rule's memory reads may have changed outside an event (rules reloaded,
        memory restored, a manual reset): each rule remembers on its next run, whatever the
        event (``Rule.remembers_on``)."""
        self.remember_due = {r.key for r in self.rules if _remembers(r)}

    def runs_for(self, trigger: Trigger) -> list[tuple[AnyRule, bool, bool]]:
        """The rules ``trigger`` runs (:meth:`rules_for`), each with whether its memory can
        change on it (``Rule.remembers_on``; a rule without memory never) and whether it
        warns (``warn_at`` set), computed once per rule set."""
        found = self._runs.get(trigger)
        if found is None:
            found = self._runs[trigger] = [
                (r, _remembers(r) and bool(r.remembers_on & trigger), r.warn_at is not None)
                for r in self.rules_for(trigger)
            ]
        return found

    def rules_for(self, trigger: Trigger) -> list[AnyRule]:
        found = self._by_trigger.get(trigger)
        if found is None:
            found = self._by_trigger[trigger] = [r for r in self.rules if r.triggers & trigger]
        return found

    def once(self, *key: str) -> bool:
        if key in self.alerted:
            return False
        self.alerted.add(key)
        return True

    def stale_once(self, cid: str, since: datetime, round_: int) -> bool:
        """True the first time the stale-mark alert of ``cid`` is due for this ``since`` (when
        its price was last live, ``live_since``) and ``round_`` (the ``STALE_REPEAT`` count
        since it went stale). Two kinds of ``since`` are kept apart: the position's
        ``mark_wait`` (fixed while it is held; a market-hub outage voids the live quotes and
        brings ``since`` back to it) and a live quote's time (only later ones follow). Of each
        kind only the last alert is kept, as (since, round): an alert for the same ``since``
        at that round or an earlier one (a clock stepped back) was sent already. One entry a
        kind per held contract, where a key a minute kept for good was a holder (a weekend's
        unquoted position is ~3,000 keys)."""
        slot = (cid, since == self.ledger.mark_wait.get(cid))
        last = self._stale_sent.get(slot)
        if last is not None and last[0] == since and round_ <= last[1]:
            return False
        self._stale_sent[slot] = (since, round_)
        return True

    def forget_stale(self) -> None:
        """Forget the stale-mark alerts of contracts no longer held: a new position of one
        gets a new ``mark_wait``, so alerts of its own."""
        if not self._stale_sent:  # every clock pass asks: mostly nothing to do
            return
        for slot in [k for k in self._stale_sent if k[0] not in self.ledger.positions]:
            del self._stale_sent[slot]

    def start_soft_baseline(self) -> None:
        """A soft lock begins: the positions held now are the baseline (RULES.md §2)."""
        if self.soft_baseline is None and not self.baseline_from_broker:
            self.soft_baseline = {cid: p.signed_size for cid, p in self.ledger.positions.items()}

    def restore_soft_baseline(self) -> None:
        """A soft lock restored after a restart: the positions already held are not known
        yet (the book is empty until the broker's snapshot), so the baseline waits for it
        (:meth:`broker_book_seen`); meanwhile no position is reduced for the lock."""
        if self.soft_baseline is None:
            self.baseline_from_broker = True

    def broker_book_seen(self) -> None:
        """The broker's snapshot is in the ledger: it is the restored soft lock's baseline."""
        if self.baseline_from_broker:
            self.baseline_from_broker = False
            self.soft_baseline = None
            self.start_soft_baseline()

    def live_since(self, cid: str, marks: dict[str, Mark]) -> datetime | None:
        """When the contract's price was last known live: the later of ``mark_wait`` (a first
        quote is awaited from then) and the last live quote that came after it. A REST
        stand-in does not count (RULES.md §1): the stale-mark alert keeps running."""
        since = self.ledger.mark_wait.get(cid)
        mark = marks.get(cid)
        live = mark.live_at if mark is not None else None
        if since is None or live is None or live < since:
            return since
        return live

    def stale_due(self, cid: str, marks: dict[str, Mark], now: datetime) -> datetime | None:
        """The next instant the stale-mark alert is due for ``cid``: ``stale_mark`` after
        :meth:`live_since`, then every ``STALE_REPEAT`` while no live quote arrives."""
        since = self.live_since(cid, marks)
        if since is None:
            return None
        due = since + self.config.stale_mark
        if due <= now:
            due += STALE_REPEAT * ((now - due) // STALE_REPEAT + 1)
        return due

    def next_stale_check(self, marks: dict[str, Mark], now: datetime) -> datetime | None:
        times = [t for cid in self.ledger.positions if (t := self.stale_due(cid, marks, now))]
        return min(times) if times else None

    def rest_marks_wanted(self, marks: dict[str, Mark], now: datetime) -> list[str]:
        """Open positions a REST price should stand in for (RULES.md §1): no live quote for
        ``stale_mark`` since they were priced from, and no REST price younger than half of
        it (fetched again before the last one stops counting)."""
        stale = self.config.stale_mark
        wanted: list[str] = []
        for cid in sorted(self.ledger.positions):
            since = self.live_since(cid, marks)
            if since is None or now - since < stale:
                continue
            mark = marks.get(cid)
            if (
                mark is not None
                and mark.source == "rest_bar"
                and mark.usable(self.ledger.priced_from.get(cid), now, stale / 2)
            ):
                continue
            wanted.append(cid)
        return wanted

    def _entries_under_soft_lock(self) -> set[int]:
        """Ids of the trader's working orders a soft lock cancels (RULES.md §2): those that
        would open or grow a position, and the newest exits of a contract whose exits together
        would flip its position (kept oldest first while they fit)."""
        ledger = self.ledger
        cancel: set[int] = set()
        left: dict[str, int] = {}  # contracts left to exit, per contract
        for order in sorted(ledger.trader_orders(), key=_age):
            if ledger.would_increase(order):
                cancel.add(order.id)
                continue
            cid = order.contract_id
            if cid not in left:
                pos = ledger.positions.get(cid)
                left[cid] = pos.size if pos is not None else 0
            remaining = order.size - order.fill_volume
            if remaining > left[cid]:
                cancel.add(order.id)
            else:
                left[cid] -= remaining
        return cancel

    def enforcement(self, lock: Lock, until: str, now: datetime) -> list[AnyAction]:
        """The actions an active hard or soft lock demands right now."""
        why = f"{lock.rule}: account locked {until} ({lock.kind})"  # a StrEnum: its value

        def close(cid: str, what: str, size: int | None = None) -> ClosePosition:
            reason = f"{why}; {what}"
            held = self.ledger.positions.get(cid)
            keep = None if size is None or held is None else max(0, held.size - size)
            return ClosePosition(
                at=now,
                account_id=self.account_id,
                rule=lock.rule,
                reason=reason,
                contract_id=cid,
                size=size,
                keep=keep,
            )

        out: list[AnyAction] = []
        ledger = self.ledger
        blocked = set() if lock.kind is LockKind.HARD else self._entries_under_soft_lock()
        for order in sorted(ledger.trader_orders(), key=_order_id):
            if lock.kind is LockKind.HARD or order.id in blocked:
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
            if ledger.positions:  # a locked account is mostly flat: its orders are refused
                out.extend(close(cid, f"close {cid}") for cid in sorted(ledger.positions))
            return out
        if self.baseline_from_broker:
            return out  # which positions are held is not known before the broker's book
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
