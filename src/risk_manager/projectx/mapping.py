"""Wire payloads (REST rows and hub `data` objects) → domain values and events.

Tolerant of what the gateway does (API doc §7.4, §12): null keys are omitted, integers come
without decimals, timestamps carry 7 fractional digits, user-hub payloads are wrapped in
``{action, data}``, and quote payloads may be a bare object or a one-element array. Strict about
what the engine computes with: every field is checked by ``wire_values`` (finite numbers, real
integers and booleans), and a record with one bad field is rejected whole, never patched with
a guess. A hub frame's records are read one by one: a bad record costs only itself
(``decode_user`` / ``decode_market`` return the rejections beside the events).

Required fields per record (absent or null = rejected); the others default as shown:

- Account: ``id``, ``balance``, ``canTrade`` (``name`` "", ``isVisible``/``simulated`` true).
- Position: ``id``, ``accountId``, ``contractId``, ``type`` (0, 1 or 2), ``size``, and
  ``averagePrice`` unless the position is flat.
- Order: ``id``, ``accountId``, ``contractId``, ``status``, ``type``, ``side`` (0 or 1),
  ``size`` (``fillVolume`` 0; prices, tags, parent/linked ids and timestamps optional).
- Trade: ``id``, ``accountId``, ``contractId``, ``creationTimestamp``, ``price``, ``side``,
  ``size``, ``orderId`` (``fees``/``commissions`` 0, ``voided`` false, ``profitAndLoss`` null =
  an opening fill).
- Quote: nothing (every price optional), but what is there must be a finite number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
from risk_manager.domain.events import (
    AccountEvent,
    Event,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    TradeEvent,
)
from risk_manager.domain.models import Account, Order, Position, Quote, Trade
from risk_manager.projectx.wire_values import (
    Fault,
    Fields,
    WireError,
    is_json_int,
    opt_decimal,
    opt_time,
    parse_time,
    to_decimal,
    type_name,
)

__all__ = [
    "MARKET_TARGETS",
    "USER_TARGETS",
    "Decoded",
    "Fault",
    "WireError",
    "account_from_wire",
    "decode_market",
    "decode_user",
    "market_events",
    "opt_decimal",
    "opt_time",
    "order_from_wire",
    "parse_time",
    "position_from_wire",
    "quote_from_wire",
    "read_record",
    "to_decimal",
    "trade_from_wire",
    "user_events",
]

T = TypeVar("T")

USER_TARGETS = frozenset(
    {"GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade"}
)
MARKET_TARGETS = frozenset({"GatewayQuote"})
_SIDES = frozenset(int(s) for s in OrderSide)
_POSITION_TYPES = frozenset(int(t) for t in PositionType)
_FLAT = Decimal(0)


def account_from_wire(data: Mapping[str, Any]) -> Account:
    """A ``TradingAccountModel`` row or ``GatewayUserAccount`` payload; raises ``WireError``."""
    f = Fields(data)
    return Account(
        id=f.integer("id"),
        name=f.opt_string("name", "") or "",
        balance=f.decimal("balance"),
        can_trade=f.boolean("canTrade"),
        is_visible=f.boolean("isVisible", True),
        simulated=f.boolean("simulated", True),
    )


def position_from_wire(data: Mapping[str, Any]) -> Position:
    """A ``PositionModel`` row or ``GatewayUserPosition`` payload; raises ``WireError``.

    ``type`` 0 with a size is refused: read as flat, it would hide an open position."""
    f = Fields(data)
    kind = PositionType(f.code("type", _POSITION_TYPES))
    size = f.size()
    if kind is PositionType.UNDEFINED and size:
        raise WireError("type", Fault.BAD_VALUE, f"0 (undefined) for a position of size {size}")
    return Position(
        id=f.integer("id"),
        account_id=f.integer("accountId"),
        contract_id=f.string("contractId"),
        type=kind,
        size=size,
        average_price=f.decimal("averagePrice", _FLAT if size == 0 else None),
        created_at=f.opt_time("creationTimestamp"),
    )


def order_from_wire(data: Mapping[str, Any]) -> Order:
    """An ``OrderModel`` row or ``GatewayUserOrder`` payload; raises ``WireError``.

    An unknown ``status`` or ``type`` integer decodes to the enum's zero member (the gateway
    adds values); an unknown ``side`` is refused."""
    f = Fields(data)
    return Order(
        id=f.integer("id"),
        account_id=f.integer("accountId"),
        contract_id=f.string("contractId"),
        status=OrderStatus.decode(f.code("status")),
        type=OrderType.decode(f.code("type")),
        side=OrderSide(f.code("side", _SIDES)),
        size=f.size(),
        created_at=f.opt_time("creationTimestamp"),
        updated_at=f.opt_time("updateTimestamp"),
        limit_price=f.opt_decimal("limitPrice"),
        stop_price=f.opt_decimal("stopPrice"),
        fill_volume=f.size("fillVolume", 0),
        filled_price=f.opt_decimal("filledPrice"),
        custom_tag=f.opt_string("customTag"),
        parent_order_id=f.opt_integer("parentOrderId"),
        linked_order_id=f.opt_integer("linkedOrderId"),
    )


def trade_from_wire(data: Mapping[str, Any]) -> Trade:
    """A ``HalfTradeModel`` row or ``GatewayUserTrade`` payload; raises ``WireError``."""
    f = Fields(data)
    return Trade(
        id=f.integer("id"),
        account_id=f.integer("accountId"),
        contract_id=f.string("contractId"),
        created_at=f.time("creationTimestamp"),
        price=f.decimal("price"),
        side=OrderSide(f.code("side", _SIDES)),
        size=f.size(),
        order_id=f.integer("orderId"),
        fees=f.decimal("fees", _FLAT),
        commissions=f.decimal("commissions", _FLAT),
        profit_and_loss=f.opt_decimal("profitAndLoss"),
        voided=f.boolean("voided", False),
    )


def quote_from_wire(contract_id: str, data: Mapping[str, Any]) -> Quote:
    """One ``GatewayQuote`` object; raises ``WireError``."""
    f = Fields(data)
    stamp_key = "timestamp" if data.get("timestamp") is not None else "lastUpdated"
    return Quote(
        contract_id=contract_id,
        last_price=f.opt_decimal("lastPrice"),
        best_bid=f.opt_decimal("bestBid"),
        best_ask=f.opt_decimal("bestAsk"),
        timestamp=f.opt_time(stamp_key),
    )


def _record_id(data: Mapping[str, Any]) -> object:
    value = data.get("id")
    return value if isinstance(value, int | str) and not isinstance(value, bool) else None


def read_record(parse: Callable[[Mapping[str, Any]], T], data: object, where: str) -> T:
    """``parse(data)`` for one record; a ``WireError`` leaves carrying the record's id.

    ``where`` names the record's place for a record that is not an object at all."""
    if type(data) is not dict and not isinstance(data, Mapping):  # a parsed record: a dict
        raise WireError(where, Fault.MALFORMED, f"expected an object, got {type_name(data)}")
    try:
        try:
            return parse(data)
        except ArithmeticError as exc:  # a number no reader should have let through
            raise WireError(where, Fault.BAD_VALUE, f"a number out of reach ({exc!r})") from None
    except WireError as exc:
        exc.record_id = _record_id(data)
        account = data.get("accountId")
        if is_json_int(account):  # whose book may now be missing something
            exc.account_id = account
        raise


@dataclass(slots=True)
class Decoded:
    """One hub frame read record by record: the events and the records rejected."""

    events: list[Event] = field(default_factory=list)
    rejected: list[WireError] = field(default_factory=list)

    def add(self, parse: Callable[[Mapping[str, Any]], Event], data: object, where: str) -> None:
        """Read one record; a bad one is kept as a rejection, the frame goes on."""
        try:
            self.events.append(read_record(parse, data, where))
        except WireError as exc:
            self.rejected.append(exc)

    def strict(self) -> list[Event]:
        """The events, or the first rejection raised (replay: a bad line is an error)."""
        if self.rejected:
            raise self.rejected[0]
        return self.events


def _unwrap(arg: object) -> object:
    """A user-hub argument: ``{action, data}`` (live) or the bare object (docs)."""
    if (type(arg) is dict or isinstance(arg, Mapping)) and ("action" in arg or "data" in arg):
        return arg.get("data")
    return arg


_USER: dict[str, Callable[[datetime, Mapping[str, Any]], Event]] = {
    "GatewayUserAccount": lambda at, d: AccountEvent(at, account_from_wire(d)),
    "GatewayUserOrder": lambda at, d: OrderEvent(at, order_from_wire(d)),
    "GatewayUserPosition": lambda at, d: PositionEvent(at, position_from_wire(d)),
    "GatewayUserTrade": lambda at, d: TradeEvent(at, trade_from_wire(d)),
}


def decode_user(target: str, arguments: Sequence[object], at: datetime) -> Decoded:
    """Events for one user-hub message, one per readable record; raises ``KeyError`` for an
    unknown target."""
    parse = partial(_USER[target], at)
    out = Decoded()
    for i, arg in enumerate(arguments):
        out.add(parse, _unwrap(arg), f"arguments[{i}]")
    return out


def decode_market(target: str, arguments: Sequence[object], at: datetime) -> Decoded:
    """Quote events for one market-hub message, one per readable quote object; raises
    ``KeyError`` for a target other than ``GatewayQuote`` (the only one the engine uses)."""
    if target != "GatewayQuote":
        raise KeyError(target)
    out = Decoded()
    if len(arguments) < 2 or not isinstance(arguments[0], str):
        out.rejected.append(
            WireError("arguments", Fault.MALFORMED, "GatewayQuote: expected [contractId, quote]")
        )
        return out
    contract_id, payload = arguments[0], arguments[1]
    items = payload if isinstance(payload, list) else [payload]

    def parse(data: Mapping[str, Any]) -> Event:
        return QuoteEvent(at, quote_from_wire(contract_id, data))

    for i, item in enumerate(items):
        out.add(parse, item, f"quote[{i}]")
    return out


def user_events(target: str, arguments: Sequence[object], at: datetime) -> list[Event]:
    """Domain events for one user-hub message, all or nothing: raises the first record's
    ``WireError`` (replay's strict reading), ``KeyError`` for an unknown target."""
    return decode_user(target, arguments, at).strict()


def market_events(target: str, arguments: Sequence[object], at: datetime) -> list[Event]:
    """Domain events for one market-hub message, all or nothing (see ``user_events``)."""
    return decode_market(target, arguments, at).strict()
