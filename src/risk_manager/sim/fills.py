"""Pure fill arithmetic: position netting, realized P&L (API doc §8.4) and order triggers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from risk_manager.domain.contracts import ContractSpec
from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType
from risk_manager.sim.records import SimOrder

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class FillResult:
    net: int  # signed position after the fill
    average_price: Decimal
    pnl: Decimal | None  # None when the fill only opened/added


def apply_fill(
    net: int, average: Decimal, side: OrderSide, size: int, price: Decimal, spec: ContractSpec
) -> FillResult:
    """Net a fill into a position; P&L is against the size-weighted average price.

    A fill larger than the position closes it and opens the rest the other way (flip).
    """
    signed = side.sign * size
    if net == 0 or (net > 0) == (signed > 0):
        total = abs(net) + size
        avg = (average * abs(net) + price * size) / total if net else price
        return FillResult(net + signed, avg.normalize(), None)
    closing = min(abs(net), size)
    direction = 1 if net > 0 else -1
    pnl = ((price - average) * closing * spec.point_value * direction).quantize(CENT)
    new_net = net + signed
    if new_net == 0:
        return FillResult(0, average, pnl)  # flat keeps the last average (as live)
    if (new_net > 0) == (net > 0):
        return FillResult(new_net, average, pnl)
    return FillResult(new_net, price, pnl)  # flipped: the remainder opened at the fill price


def aligned(price: Decimal, tick: Decimal) -> bool:
    return price % tick == 0


def trail_ticks(last: Decimal, trail_price: Decimal, tick: Decimal) -> int:
    """``floor(|last − trailPrice| / tickSize)`` (API doc §5.6)."""
    return int((abs(last - trail_price) / tick).to_integral_value(rounding=ROUND_FLOOR))


def trail_stop_level(order: SimOrder, last: Decimal, tick: Decimal) -> Decimal:
    """Ratchet a trailing stop toward the market; it never moves away."""
    assert order.trail_distance is not None and order.stop_price is not None
    distance = abs(order.trail_distance) * tick
    if order.side is OrderSide.ASK:
        return max(order.stop_price, last - distance)
    return min(order.stop_price, last + distance)


def fill_price(order: SimOrder, last: Decimal) -> Decimal | None:
    """The price a working Open order fills at when the market trades ``last``, else None.

    Limits fill at their price or better; stops fill at the stop or worse (a gap past it
    fills at ``last``).
    """
    if order.status is not OrderStatus.OPEN:
        return None
    buy = order.side is OrderSide.BID
    if order.type in (OrderType.LIMIT, OrderType.JOIN_BID, OrderType.JOIN_ASK):
        limit = order.limit_price
        assert limit is not None
        if buy and last <= limit:
            return min(limit, last)
        if not buy and last >= limit:
            return max(limit, last)
        return None
    if order.type in (OrderType.STOP, OrderType.TRAILING_STOP):
        stop = order.stop_price
        assert stop is not None
        if buy and last >= stop:
            return max(stop, last)
        if not buy and last <= stop:
            return min(stop, last)
    return None
