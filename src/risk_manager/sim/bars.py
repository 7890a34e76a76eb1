"""Synthetic history bars for ``History/retrieveBars`` (API doc §5.5).

Deterministic per (seed, contract, bar start): the same request always returns the same bars,
wandering around the contract's current price. Bars align to UTC multiples of their period;
a "month" is 30 days here (the real alignment is unknown). With sessions given, a bar exists
only when some session overlaps it: no bars for weekends, holidays or the daily halt.
Intraday bars (seconds, minutes, hours) of a long-expired contract month do not exist.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from risk_manager.calendar import Session
from risk_manager.domain.contracts import ContractId
from risk_manager.sim.wire import num

UNIT_SECONDS = {1: 1, 2: 60, 3: 3600, 4: 86400, 5: 7 * 86400, 6: 30 * 86400}
INTRADAY_UNITS = frozenset({1, 2, 3})
# Intraday history of a contract month is kept this long after the month ends (a choice: the
# clients only say expired months have none).
INTRADAY_KEPT = timedelta(days=30)
MAX_LIMIT = 20_000


def intraday_expired(contract_id: str, unit: int, now: datetime) -> bool:
    """True when ``unit`` is intraday and ``contract_id``'s month ended over 30 days ago."""
    if unit not in INTRADAY_UNITS:
        return False
    parsed = ContractId.parse(contract_id)
    year, month = divmod(parsed.year * 12 + parsed.month, 12)  # the month after (1-based)
    month_end = datetime.combine(date(year, month + 1, 1), datetime.min.time(), UTC)
    return now > month_end + INTRADAY_KEPT


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
    sessions: Iterator[Session] | None = None,
) -> list[dict[str, Any]]:
    """The newest ``limit`` bars whose start lies in ``[start, end)``, newest first.

    ``sessions`` (newest first, e.g. ``TradingHours.sessions_before``) keeps only bars that
    overlap one; None means the market never closes.
    """
    period = UNIT_SECONDS[unit] * unit_number
    last_start = math.floor(min(end, now).timestamp() / period) * period
    if last_start >= end.timestamp():
        last_start -= period
    bars: list[dict[str, Any]] = []
    t = last_start
    session = next(sessions, None) if sessions is not None else None
    while len(bars) < limit and t >= start.timestamp():
        if sessions is not None:
            # Skip sessions that start after this bar ends; a bar after the newest session
            # left jumps back to the last bar that overlaps it.
            while session is not None and session.start.timestamp() >= t + period:
                session = next(sessions, None)
            if session is None:
                break
            session_end = int(session.end.timestamp())
            if session_end <= t:
                t = math.ceil(session_end / period) * period - period
                continue
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
