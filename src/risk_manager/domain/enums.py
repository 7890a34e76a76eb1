"""The gateway's wire enums, carrying ProjectX's integers (API doc §6)."""

from __future__ import annotations

from enum import IntEnum
from typing import Self


class _WireEnum(IntEnum):
    """An IntEnum that decodes unknown integers to its ``UNKNOWN``-like zero member."""

    @classmethod
    def decode(cls, value: object) -> Self:
        try:
            return cls(int(value))  # type: ignore[call-overload]
        except (ValueError, TypeError):
            return cls(0)


class OrderType(_WireEnum):
    UNKNOWN = 0
    LIMIT = 1
    MARKET = 2
    STOP_LIMIT = 3
    STOP = 4
    TRAILING_STOP = 5
    JOIN_BID = 6
    JOIN_ASK = 7

    @property
    def is_stop(self) -> bool:
        return self in _STOP_TYPES


_STOP_TYPES = frozenset({OrderType.STOP_LIMIT, OrderType.STOP, OrderType.TRAILING_STOP})


class OrderSide(_WireEnum):
    BID = 0  # buy
    ASK = 1  # sell

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return 1 if self is OrderSide.BID else -1

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.ASK if self is OrderSide.BID else OrderSide.BID


class OrderStatus(_WireEnum):
    NONE = 0
    OPEN = 1
    FILLED = 2
    CANCELLED = 3
    EXPIRED = 4
    REJECTED = 5
    PENDING = 6
    PENDING_CANCELLATION = 7
    SUSPENDED = 8

    @property
    def is_working(self) -> bool:
        return self in _WORKING

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_WORKING = frozenset(
    {OrderStatus.OPEN, OrderStatus.PENDING, OrderStatus.PENDING_CANCELLATION, OrderStatus.SUSPENDED}
)
_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED}
)


class PositionType(_WireEnum):
    UNDEFINED = 0
    LONG = 1
    SHORT = 2

    @property
    def sign(self) -> int:
        return _POSITION_SIGN.get(self, 0)


_POSITION_SIGN = {PositionType.LONG: 1, PositionType.SHORT: -1}  # built once, not per call


class DomType(_WireEnum):
    """What one ``GatewayDepth`` entry says (API doc §6, §7.4): a level's resting volume on a
    side (ASK/BID), a best-price marker, a trade print, a book reset or a session extreme."""

    UNKNOWN = 0
    ASK = 1
    BID = 2
    BEST_ASK = 3
    BEST_BID = 4
    TRADE = 5
    RESET = 6
    LOW = 7
    HIGH = 8
    NEW_BEST_BID = 9
    NEW_BEST_ASK = 10
    FILL = 11
