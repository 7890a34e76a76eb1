"""Account, Position, Order, Trade (fill) and Quote as the risk manager sees them.

Prices and money are ``Decimal``; times are timezone-aware ``datetime``s; ids are Python ints
(order and trade ids exceed 2^31 on the live gateway).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType

RM_TAG_PREFIX = "rm-"
"""customTag prefix of orders the risk manager itself placed (RULES.md §1)."""

_TAG_DIGITS = 30  # RULE-012's tag numbers are far shorter (a count, or milliseconds)


def tag_number(tag: str) -> int:
    """The number a ``customTag`` ends in (``rm-sl-7-12`` → 12), -1 when it ends in none that
    RULE-012 could have made: ASCII digits only, at most ``_TAG_DIGITS`` (``str.isdigit``
    also takes "①" or "²", which ``int`` refuses, and ``int`` refuses 4,300 digits and more:
    a trader's own tag must never make the engine raise)."""
    last = tag.rsplit("-", 1)[-1]
    if last.isascii() and last.isdigit() and len(last) <= _TAG_DIGITS:
        return int(last)
    return -1


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    balance: Decimal
    can_trade: bool
    is_visible: bool = True
    simulated: bool = True


@dataclass(frozen=True, slots=True)
class Position:
    """One open position per contract. ``size`` is always positive; direction is ``type``."""

    id: int
    account_id: int
    contract_id: str
    type: PositionType
    size: int
    average_price: Decimal
    created_at: datetime | None = None

    @property
    def signed_size(self) -> int:
        return self.size * self.type.sign

    @property
    def is_flat(self) -> bool:
        return self.size == 0 or self.type is PositionType.UNDEFINED

    @property
    def exit_side(self) -> OrderSide:
        """The side of an order that reduces this position (its stop or target)."""
        return OrderSide.ASK if self.type is PositionType.LONG else OrderSide.BID


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    account_id: int
    contract_id: str
    status: OrderStatus
    type: OrderType
    side: OrderSide
    size: int
    created_at: datetime | None = None
    updated_at: datetime | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    fill_volume: int = 0
    filled_price: Decimal | None = None
    custom_tag: str | None = None
    parent_order_id: int | None = None
    linked_order_id: int | None = None

    @property
    def is_working(self) -> bool:
        return self.status.is_working

    @property
    def is_cancellable(self) -> bool:
        """A working order that enforcement may cancel.

        Never a market order: it fills at once (the position it opens is closed instead), and
        the untagged market order the broker creates for our own ``Position/closeContract``
        looks exactly like a trader's; cancelling it could undo our close.
        """
        return self.status.is_working and self.type is not OrderType.MARKET


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill (half-turn). ``profit_and_loss`` is None on fills that open or add."""

    id: int
    account_id: int
    contract_id: str
    created_at: datetime
    price: Decimal
    side: OrderSide
    size: int
    order_id: int
    fees: Decimal = Decimal(0)
    commissions: Decimal = Decimal(0)
    profit_and_loss: Decimal | None = None
    voided: bool = False

    @property
    def is_closing(self) -> bool:
        return self.profit_and_loss is not None

    def net_pnl(self, include_fees: bool = True) -> Decimal:
        """Realized P&L of this fill, net of its fees and commissions when asked."""
        pnl = self.profit_and_loss or Decimal(0)
        return pnl - self.fees - self.commissions if include_fees else pnl


@dataclass(frozen=True, slots=True)
class Quote:
    contract_id: str
    last_price: Decimal | None = None
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    timestamp: datetime | None = None
