"""The locked refusal (as cli/bench.py run_refusal_bench) against whichever engine is on the
path (old tree or new), self-contained; prints mean/p50/p99 µs and CPU seconds."""

import json
import sys
import time
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from risk_manager.calendar import HolidayCalendar, TradingCalendar
from risk_manager.cli.bench import ALL_RULES, START
from risk_manager.config.rules import RulesConfig
from risk_manager.domain.actions import CancelOrder
from risk_manager.domain.contracts import DEFAULT_CATALOG
from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType
from risk_manager.domain.events import AccountEvent, OrderEvent
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Account, Order
from risk_manager.engine.engine import Engine

n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
c0 = time.process_time()
engine = Engine(
    RulesConfig.model_validate(ALL_RULES),
    TradingCalendar(holidays=HolidayCalendar.load("equity")),
    DEFAULT_CATALOG,
)
engine.process(AccountEvent(START, Account(2, "LOCKED", Decimal(50_000), True)), START)
engine.restore_locks([Lock(2, "daily_realized_loss", LockKind.HARD, "bench", START, None)], START)
pairs = []
now = START + timedelta(seconds=1)
for i in range(n):
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
warm = min(5000, n // 10)
clock = time.perf_counter_ns
lat = []
refused = 0
for i, (a, b) in enumerate(pairs):
    s = clock()
    out = engine.process(a, a.at)
    e = clock()
    if i >= warm:
        lat.append(e - s)
    refused += any(isinstance(x, CancelOrder) and x.order_id == a.order.id for x in out)
    engine.process(b, b.at)
assert refused == n, refused
lat.sort()
c = len(lat)
print(
    json.dumps(
        {
            "mean_us": round(sum(lat) / c / 1000, 2),
            "p50_us": round(lat[c // 2] / 1000, 2),
            "p99_us": round(lat[int(c * 0.99)] / 1000, 2),
            "cpu_s": round(time.process_time() - c0, 2),
        }
    )
)
