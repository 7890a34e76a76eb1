"""Mutable state records of the simulated exchange and the events it emits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType


@dataclass(slots=True)
class SimAccount:
    id: int
    name: str
    balance: Decimal
    can_trade: bool = True
    is_visible: bool = True
    simulated: bool = True


@dataclass(slots=True)
class SimOrder:
    id: int
    account_id: int
    contract_id: str
    symbol_id: str
    creation_timestamp: datetime
    update_timestamp: datetime
    status: OrderStatus
    type: OrderType
    side: OrderSide
    size: int
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    fill_volume: int = 0
    filled_price: Decimal | None = None
    custom_tag: str | None = None
    trail_distance: int | None = None  # ticks (signed on bracket children)
    trail_price: Decimal | None = None  # distance in price units (signed on bracket children)
    parent_order_id: int | None = None
    linked_order_id: int | None = None
    # internal, never on the wire
    bracket_children: list[int] = field(default_factory=list)
    oco_sibling_id: int | None = None


@dataclass(slots=True)
class SimTrade:
    id: int
    account_id: int
    contract_id: str
    creation_timestamp: datetime
    price: Decimal
    profit_and_loss: Decimal | None
    fees: Decimal
    commissions: Decimal
    side: OrderSide
    size: int
    order_id: int
    voided: bool = False


@dataclass(slots=True)
class SimPosition:
    id: int
    account_id: int
    contract_id: str
    contract_display_name: str
    creation_timestamp: datetime
    net: int  # signed: + long, - short, 0 flat
    average_price: Fraction  # exact; the wire rounds it (sim.fills.gateway_price)


@dataclass(slots=True)
class SimMarket:
    contract_id: str
    symbol_id: str
    symbol_name: str
    tick_size: Decimal
    last: Decimal
    bid: Decimal
    ask: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    volume: int
    updated: datetime


@dataclass(frozen=True, slots=True)
class UserEvent:
    """One user-hub message: ``target`` with ``{"action", "data"}`` for ``account_id``."""

    target: str  # GatewayUserOrder | GatewayUserTrade | GatewayUserPosition | GatewayUserAccount
    account_id: int
    action: int
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SimQuoteEvent:
    """One ``GatewayQuote`` the simulator publishes for ``contract_id`` (wire-shaped ``data``);
    the daemon's own quote event is ``domain.events.QuoteEvent``."""

    contract_id: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MarketTradeEvent:
    contract_id: str
    prints: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class DepthEvent:
    """One ``GatewayDepth`` frame's entries for ``contract_id`` (wire-shaped)."""

    contract_id: str
    entries: list[dict[str, Any]]


SimEvent = UserEvent | SimQuoteEvent | MarketTradeEvent | DepthEvent
