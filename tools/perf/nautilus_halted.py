"""nautilus_trader's RiskEngine denying a SubmitOrder while TradingState.HALTED, timed per
command with perf_counter_ns (commands built before timing), set up as in nautilus_trader's
tests/unit_tests/risk/test_engine.py (cash account, AUD/USD.SIM, MessageBus, Portfolio,
ExecutionEngine, MockExecutionClient). Usage: python nt_halted.py [N]"""

import json
import sys
import time

from nautilus_trader.common.component import MessageBus, TestClock
from nautilus_trader.config import ExecEngineConfig, RiskEngineConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.engine import ExecutionEngine
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.enums import AccountType, OrderSide, OrderStatus, TradingState
from nautilus_trader.model.identifiers import ClientId, Venue
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.portfolio.portfolio import Portfolio
from nautilus_trader.risk.engine import RiskEngine
from nautilus_trader.test_kit.mocks.exec_clients import MockExecutionClient
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.test_kit.stubs.component import TestComponentStubs
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.identifiers import TestIdStubs
from nautilus_trader.trading.strategy import Strategy

n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
warm = min(5_000, n // 10)
AUDUSD = TestInstrumentProvider.default_fx_ccy("AUD/USD")
clock = TestClock()
trader_id = TestIdStubs.trader_id()
venue = Venue("SIM")
msgbus = MessageBus(trader_id=trader_id, clock=clock)
cache = TestComponentStubs.cache()
portfolio = Portfolio(msgbus=msgbus, cache=cache, clock=clock)
exec_engine = ExecutionEngine(msgbus=msgbus, cache=cache, clock=clock, config=ExecEngineConfig())
risk = RiskEngine(
    portfolio=portfolio, msgbus=msgbus, cache=cache, clock=clock, config=RiskEngineConfig()
)
client = MockExecutionClient(
    client_id=ClientId(venue.value),
    venue=venue,
    account_type=AccountType.CASH,
    base_currency=USD,
    msgbus=msgbus,
    cache=cache,
    clock=clock,
)
portfolio.update_account(TestEventStubs.cash_account_state())
exec_engine.register_client(client)
cache.add_instrument(AUDUSD)
exec_engine.start()
risk.start()
strategy = Strategy()
strategy.register(trader_id=trader_id, portfolio=portfolio, msgbus=msgbus, cache=cache, clock=clock)
risk.set_trading_state(TradingState.HALTED)

orders = [
    strategy.order_factory.limit(
        AUDUSD.id, OrderSide.BUY, Quantity.from_int(100_000), Price.from_str("1.00000")
    )
    for _ in range(n)
]
commands = [
    SubmitOrder(
        trader_id=trader_id,
        strategy_id=strategy.id,
        position_id=None,
        order=o,
        command_id=UUID4(),
        ts_init=clock.timestamp_ns(),
    )
    for o in orders
]
execute = risk.execute
for c in commands[:warm]:
    execute(c)
clock_ns = time.perf_counter_ns
lat = []
for c in commands[warm:]:
    s = clock_ns()
    execute(c)
    e = clock_ns()
    lat.append(e - s)
denied = sum(o.status == OrderStatus.DENIED for o in orders)
assert denied == n, f"only {denied} of {n} denied"
assert client.calls == ["_start"], client.calls  # nothing reached the venue
lat.sort()
count = len(lat)
print(
    json.dumps(
        {
            "nautilus_trader": __import__("nautilus_trader").__version__,
            "events": count,
            "denied": denied,
            "mean_us": round(sum(lat) / count / 1000, 2),
            "p50_us": round(lat[count // 2] / 1000, 2),
            "p99_us": round(lat[int(count * 0.99)] / 1000, 2),
        }
    )
)
