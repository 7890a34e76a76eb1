"""Synthetic history bars for ``History/retrieveBars`` (API doc §5.5).

Deterministic per (seed, contract, bar start): the same request always returns the same bars,
wandering around the contract's current price. Bars align to UTC multiples of their period;
a "month" is 30 days here (the real alignment is unknown).
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from risk_manager.sim.wire import num

UNIT_SECONDS = {1: 1, 2: 60, 3: 3600, 4: 86400, 5: 7 * 86400, 6: 30 * 86400}
MAX_LIMIT = 20_000


def synthetic_bars(
    *,
    contract_id: str,
    anchor: Decimal,
    tick: Decimal,
    seed: int,
    start: datetime,
    end: datetime,
    unit: int,
    unit_number: int,
    limit: int,
    include_partial: bool,
    now: datetime,
) -> list[dict[str, Any]]:
    """The newest ``limit`` bars whose start lies in ``[start, end)``, newest first."""
    period = UNIT_SECONDS[unit] * unit_number
    last_start = math.floor(min(end, now).timestamp() / period) * period
    if last_start >= end.timestamp():
        last_start -= period
    bars: list[dict[str, Any]] = []
    t = last_start
    while len(bars) < limit and t >= start.timestamp():
        partial = t + period > now.timestamp()
        if include_partial or not partial:
            bar = _bar(contract_id, anchor, tick, seed, t, period)
            if partial:  # the bar in progress closes at the market's last price, as live
                bar["c"] = num(anchor)
                bar["h"] = num(max(Decimal(str(bar["h"])), anchor))
                bar["l"] = num(min(Decimal(str(bar["l"])), anchor))
            bars.append(bar)
        t -= period
    return bars


def _bar(
    contract_id: str, anchor: Decimal, tick: Decimal, seed: int, t: int, period: int
) -> dict[str, Any]:
    index = t // period
    rng = random.Random(f"{seed}:{contract_id}:{period}:{index}")
    base = anchor + tick * round(40 * math.sin(index / 17))
    open_ = base + tick * rng.randint(-3, 3)
    close = base + tick * rng.randint(-3, 3)
    high = max(open_, close) + tick * rng.randint(0, 3)
    low = max(tick, min(open_, close) - tick * rng.randint(0, 3))
    stamp = datetime.fromtimestamp(t, tz=UTC)
    return {
        "t": stamp.isoformat(),
        "o": num(open_),
        "h": num(high),
        "l": num(low),
        "c": num(close),
        "v": rng.randint(1, 500),
    }
