"""What the engine consumes: gateway state changes, connection changes and clock ticks.

The ProjectX adapter (and the replay reader) map wire payloads to these; the engine never sees
JSON. Every event carries ``at``, the instant the risk manager received (or replays) it.
The classes are final: the runtime dispatches on an event's exact class (``type(event)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, final

from risk_manager.domain.models import Account, Order, Position, Quote, Trade

Hub = Literal["user", "market"]


@final
@dataclass(frozen=True, slots=True)
class AccountEvent:
    at: datetime
    account: Account

    @property
    def account_id(self) -> int:
        return self.account.id


@final
@dataclass(frozen=True, slots=True)
class OrderEvent:
    at: datetime
    order: Order

    @property
    def account_id(self) -> int:
        return self.order.account_id


@final
@dataclass(frozen=True, slots=True)
class PositionEvent:
    """A position upsert; ``size == 0`` means the contract went flat."""

    at: datetime
    position: Position

    @property
    def account_id(self) -> int:
        return self.position.account_id


@final
@dataclass(frozen=True, slots=True)
class TradeEvent:
    at: datetime
    trade: Trade

    @property
    def account_id(self) -> int:
        return self.trade.account_id


@final
@dataclass(frozen=True, slots=True)
class QuoteEvent:
    """A market quote; not bound to one account (the runtime fans it out)."""

    at: datetime
    quote: Quote
    # "rest_bar": a REST price (latest bar's close) standing in while no live quote arrives
    source: Literal["quote", "rest_bar"] = "quote"


@final
@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    at: datetime
    hub: Hub
    connected: bool


@final
@dataclass(frozen=True, slots=True)
class AuthFailureEvent:
    """A REST login or token validation failed (RULE-010)."""

    at: datetime
    reason: str


@final
@dataclass(frozen=True, slots=True)
class SnapshotEvent:
    """The broker's full state of one account, read over REST at start and after reconnects.

    Positions and working orders replace the ledger's; trades are merged (de-duplicated by id).
    """

    at: datetime
    account: Account
    positions: tuple[Position, ...] = ()
    orders: tuple[Order, ...] = ()
    trades: tuple[Trade, ...] = field(default=())

    @property
    def account_id(self) -> int:
        return self.account.id


@final
@dataclass(frozen=True, slots=True)
class ClockTick:
    """Time moved; timers that are due fire."""

    at: datetime


Event = (
    AccountEvent
    | OrderEvent
    | PositionEvent
    | TradeEvent
    | QuoteEvent
    | ConnectionEvent
    | AuthFailureEvent
    | SnapshotEvent
    | ClockTick
)
