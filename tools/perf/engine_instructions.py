"""Process the bench workload: setup, 5,000 warm events, then K more (argv[1]).
Run under callgrind with K=0 and K=N; the difference of Ir / N is instructions per event."""

import sys

from risk_manager.calendar import HolidayCalendar, TradingCalendar
from risk_manager.cli.bench import ALL_RULES, DEFAULT_CATALOG, _setup, workload
from risk_manager.config.rules import RulesConfig
from risk_manager.engine.engine import Engine

k = int(sys.argv[1])
engine = Engine(
    RulesConfig.model_validate(ALL_RULES),
    TradingCalendar(holidays=HolidayCalendar.load("equity")),
    DEFAULT_CATALOG,
)
_setup(engine)
evs = workload(25000)
process = engine.process
for ev in evs[:5000]:
    process(ev, ev.at)
for ev in evs[5000 : 5000 + k]:
    process(ev, ev.at)
