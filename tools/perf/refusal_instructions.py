"""Locked account: 1,000 warm refusal pairs, then K more (argv[1]); callgrind K=0 vs K=N."""

import sys
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from risk_manager.calendar import HolidayCalendar, TradingCalendar
from risk_manager.cli.bench import ALL_RULES, START
from risk_manager.config.rules import RulesConfig
from risk_manager.domain.contracts import DEFAULT_CATALOG
from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType
from risk_manager.domain.events import AccountEvent, OrderEvent
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Account, Order
from risk_manager.engine.engine import Engine

k = int(sys.argv[1])
engine = Engine(
    RulesConfig.model_validate(ALL_RULES),
    TradingCalendar(holidays=HolidayCalendar.load("equity")),
    DEFAULT_CATALOG,
)
engine.process(AccountEvent(START, Account(2, "LOCKED", Decimal(50_000), True)), START)
engine.restore_locks([Lock(2, "daily_realized_loss", LockKind.HARD, "bench", START, None)], START)
pairs = []
now = START + timedelta(seconds=1)
for i in range(4000):
    now += timedelta(microseconds=500)
    o = Order(
        30_000 + i,
        2,
        "CON.F.US.ENQ.H26",
        OrderStatus.OPEN,
        OrderType.LIMIT,
        OrderSide.BID,
        1,
        now,
        now,
        limit_price=Decimal("24000.00"),
    )
    pairs.append((OrderEvent(now, o), OrderEvent(now, replace(o, status=OrderStatus.CANCELLED))))
for a, b in pairs[: 1000 + k]:
    engine.process(a, a.at)
    engine.process(b, b.at)
