"""Builders for engine tests: gateway-like domain events with sensible defaults."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from risk_manager.calendar import HolidayCalendar, TradingCalendar
from risk_manager.config.rules import RulesConfig
from risk_manager.domain.actions import AnyAction, ClosePosition, LockAccount
from risk_manager.domain.contracts import DEFAULT_CATALOG
from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
from risk_manager.domain.events import (
    AccountEvent,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    TradeEvent,
)
from risk_manager.domain.models import Account, Order, Position, Quote, Trade
from risk_manager.engine.engine import Engine

ACC = 7
NQ = "CON.F.US.ENQ.H26"
MNQ = "CON.F.US.MNQ.H26"
ES = "CON.F.US.EP.H26"
CL = "CON.F.US.CLE.H26"
# Tuesday 2026-03-10 10:00 CT (CDT, UTC-5): mid-session, well away from the 17:00 reset.
T0 = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
CAL = TradingCalendar(holidays=HolidayCalendar.load("equity"))
A = TypeVar("A", bound=AnyAction)


def rules(**sections: Mapping[str, object] | str | int) -> RulesConfig:
    """A rules config: each rule's section enabled, the scalar options (mark, stale_mark,
    retry_after, max_retries) as given."""
    data: dict[str, object] = {}
    for key, value in sections.items():
        if key in ("mark", "stale_mark", "retry_after", "max_retries"):
            data[key] = value
        else:
            assert isinstance(value, Mapping), f"{key}: a rule's section is a mapping"
            data[key] = {"enabled": True, **value}
    return RulesConfig.model_validate(data)


class Sim:
    """Drives an engine like a broker would, one account, moving a clock."""

    def __init__(self, config: RulesConfig, start: datetime = T0, balance: str = "50000"):
        self.engine = Engine(config, CAL, DEFAULT_CATALOG)
        self.now = start
        self._trade_id = 1000
        self._order_id = 5000
        self.positions: dict[str, tuple[int, Decimal]] = {}
        self.actions: list[AnyAction] = []
        self.account(balance)

    def _go(self, event: Any) -> list[AnyAction]:
        out = self.engine.process(event, self.now)
        self.actions.extend(out)
        return out

    def advance(self, **kw: float) -> list[AnyAction]:
        self.now += timedelta(**kw)
        out = self.engine.tick(self.now)
        self.actions.extend(out)
        return out

    def account(self, balance: str = "50000", can_trade: bool = True) -> list[AnyAction]:
        return self._go(AccountEvent(self.now, Account(ACC, "TEST", Decimal(balance), can_trade)))

    def quote(
        self, cid: str, last: str, bid: str | None = None, ask: str | None = None
    ) -> list[AnyAction]:
        q = Quote(cid, Decimal(last), Decimal(bid) if bid else None, Decimal(ask) if ask else None)
        return self._go(QuoteEvent(self.now, q))

    def position(self, cid: str, signed: int, avg: str = "100") -> list[AnyAction]:
        ptype = (
            PositionType.LONG
            if signed > 0
            else PositionType.SHORT
            if signed < 0
            else (PositionType.UNDEFINED)
        )
        if signed == 0:
            self.positions.pop(cid, None)
        else:
            self.positions[cid] = (signed, Decimal(avg))
        p = Position(1, ACC, cid, ptype, abs(signed), Decimal(avg), self.now)
        return self._go(PositionEvent(self.now, p))

    def trade(
        self,
        cid: str = NQ,
        pnl: str | None = None,
        fees: str = "0",
        side: int = 0,
        size: int = 1,
        price: str = "100",
        trade_id: int | None = None,
        voided: bool = False,
        at: datetime | None = None,
        order_id: int = 1,
    ) -> list[AnyAction]:
        if trade_id is None:
            self._trade_id += 1
            trade_id = self._trade_id
        t = Trade(
            trade_id,
            ACC,
            cid,
            at or self.now,
            Decimal(price),
            OrderSide(side),
            size,
            order_id,
            Decimal(fees),
            Decimal(0),
            None if pnl is None else Decimal(pnl),
            voided,
        )
        return self._go(TradeEvent(self.now, t))

    def order(
        self,
        cid: str = NQ,
        side: int = 0,
        type_: int = 1,
        size: int = 1,
        status: int = 1,
        order_id: int | None = None,
        tag: str | None = None,
        stop: str | None = None,
        limit: str | None = None,
    ) -> list[AnyAction]:
        if order_id is None:
            self._order_id += 1
            order_id = self._order_id
        o = Order(
            order_id,
            ACC,
            cid,
            OrderStatus(status),
            OrderType(type_),
            OrderSide(side),
            size,
            self.now,
            self.now,
            Decimal(limit) if limit else None,
            Decimal(stop) if stop else None,
            custom_tag=tag,
        )
        return self._go(OrderEvent(self.now, o))


def kinds(actions: Sequence[AnyAction]) -> list[tuple[str, str]]:
    return [(a.kind, a.rule) for a in actions]


def one(actions: Sequence[AnyAction], kind: type[A]) -> A:
    """The only action, which must be a ``kind``."""
    (action,) = actions
    assert isinstance(action, kind), f"{type(action).__name__} is not a {kind.__name__}"
    return action


def closes(actions: Sequence[AnyAction]) -> list[tuple[str, int | None]]:
    """Each ``ClosePosition`` as (contract id, size: None for the whole position)."""
    return [(a.contract_id, a.size) for a in actions if isinstance(a, ClosePosition)]


def locks(actions: Sequence[AnyAction], rule: str | None = None) -> list[LockAccount]:
    """The ``LockAccount`` actions, only ``rule``'s when given."""
    return [a for a in actions if isinstance(a, LockAccount) and rule in (None, a.rule)]
