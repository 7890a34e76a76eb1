"""The bench's floor (bare_receive: json.loads + a 4-field object) over K records (argv[1])."""

import sys

from risk_manager.cli.bench import bare_receive, wire_quotes

k = int(sys.argv[1])
records = wire_quotes(25000)
for r in records[: 5000 + k]:
    bare_receive(r)
