"""Order requests, their validation (code 2 reasons) and Auto-OCO bracket children (§5.6, §8.3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from risk_manager.domain.enums import OrderStatus, OrderType
from risk_manager.sim.fills import aligned, trail_ticks
from risk_manager.sim.records import SimOrder

MAX_TRAIL_TICKS = 1000
PLACEABLE = {
    OrderType.LIMIT,
    OrderType.MARKET,
    OrderType.STOP,
    OrderType.TRAILING_STOP,
    OrderType.JOIN_BID,
    OrderType.JOIN_ASK,
}
NOT_ALIGNED = "Invalid price. Price is not aligned to tick size."


@dataclass(frozen=True, slots=True)
class BracketRequest:
    """An ``Order/place`` bracket leg as the client sent it (§5.6): signed ticks from the entry
    fill and the wire order type (an int, validated later). The client's side is
    ``projectx.client.Bracket``."""

    ticks: int
    type: int


@dataclass(frozen=True, slots=True)
class PlaceRequest:
    account_id: int
    contract_id: str
    type: int
    side: int
    size: int
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    custom_tag: str | None = None
    linked_order_id: int | None = None
    stop_loss: BracketRequest | None = None
    take_profit: BracketRequest | None = None


@dataclass(frozen=True, slots=True)
class RestResult:
    """A REST-level result: ``errorCode`` (endpoint-specific), the ``errorMessage`` exactly as
    sent (None unless the live gateway explains that rejection, API doc §12b), and maybe an
    order id."""

    code: int
    message: str | None = None
    order_id: int | None = None


def validate_place(
    req: PlaceRequest, tick: Decimal, last: Decimal, tag_used: bool, *, signed_brackets: bool = True
) -> str | None:
    """Why ``req`` is refused with code 2 (no order created), or None when it is fine.

    ``signed_brackets`` refuses bracket ticks of the wrong sign for the entry's direction
    (see :func:`bracket_sign_problem`); False accepts either sign.
    """
    if req.type not in {int(t) for t in PLACEABLE}:
        return f"Invalid order type {req.type}."
    if req.side not in (0, 1):
        return f"Invalid order side {req.side}."
    if req.size <= 0:
        return f"Invalid order size {req.size}."
    if tag_used:
        return f"Custom tag {req.custom_tag!r} is already used on this account."
    kind = OrderType(req.type)
    if kind is OrderType.LIMIT and (req.limit_price is None or not aligned(req.limit_price, tick)):
        return NOT_ALIGNED if req.limit_price is not None else "Limit price not set."
    if kind is OrderType.STOP and (req.stop_price is None or not aligned(req.stop_price, tick)):
        return NOT_ALIGNED if req.stop_price is not None else "Stop price not set."
    if kind is OrderType.TRAILING_STOP:
        if req.trail_price is None:
            return "Trail Distance not set."
        if not aligned(req.trail_price, tick):
            return "Invalid trail price. Price is not aligned to tick size."
        ticks = trail_ticks(last, req.trail_price, tick)
        if ticks == 0:
            return "Trail Distance not set."
        if ticks > MAX_TRAIL_TICKS:
            return f"Trail Distance exceeds maximum ({MAX_TRAIL_TICKS})"
    for bracket, allowed in ((req.stop_loss, (4, 5)), (req.take_profit, (1,))):
        if bracket is not None and (bracket.ticks == 0 or bracket.type not in allowed):
            return f"Invalid bracket: ticks {bracket.ticks}, type {bracket.type}."
    if signed_brackets:
        return bracket_sign_problem(req)
    return None


def bracket_sign_problem(req: PlaceRequest) -> str | None:
    """The gateway's refusal of a bracket whose tick sign points the wrong way, or None.

    Ticks are signed offsets from the entry fill (API doc §5.6): a long's stop loss is below
    (negative) and its take profit above (positive); a short's the reverse. Three messages are
    the live rejections community clients quote (docs/SIMULATOR.md); the long take-profit one
    is unobserved and follows the short take-profit wording.
    """
    long = req.side == 0
    sl, tp = req.stop_loss, req.take_profit
    if sl is not None and (sl.ticks > 0) == long:
        why = (
            "Ticks should be less than zero when longing."
            if long
            else "Stop loss tick value should be at least 4 ticks."
        )
        return f"Invalid stop loss ticks ({sl.ticks}). {why}"
    if tp is not None and (tp.ticks < 0) == long:
        side = "greater than zero when longing" if long else "less than zero when going short"
        return f"Invalid take profit ticks ({tp.ticks}). Ticks should be {side}."
    return None


def bracket_children(
    entry: SimOrder, req: PlaceRequest, tick: Decimal, next_id: Callable[[], int]
) -> list[SimOrder]:
    """Suspended SL/TP children, signed ticks relative to the entry's direction (§8.3).

    Ticks are normalised to the signed convention, so unsigned ticks (accepted when the
    exchange is told to) read back exactly as correctly signed ones would.
    """
    legs = [("SL", req.stop_loss, -1), ("TP", req.take_profit, 1)]
    made: list[SimOrder] = []
    for suffix, bracket, toward in legs:
        if bracket is None:
            continue
        ticks = toward * entry.side.sign * abs(bracket.ticks)
        child = SimOrder(
            id=next_id(),
            account_id=entry.account_id,
            contract_id=entry.contract_id,
            symbol_id=entry.symbol_id,
            creation_timestamp=entry.creation_timestamp,
            update_timestamp=entry.creation_timestamp,
            status=OrderStatus.SUSPENDED,
            type=OrderType(bracket.type),
            side=entry.side.opposite,
            size=entry.size,
            custom_tag=f"{entry.custom_tag}-{suffix}" if entry.custom_tag else None,
            trail_distance=ticks,
            trail_price=ticks * tick,
            parent_order_id=entry.id,
        )
        entry.bracket_children.append(child.id)
        made.append(child)
    if len(made) == 2:
        sl, tp = made
        tp.linked_order_id = sl.id
        sl.oco_sibling_id, tp.oco_sibling_id = tp.id, sl.id
    return made
