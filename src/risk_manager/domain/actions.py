"""What the engine proposes: intents the runtime's enforcer carries out (RULES.md §5).

Every action carries the account, the rule's config key, a reason a trader can read (with the
numbers) and the instant it was proposed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar, assert_never

from risk_manager.domain.enums import OrderSide, OrderType
from risk_manager.domain.locks import LockKind


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    kind: ClassVar[str] = "action"
    at: datetime
    account_id: int
    rule: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Flatten(Action):
    """Cancel every working order of the trader, then close every position."""

    kind: ClassVar[str] = "flatten"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosePosition(Action):
    """Close a position, or reduce it by ``size`` contracts.

    A reduction also says what it is for: ``keep``, the |size| the rule wants left, so a retry
    recomputes what is left to do from the broker's current size (RULES.md §5: "reduce 4 to 2"
    retried when the broker shows 2 sends nothing). ``unless_stop`` (RULE-008): the broker's
    open orders are read first, and a working stop on the exit side cancels the close."""

    kind: ClassVar[str] = "close_position"
    contract_id: str
    size: int | None = None  # None = the whole position
    keep: int | None = None  # with size: the |size| to be left
    unless_stop: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder(Action):
    kind: ClassVar[str] = "cancel_order"
    order_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LockAccount(Action):
    kind: ClassVar[str] = "lock"
    until: datetime | None
    lock_kind: LockKind


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert(Action):
    """A message for the trader and the operator. ``cause``: the cause (``cause_key`` in
    engine/inflight.py) of the action this alert escalates, so the runtime can hold it back
    while the broker's latest answer shows that action done (docs/RUNTIME.md); None for
    every other alert. Not part of the alert's JSON."""

    kind: ClassVar[str] = "alert"
    severity: Severity
    cause: tuple[object, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceOrder(Action):
    kind: ClassVar[str] = "place_order"
    contract_id: str
    side: OrderSide
    type: OrderType
    size: int
    price: Decimal | None
    custom_tag: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ModifyOrder(Action):
    kind: ClassVar[str] = "modify_order"
    order_id: int
    price: Decimal


AnyAction = Flatten | ClosePosition | CancelOrder | LockAccount | Alert | PlaceOrder | ModifyOrder


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def action_to_dict(action: AnyAction) -> dict[str, object]:
    """The action as plain JSON-ready data (replay's ``--json`` lines, the journal's intent).

    Keys: at, account_id, rule, kind, reason, then the kind's own fields. Prices are strings so
    that they stay exact.
    """
    out: dict[str, object] = {
        "at": _iso(action.at),
        "account_id": action.account_id,
        "rule": action.rule,
        "kind": action.kind,
        "reason": action.reason,
    }
    match action:
        case ClosePosition():
            out |= {"contract_id": action.contract_id, "size": action.size}
            if action.keep is not None:
                out["keep"] = action.keep
        case CancelOrder():
            out |= {"order_id": action.order_id}
        case LockAccount():
            out |= {"until": _iso(action.until), "lock_kind": action.lock_kind.value}
        case Alert():
            out |= {"severity": action.severity.value}
        case PlaceOrder():
            out |= {
                "contract_id": action.contract_id,
                "side": "buy" if action.side is OrderSide.BID else "sell",
                "type": action.type.name.lower(),
                "size": action.size,
                "price": None if action.price is None else str(action.price),
                "custom_tag": action.custom_tag,
            }
        case ModifyOrder():
            out |= {"order_id": action.order_id, "price": str(action.price)}
        case Flatten():
            pass  # no fields of its own
        case _:
            assert_never(action)
    return out
