"""The user hub's decoding of a breach frame's records, alone: ``decode_user`` on an order,
a fill, an order, a position and an account record as the simulator sends them (parsed JSON,
numbers with a fraction as ``Decimal``), per record, in 20 stretches of 1,000 frames after a
warm-up. Run it with another ``PYTHONPATH`` to compare a build of the same modules (a
mypyc-compiled copy, say: docs/PERFORMANCE.md "End-to-end enforcement latency", fourth
session).

    .venv/bin/python tools/perf/decode_user.py
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from risk_manager.projectx import mapping

STAMP = "2026-12-07T15:37:34.1234567+00:00"
ORDER = {
    "id": 3000000011,
    "accountId": 20000001,
    "contractId": "CON.F.US.MNQ.Z26",
    "symbolId": "F.US.MNQ",
    "creationTimestamp": STAMP,
    "updateTimestamp": STAMP,
    "type": 2,
    "side": 0,
    "size": 1,
    "limitPrice": None,
    "stopPrice": None,
    "customTag": None,
}
RECORDS: list[tuple[str, dict[str, Any]]] = [
    ("GatewayUserOrder", {**ORDER, "status": 1, "fillVolume": 0, "filledPrice": None}),
    (
        "GatewayUserTrade",
        {
            "id": 2600000009,
            "accountId": 20000001,
            "contractId": "CON.F.US.MNQ.Z26",
            "creationTimestamp": STAMP,
            "price": 21000.25,
            "profitAndLoss": None,
            "fees": 0.37,
            "side": 0,
            "size": 1,
            "voided": False,
            "orderId": 3000000011,
        },
    ),
    ("GatewayUserOrder", {**ORDER, "status": 2, "fillVolume": 1, "filledPrice": 21000.25}),
    (
        "GatewayUserPosition",
        {
            "id": 5,
            "accountId": 20000001,
            "contractId": "CON.F.US.MNQ.Z26",
            "creationTimestamp": STAMP,
            "type": 1,
            "size": 2,
            "averagePrice": 21000.125,
        },
    ),
    (
        "GatewayUserAccount",
        {
            "id": 20000001,
            "name": "DEMO-50K",
            "balance": 49572.28,
            "canTrade": True,
            "isVisible": True,
            "simulated": True,
        },
    ),
]
FRAMES = 1_000  # a stretch
STRETCHES = 20


def main() -> None:
    at = datetime.now(UTC)
    # as the hub reader hands them over: parsed, fractions as Decimal, in the live wrapper
    frame = [
        (target, [{"action": 1, "data": json.loads(json.dumps(data), parse_float=Decimal)}])
        for target, data in RECORDS
    ]

    def once() -> None:
        for target, arguments in frame:
            decoded = mapping.decode_user(target, arguments, at)
            if decoded.rejected or not decoded.events:
                raise RuntimeError(f"{target}: {decoded.rejected}")

    for _ in range(2 * FRAMES):
        once()
    per_record: list[float] = []
    for _ in range(STRETCHES):
        started = time.perf_counter_ns()
        for _ in range(FRAMES):
            once()
        per_record.append((time.perf_counter_ns() - started) / FRAMES / len(frame) / 1000)
    print(
        f"{mapping.__file__}: decode_user per record, median of {STRETCHES} stretches "
        f"{statistics.median(per_record):.2f} us (best {min(per_record):.2f})"
    )


if __name__ == "__main__":
    main()
