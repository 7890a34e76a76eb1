"""What the engine proposes: intents the runtime's enforcer carries out (RULES.md §5).

Every action carries the account, the rule's config key, a reason a trader can read (with the
numbers) and the instant it was proposed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from risk_manager.domain.enums import OrderSide, OrderType
from risk_manager.domain.locks import LockKind


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    kind: ClassVar[str] = "action"
    at: datetime
    account_id: int
    rule: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Flatten(Action):
    """Cancel every working order of the trader, then close every position."""

    kind: ClassVar[str] = "flatten"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosePosition(Action):
    kind: ClassVar[str] = "close_position"
    contract_id: str
    size: int | None = None  # None = the whole position


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder(Action):
    kind: ClassVar[str] = "cancel_order"
    order_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LockAccount(Action):
    kind: ClassVar[str] = "lock"
    until: datetime | None
    lock_kind: LockKind


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert(Action):
    kind: ClassVar[str] = "alert"
    severity: Severity


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceOrder(Action):
    kind: ClassVar[str] = "place_order"
    contract_id: str
    side: OrderSide
    type: OrderType
    size: int
    price: Decimal | None
    custom_tag: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ModifyOrder(Action):
    kind: ClassVar[str] = "modify_order"
    order_id: int
    price: Decimal


AnyAction = Flatten | ClosePosition | CancelOrder | LockAccount | Alert | PlaceOrder | ModifyOrder
