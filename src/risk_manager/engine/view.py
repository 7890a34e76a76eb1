"""Read views: frozen snapshots of one account, built by ``Engine.view`` for the dashboards, and
the cheap ``Holdings`` (``Engine.holdings``) for the runtime's checks of every account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from risk_manager.domain.locks import Lock
from risk_manager.domain.models import Order, Position

RuleState = Literal["ok", "warning", "breached", "unknown", "off"]
"""``unknown``: the rule is on but an input is missing (a mark, a contract spec, a balance), so it
cannot be evaluated now: never shown as ``ok`` (RULES.md §4, fail closed)."""


@dataclass(frozen=True, slots=True)
class PositionView:
    position: Position
    mark: Decimal | None
    unrealized: Decimal | None  # None = no mark or no contract spec
    mark_source: str | None = None  # "quote", or "rest_bar" for a REST stand-in; None: no mark


@dataclass(frozen=True, slots=True)
class RuleView:
    key: str
    rule_id: str
    value: Decimal | None  # measured toward the limit (losses as positive amounts)
    limit: Decimal | None
    state: RuleState
    reason: str | None = None  # why the state is "unknown" (the missing input); None otherwise


@dataclass(frozen=True, slots=True)
class DrawdownView:
    """RULE-016's remembered state for one account (docs/ENGINE.md): money in USD."""

    starting_balance: Decimal | None
    start_source: str | None  # "config" (the account's setting) or "first_balance"
    peak: Decimal | None
    floor: Decimal | None


@dataclass(frozen=True, slots=True)
class Problem:
    """Something the trader must see on the account until it is resolved (issue 15 item 6):
    ``kind`` "refused" (the broker refused an enforcement action still wanted), "escalated"
    (retries ran out: the operator is needed), "stale_mark" (an open position valued without
    a live quote, or not at all); ``text`` says what, in the rule book's words."""

    kind: Literal["refused", "escalated", "stale_mark"]
    text: str


@dataclass(frozen=True, slots=True)
class AccountView:
    account_id: int
    name: str
    at: datetime
    balance: Decimal | None
    can_trade: bool | None
    day_realized: Decimal
    week_realized: Decimal
    unrealized: Decimal | None
    net: Decimal | None
    day_peak_net: Decimal
    positions: tuple[PositionView, ...]
    orders: tuple[Order, ...]
    rules: tuple[RuleView, ...]
    locks: tuple[Lock, ...]  # active now
    locked: bool
    room_to_loss_lock: Decimal | None  # smallest room before a loss rule locks; None = see below
    fills_today: int
    our_orders: frozenset[int] = frozenset()  # ids of working orders we placed (RULES.md §1)
    drawdown: DrawdownView | None = None  # None: RULE-016 is off for the account
    # The trading day the ledger counts (rolled by the daily reset; None before any event).
    ledger_day: date | None = None

    # With the room None: why it is unknown (a loss rule on cannot be evaluated), or None when
    # no loss rule is on. The room's rule and that rule's limit (money), when the room is known.
    room_unknown: str | None = None
    room_rule: str | None = None
    room_limit: Decimal | None = None
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class Holdings:
    """What one account holds, unvalued: signed size per contract id, the broker's balance and
    ``canTrade`` as last heard, and whether a lock is active. Built without marks or rules."""

    positions: Mapping[str, int]
    balance: Decimal | None
    can_trade: bool | None
    locked: bool


class RoomToLossLock:
    """The smallest room before a loss-locking rule locks, folded over those rules
    (``Engine.view``): ``left`` in USD (None: no such rule measured), the ``rule`` giving it
    and that rule's ``limit``. ``unknown``: why the room cannot be had (a loss rule on cannot be
    evaluated); then the room is unknown, never the room of the other rules (fail closed)."""

    __slots__ = ("left", "limit", "rule", "unknown")

    def __init__(self) -> None:
        self.left: Decimal | None = None
        self.rule: str | None = None
        self.limit: Decimal | None = None
        self.unknown: str | None = None

    def add(
        self, key: str, value: Decimal | None, limit: Decimal | None, missing: str | None
    ) -> None:
        """Fold one loss rule in: its measured ``value`` and ``limit``, or why it is unknown."""
        if missing is not None:
            said = f"{key}: {missing}"
            self.unknown = said if self.unknown is None else f"{self.unknown}; {said}"
            return
        if value is None or limit is None:
            return
        left = limit - value
        if self.left is None or left < self.left:
            self.left, self.rule, self.limit = left, key, limit
