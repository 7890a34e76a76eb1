"""The latest price of a contract read by REST: the close of its newest bar (API doc §5.5).

Used only as a stand-in mark (RULES.md §1) for an open position whose live quotes stopped or
never came: the newest 1-second bar of the last minute, else the newest 1-minute bar of the last
hour, partial bars included. ``History/retrieveBars`` has its own rate budget (50 / 30 s), apart
from the one enforcement uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from risk_manager.domain.errors import RetryLater

SECOND, MINUTE = 1, 2  # AggregateBarUnit
_LOOKS = ((SECOND, timedelta(minutes=1)), (MINUTE, timedelta(hours=1)))


class Caller(Protocol):
    async def call(self, endpoint: str, body: Mapping[str, object] | None = None) -> Any: ...


async def latest_bar_close(
    rest: Caller, contract_id: str, now: datetime
) -> tuple[Decimal, datetime] | None:
    """``(close, bar start)`` of the newest bar, or None when the gateway has none.

    Raises ``RetryLater`` for an unreadable reply and whatever ``rest.call`` raises."""
    for unit, back in _LOOKS:
        payload = await rest.call(
            "History/retrieveBars",
            {
                "contractId": contract_id,
                "live": False,
                "startTime": (now - back).astimezone(UTC).isoformat(),
                "endTime": now.astimezone(UTC).isoformat(),
                "unit": unit,
                "unitNumber": 1,
                "limit": 1,
                "includePartialBar": True,
            },
        )
        bars = payload.get("bars") if isinstance(payload, Mapping) else None
        if not isinstance(bars, list):
            raise RetryLater(f"History/retrieveBars: `bars` missing for {contract_id}")
        newest = max((_bar(b, contract_id) for b in bars), default=None, key=lambda b: b[1])
        if newest is not None:
            return newest
    return None


def _bar(row: object, contract_id: str) -> tuple[Decimal, datetime]:
    """(close, start) of one bar row; bars come newest first, but that is not promised."""
    if not isinstance(row, Mapping):
        raise RetryLater(f"History/retrieveBars: a bar of {contract_id} is not an object")
    close, start = row.get("c"), row.get("t")
    try:
        if isinstance(close, bool) or not isinstance(close, int | float | str):
            raise InvalidOperation
        price = Decimal(str(close))
        at = datetime.fromisoformat(str(start))
    except (InvalidOperation, ValueError):
        raise RetryLater(
            f"History/retrieveBars: unreadable bar of {contract_id} (c={close!r}, t={start!r})"
        ) from None
    if not price.is_finite() or price <= 0 or at.tzinfo is None:
        raise RetryLater(f"History/retrieveBars: bad bar of {contract_id} (c={close!r})")
    return price, at
