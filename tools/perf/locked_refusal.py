"""The locked refusal of ``risk-manager bench engine`` alone, N orders (argv[1], default
50,000): prints its mean/p50/p99 µs as JSON, to alternate with nautilus_halted.py."""

import json
import sys

from risk_manager.cli.bench import run_refusal_bench

n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
figures = run_refusal_bench(n)
print(json.dumps({k: figures[k] for k in ("events", "mean_us", "p50_us", "p99_us")}))
