"""The hub methods clients invoke (§7.2) and the subscription index events are routed by."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from risk_manager.signalr import MessageType

# method -> (subscription kind, argument type or None, subscribe?) per hub
_METHODS: dict[str, dict[str, tuple[str, type | None, bool]]] = {
    "user": {
        "SubscribeAccounts": ("accounts", None, True),
        "UnsubscribeAccounts": ("accounts", None, False),
        "SubscribeOrders": ("orders", int, True),
        "UnsubscribeOrders": ("orders", int, False),
        "SubscribePositions": ("positions", int, True),
        "UnsubscribePositions": ("positions", int, False),
        "SubscribeTrades": ("trades", int, True),
        "UnsubscribeTrades": ("trades", int, False),
    },
    "market": {
        "SubscribeContractQuotes": ("quotes", str, True),
        "UnsubscribeContractQuotes": ("quotes", str, False),
        "SubscribeContractTrades": ("market_trades", str, True),
        "UnsubscribeContractTrades": ("market_trades", str, False),
        "SubscribeContractMarketDepth": ("depth", str, True),
        "UnsubscribeContractMarketDepth": ("depth", str, False),
    },
}

# Sent on both hubs when the session's token stops being valid (revoked or expired); the live
# gateway has it (project-x-py registers a handler on both hubs, API doc §12b).
LOGOUT_TARGET = "GatewayLogout"

_USER_EVENT_KIND = {
    "GatewayUserOrder": "orders",
    "GatewayUserPosition": "positions",
    "GatewayUserTrade": "trades",
}


def user_event_key(target: str, account_id: int) -> Hashable:
    """Who gets a user-hub event: SubscribeAccounts covers every account of the user."""
    if target == "GatewayUserAccount":
        return ("accounts", None)
    kind = _USER_EVENT_KIND.get(target)
    if kind is None:
        raise ValueError(
            f"unknown user-hub event {target!r}: use GatewayUserAccount, "
            + ", ".join(_USER_EVENT_KIND)
        )
    return (kind, account_id)


def quote_key(contract_id: str) -> Hashable:
    return ("quotes", contract_id)


def market_trades_key(contract_id: str) -> Hashable:
    return ("market_trades", contract_id)


def depth_key(contract_id: str) -> Hashable:
    return ("depth", contract_id)


def depth_subscription(call: Call) -> str | None:
    """The contract id when ``call`` is a ``SubscribeContractMarketDepth``, else None."""
    kind, arg = call.key if isinstance(call.key, tuple) else (None, None)
    return arg if call.subscribe and kind == "depth" and isinstance(arg, str) else None


@dataclass(frozen=True, slots=True)
class Call:
    key: Hashable
    subscribe: bool


def bind_invocation(hub: str, message: dict[str, Any]) -> Call | str:
    """The subscription change an invocation asks for, or the Completion error text."""
    target = message.get("target")
    spec = _METHODS[hub].get(target) if isinstance(target, str) else None
    if spec is None or message.get("type") == MessageType.STREAM_INVOCATION:
        return f"Failed to invoke '{target}' because it does not exist."
    kind, arg_type, subscribe = spec
    arguments = message.get("arguments", [])
    if not isinstance(arguments, list):
        return f"Failed to invoke '{target}': 'arguments' must be an array."
    expected = 0 if arg_type is None else 1
    if len(arguments) != expected:
        return (
            f"Failed to invoke '{target}' due to an error on the server. InvalidDataException:"
            f" Invocation provides {len(arguments)} argument(s) but target expects {expected}."
        )
    arg = arguments[0] if arguments else None
    if arg_type is not None and (isinstance(arg, bool) or not isinstance(arg, arg_type)):
        return (
            f"Failed to invoke '{target}' due to an error on the server. InvalidDataException:"
            f" Error binding arguments: expected {arg_type.__name__}, got {arg!r}."
        )
    return Call((kind, arg), subscribe)


C = TypeVar("C", bound=Hashable)


class Subscriptions(Generic[C]):
    """key -> connections, and connection -> keys; sets, so subscribing twice counts once."""

    def __init__(self) -> None:
        self._by_key: dict[Hashable, set[C]] = {}
        self._by_conn: dict[C, set[Hashable]] = {}

    def apply(self, conn: C, call: Call) -> None:
        if call.subscribe:
            self._by_key.setdefault(call.key, set()).add(conn)
            self._by_conn.setdefault(conn, set()).add(call.key)
        else:
            self._remove(conn, call.key)
            self._by_conn.get(conn, set()).discard(call.key)

    def subscribers(self, key: Hashable) -> list[C]:
        return list(self._by_key.get(key, ()))

    def forget(self, conn: C) -> None:
        """Drop every subscription of a connection: nothing survives a reconnect."""
        for key in self._by_conn.pop(conn, set()):
            self._remove(conn, key)

    def _remove(self, conn: C, key: Hashable) -> None:
        conns = self._by_key.get(key)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._by_key[key]
