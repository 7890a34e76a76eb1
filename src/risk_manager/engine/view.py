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

RuleState = Literal["ok", "warning", "breached", "off"]


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


@dataclass(frozen=True, slots=True)
class DrawdownView:
    """RULE-016's remembered state for one account (docs/ENGINE.md): money in USD."""

    starting_balance: Decimal | None
    start_source: str | None  # "config" (the account's setting) or "first_balance"
    peak: Decimal | None
    floor: Decimal | None


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
    room_to_loss_lock: Decimal | None  # smallest room before a loss rule locks; None = none on
    fills_today: int
    our_orders: frozenset[int] = frozenset()  # ids of working orders we placed (RULES.md §1)
    drawdown: DrawdownView | None = None  # None: RULE-016 is off for the account
    # The trading day the ledger counts (rolled by the daily reset; None before any event).
    ledger_day: date | None = None


@dataclass(frozen=True, slots=True)
class Holdings:
    """What one account holds, unvalued: signed size per contract id, the broker's balance and
    ``canTrade`` as last heard, and whether a lock is active. Built without marks or rules."""

    positions: Mapping[str, int]
    balance: Decimal | None
    can_trade: bool | None
    locked: bool
