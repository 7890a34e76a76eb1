"""Locked account (``bench engine``'s locked refusal): 1,000 warm refusal pairs, then K more
(argv[1]); run under callgrind with K=0 and K=N (tools/perf/README.md)."""

import sys

from risk_manager.cli.bench import locked_engine, refusal_workload

k = int(sys.argv[1])
engine = locked_engine()
pairs = refusal_workload(4000)  # the same orders in both runs: only processing differs
for placed, gone in pairs[: 1000 + k]:
    engine.process(placed, placed.at)
    engine.process(gone, gone.at)
