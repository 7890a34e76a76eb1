"""Wire shapes of the gateway, built in one place for REST and hub.

REST models carry explicit nulls; hub payloads omit null keys and use 7-digit fractional
seconds (.NET ``DateTimeOffset``). Decimals become JSON numbers only here: ints when integral.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from risk_manager.domain.contracts import ContractSpec
from risk_manager.sim.fills import gateway_price
from risk_manager.sim.records import SimAccount, SimMarket, SimOrder, SimPosition, SimTrade


def num(value: Decimal | None) -> int | float | None:
    """A JSON number: an int when integral (``49909``), else a float (``113.46875``).

    A float prints back the decimal's own digits when it has at most 15 significant digits:
    prices are exact ticks, averages are rounded to 9 places first (``fills.gateway_price``),
    money to cents."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def rest_time(when: datetime) -> str:
    """``2025-07-18T21:00:01.268009+00:00`` (6 fractional digits, UTC)."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def hub_time(when: datetime) -> str:
    """``2026-05-06T13:36:03.4962794+00:00`` (7 fractional digits, as .NET prints)."""
    utc = when.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond:06d}0+00:00"


def _omit_nulls(model: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in model.items() if v is not None}


def account_model(account: SimAccount) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "balance": num(account.balance),
        "canTrade": account.can_trade,
        "isVisible": account.is_visible,
        "simulated": account.simulated,
    }


def order_model(order: SimOrder, *, hub: bool = False) -> dict[str, Any]:
    stamp = hub_time if hub else rest_time
    model: dict[str, Any] = {
        "id": order.id,
        "accountId": order.account_id,
        "contractId": order.contract_id,
        "symbolId": order.symbol_id,
        "creationTimestamp": stamp(order.creation_timestamp),
        "updateTimestamp": stamp(order.update_timestamp),
        "status": int(order.status),
        "type": int(order.type),
        "side": int(order.side),
        "size": order.size,
        "limitPrice": num(order.limit_price),
        "stopPrice": num(order.stop_price),
        "fillVolume": order.fill_volume,
        "filledPrice": num(order.filled_price),
        "customTag": order.custom_tag,
        "trailDistance": order.trail_distance,
        "trailPrice": num(order.trail_price),
        "parentOrderId": order.parent_order_id,
        "linkedOrderId": order.linked_order_id,
    }
    return _omit_nulls(model) if hub else model


def trade_model(trade: SimTrade, *, hub: bool = False) -> dict[str, Any]:
    model: dict[str, Any] = {
        "id": trade.id,
        "accountId": trade.account_id,
        "contractId": trade.contract_id,
        "creationTimestamp": (hub_time if hub else rest_time)(trade.creation_timestamp),
        "price": num(trade.price),
        "profitAndLoss": num(trade.profit_and_loss),
        "fees": num(trade.fees),
        "commissions": num(trade.commissions),
        "side": int(trade.side),
        "size": trade.size,
        "voided": trade.voided,
        "orderId": trade.order_id,
    }
    return _omit_nulls(model) if hub else model


def position_model(position: SimPosition, *, hub: bool = False) -> dict[str, Any]:
    kind = 1 if position.net > 0 else 2 if position.net < 0 else 0
    model: dict[str, Any] = {
        "id": position.id,
        "accountId": position.account_id,
        "contractId": position.contract_id,
        "contractDisplayName": position.contract_display_name,
        "creationTimestamp": (hub_time if hub else rest_time)(position.creation_timestamp),
        "type": kind,
        "size": abs(position.net),
        "averagePrice": num(gateway_price(position.average_price)),
    }
    return _omit_nulls(model) if hub else model


def contract_model(
    contract_id: str, name: str, spec: ContractSpec, *, active: bool
) -> dict[str, Any]:
    return {
        "id": contract_id,
        "name": name,
        "description": spec.description,
        "tickSize": num(spec.tick_size),
        "tickValue": num(spec.tick_value),
        "activeContract": active,
        "symbolId": spec.symbol_id,
    }


def quote_model(market: SimMarket) -> dict[str, Any]:
    """The full ``GatewayQuote`` object (API doc §7.4)."""
    change = market.last - market.open
    percent = (change / market.open * 100).quantize(Decimal("0.0001")) if market.open else None
    return {
        "symbol": market.symbol_id,
        "symbolName": market.symbol_name,
        "lastPrice": num(market.last),
        "bestBid": num(market.bid),
        "bestAsk": num(market.ask),
        "change": num(change),
        "changePercent": num(percent),
        "open": num(market.open),
        "high": num(market.high),
        "low": num(market.low),
        "volume": market.volume,
        "lastUpdated": hub_time(market.updated),
        "timestamp": hub_time(market.updated),
    }


def depth_entry(
    timestamp: str, kind: int, price: Decimal, volume: int, current: int
) -> dict[str, Any]:
    """One ``GatewayDepth`` entry (API doc §7.4): ``timestamp`` already in ``hub_time`` form,
    ``type`` a DomType, ``volume`` the level's total resting volume (0: the level is gone),
    ``currentVolume`` this update's change."""
    return {
        "timestamp": timestamp,
        "type": int(kind),
        "price": num(price),
        "volume": volume,
        "currentVolume": current,
    }


def market_trade_print(
    market: SimMarket, price: Decimal, volume: int, aggressor: int
) -> dict[str, Any]:
    return {
        "symbolId": market.symbol_id,
        "price": num(price),
        "timestamp": hub_time(market.updated),
        "type": aggressor,
        "volume": volume,
    }
