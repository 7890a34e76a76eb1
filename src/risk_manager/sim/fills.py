"""Pure fill arithmetic: position netting, realized P&L (API doc §8.4) and order triggers.

A size-weighted average of prices is a rational number that a decimal cannot always hold
(three fills: ``63001.25 / 3``), so positions keep it exactly as a ``Fraction``; the wire gets
it rounded as the gateway stores prices (``PRICE_PLACES``) and P&L is rounded once, to cents,
from the exact difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

from risk_manager.domain.contracts import ContractSpec
from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType
from risk_manager.sim.records import SimOrder

CENT_PLACES = 2
# The gateway's REST prices carry 9 fractional digits (`6335.250000000`, API doc §2).
PRICE_PLACES = 9


def rounded(value: Fraction, places: int) -> Decimal:
    """``value`` rounded half to even to ``places`` fractional digits, with no inexact step
    (.NET's ``decimal.Round`` default)."""
    return Decimal(round(value * 10**places)).scaleb(-places)


def gateway_price(average: Fraction) -> Decimal:
    """An exact average price as the gateway sends it: ``PRICE_PLACES`` fractional digits,
    trailing zeros dropped (``21000.416666667``, ``28446.375``, ``49909``)."""
    return rounded(average, PRICE_PLACES).normalize()


@dataclass(frozen=True, slots=True)
class FillResult:
    net: int  # signed position after the fill
    average_price: Fraction  # exact size-weighted average of what is still open
    pnl: Decimal | None  # USD, rounded to cents; None when the fill only opened/added


def apply_fill(
    net: int, average: Fraction, side: OrderSide, size: int, price: Decimal, spec: ContractSpec
) -> FillResult:
    """Net a fill of ``size`` at ``price`` into a position of signed ``net`` contracts held at
    the exact ``average``; P&L is against that average (also on partial closes), in USD:
    price difference × contracts × tickValue / tickSize, rounded half to even to cents.

    A fill larger than the position closes it and opens the rest the other way (flip).
    """
    signed = side.sign * size
    fill = Fraction(price)
    if net == 0 or (net > 0) == (signed > 0):
        total = abs(net) + size
        avg = (average * abs(net) + fill * size) / total if net else fill
        return FillResult(net + signed, avg, None)
    closing = min(abs(net), size)
    direction = 1 if net > 0 else -1
    point_value = Fraction(spec.tick_value) / Fraction(spec.tick_size)
    pnl = rounded((fill - average) * closing * point_value * direction, CENT_PLACES)
    new_net = net + signed
    if new_net == 0:
        return FillResult(0, average, pnl)  # flat keeps the last average (as live)
    if (new_net > 0) == (net > 0):
        return FillResult(new_net, average, pnl)
    return FillResult(new_net, fill, pnl)  # flipped: the remainder opened at the fill price


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
