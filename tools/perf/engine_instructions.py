"""The bench workload (``risk-manager bench engine``'s): setup, 5,000 warm events, then K
more (argv[1]); run under callgrind with K=0 and K=N (tools/perf/README.md)."""

import sys

from risk_manager.cli.bench import workload, workload_engine

k = int(sys.argv[1])
engine = workload_engine()
process = engine.process
events = workload(25_000)  # the same events in both runs: only processing differs
for ev in events[: 5000 + k]:
    process(ev, ev.at)
