"""Wire payloads (REST rows and hub `data` objects) → domain values and events.

Tolerant of what the gateway does (API doc §7.4, §12): null keys are omitted, integers come
without decimals, timestamps carry 7 fractional digits, user-hub payloads are wrapped in
``{action, data}``, and quote payloads may be a bare object or a one-element array. Numbers
become ``Decimal`` through ``str`` so that a float never leaks into money.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

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

USER_TARGETS = frozenset(
    {"GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade"}
)
MARKET_TARGETS = frozenset({"GatewayQuote"})


class WireError(ValueError):
    """A payload the mapping cannot read; names the field."""


def to_decimal(value: object, field: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise WireError(f"{field}: expected a number, got {value!r}")
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise WireError(f"{field}: expected a number, got {value!r}") from None


def opt_decimal(value: object, field: str) -> Decimal | None:
    return None if value is None else to_decimal(value, field)


def parse_time(value: object, field: str = "timestamp") -> datetime:
    """ISO 8601 with up to 7 fractional digits; naive times are taken as UTC."""
    if not isinstance(value, str):
        raise WireError(f"{field}: expected an ISO 8601 string, got {value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python reads at most 6 fractional digits: trim the 7th (.NET ticks).
    dot = text.find(".")
    if dot != -1:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        if end - dot - 1 > 6:
            text = text[: dot + 7] + text[end:]
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise WireError(f"{field}: not an ISO 8601 instant: {value!r}") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def opt_time(value: object, field: str) -> datetime | None:
    return None if value is None else parse_time(value, field)


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        raise WireError(f"{key}: required integer missing or invalid ({value!r})")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise WireError(f"{key}: expected an integer, got {value!r}") from None


def _opt_int(data: Mapping[str, Any], key: str) -> int | None:
    return None if data.get(key) is None else _int(data, key)


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise WireError(f"{key}: required string missing or invalid ({value!r})")
    return value


def account_from_wire(data: Mapping[str, Any]) -> Account:
    return Account(
        id=_int(data, "id"),
        name=str(data.get("name", "")),
        balance=to_decimal(data.get("balance"), "balance"),
        can_trade=bool(data.get("canTrade", True)),
        is_visible=bool(data.get("isVisible", True)),
        simulated=bool(data.get("simulated", True)),
    )


def position_from_wire(data: Mapping[str, Any]) -> Position:
    return Position(
        id=_int(data, "id"),
        account_id=_int(data, "accountId"),
        contract_id=_str(data, "contractId"),
        type=PositionType.decode(data.get("type", 0)),
        size=abs(int(data.get("size", 0) or 0)),
        average_price=to_decimal(data.get("averagePrice", 0), "averagePrice"),
        created_at=opt_time(data.get("creationTimestamp"), "creationTimestamp"),
    )


def order_from_wire(data: Mapping[str, Any]) -> Order:
    return Order(
        id=_int(data, "id"),
        account_id=_int(data, "accountId"),
        contract_id=_str(data, "contractId"),
        status=OrderStatus.decode(data.get("status", 0)),
        type=OrderType.decode(data.get("type", 0)),
        side=OrderSide.decode(data.get("side", 0)),
        size=int(data.get("size", 0) or 0),
        created_at=opt_time(data.get("creationTimestamp"), "creationTimestamp"),
        updated_at=opt_time(data.get("updateTimestamp"), "updateTimestamp"),
        limit_price=opt_decimal(data.get("limitPrice"), "limitPrice"),
        stop_price=opt_decimal(data.get("stopPrice"), "stopPrice"),
        fill_volume=int(data.get("fillVolume", 0) or 0),
        filled_price=opt_decimal(data.get("filledPrice"), "filledPrice"),
        custom_tag=data.get("customTag") if isinstance(data.get("customTag"), str) else None,
        parent_order_id=_opt_int(data, "parentOrderId"),
        linked_order_id=_opt_int(data, "linkedOrderId"),
    )


def trade_from_wire(data: Mapping[str, Any]) -> Trade:
    return Trade(
        id=_int(data, "id"),
        account_id=_int(data, "accountId"),
        contract_id=_str(data, "contractId"),
        created_at=parse_time(data.get("creationTimestamp"), "creationTimestamp"),
        price=to_decimal(data.get("price"), "price"),
        side=OrderSide.decode(data.get("side", 0)),
        size=int(data.get("size", 0) or 0),
        order_id=_int(data, "orderId"),
        fees=to_decimal(data.get("fees", 0), "fees"),
        commissions=to_decimal(data.get("commissions", 0), "commissions"),
        profit_and_loss=opt_decimal(data.get("profitAndLoss"), "profitAndLoss"),
        voided=bool(data.get("voided", False)),
    )


def quote_from_wire(contract_id: str, data: Mapping[str, Any]) -> Quote:
    stamp = data.get("timestamp") or data.get("lastUpdated")
    return Quote(
        contract_id=contract_id,
        last_price=opt_decimal(data.get("lastPrice"), "lastPrice"),
        best_bid=opt_decimal(data.get("bestBid"), "bestBid"),
        best_ask=opt_decimal(data.get("bestAsk"), "bestAsk"),
        timestamp=opt_time(stamp, "timestamp") if stamp is not None else None,
    )


def _unwrap(arg: object) -> Mapping[str, Any]:
    """A user-hub argument: ``{action, data}`` (live) or the bare object (docs)."""
    if not isinstance(arg, Mapping):
        raise WireError(f"expected an object argument, got {type(arg).__name__}")
    data = arg.get("data", arg) if "action" in arg or "data" in arg else arg
    if not isinstance(data, Mapping):
        raise WireError("`data` is not an object")
    return data


def user_events(target: str, arguments: Sequence[object], at: datetime) -> list[Event]:
    """Domain events for one user-hub message; raises KeyError for an unknown target."""
    out: list[Event] = []
    for arg in arguments:
        data = _unwrap(arg)
        if target == "GatewayUserAccount":
            out.append(AccountEvent(at, account_from_wire(data)))
        elif target == "GatewayUserOrder":
            out.append(OrderEvent(at, order_from_wire(data)))
        elif target == "GatewayUserPosition":
            out.append(PositionEvent(at, position_from_wire(data)))
        elif target == "GatewayUserTrade":
            out.append(TradeEvent(at, trade_from_wire(data)))
        else:
            raise KeyError(target)
    return out


def market_events(target: str, arguments: Sequence[object], at: datetime) -> list[Event]:
    """Domain events for one market-hub message (only quotes matter to the engine)."""
    if target != "GatewayQuote":
        raise KeyError(target)
    if len(arguments) < 2 or not isinstance(arguments[0], str):
        raise WireError("GatewayQuote: expected [contractId, quote]")
    contract_id = arguments[0]
    payload = arguments[1]
    items = payload if isinstance(payload, list) else [payload]
    out: list[Event] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise WireError("GatewayQuote: quote is not an object")
        out.append(QuoteEvent(at, quote_from_wire(contract_id, item)))
    return out
