"""What the API reads: the daemon's read views and metrics, behind Protocols the runtime
implements (the API knows nothing of the runtime; the command hands it the runtime's read
side).

Everything crossing this boundary is plain JSON-ready data (see docs/API.md for the exact
schema): money and prices as decimal strings (``"-512.40"``), instants as ISO-8601 UTC
strings, so the API never formats domain objects itself and the dashboards never see them.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from risk_manager.types import JSON

#: Stream message types (``{"type": ..., <type>: payload}``).
ACCOUNT = "account"
ENFORCEMENT = "enforcement"
HEALTH = "health"
CURVE = "pnl_curve"  # an account view's P&L curve: streamed only when it changed


class ReadModel(Protocol):
    """Read views of the running daemon, as the API and dashboards see them."""

    async def current(self) -> None:
        """Bring the views up to date before a read (the daemon's read side does nothing
        while nobody reads); a model that is pushed to has nothing to do."""
        ...

    async def current_health(self) -> None:
        """Bring health alone up to date before a read of it (``GET /health``, which a monitor
        polls: no account view is built for it)."""
        ...

    def health(self) -> JSON:
        """``{"status": "ok"|"degraded"|"down", "uptime", "accounts_monitored", ...}``."""
        ...

    def accounts(self) -> list[JSON]:
        """Every monitored account's view."""
        ...

    def account(self, account_id: int) -> JSON | None:
        """One account's view, or None when it is not monitored."""
        ...

    async def enforcements(self, account_id: int | None, limit: int) -> list[JSON]:
        """The enforcement log, newest first; all accounts when ``account_id`` is None.
        Async: the daemon's comes from its store, read off the event loop."""
        ...

    async def history(self, days: int) -> JSON:
        """Past trading days, newest first, and the ended locks (docs/API.md "History"):
        ``{"days": [{"trading_day", "today", "accounts": [{"id", "name", "realized",
        "gross", "fees", "fills", "round_turns", "locks": [...]}]}], "ended_locks": [...],
        "time_zone", "time_zone_label"}``. Async: the daemon's is read from its store off
        the event loop."""
        ...

    def subscribe(self) -> asyncio.Queue[JSON]:
        """A queue that receives every change message from now on."""
        ...

    def unsubscribe(self, queue: asyncio.Queue[JSON]) -> None:
        """Stop delivering to ``queue`` (idempotent)."""
        ...


class MetricsSource(Protocol):
    """What ``GET /metrics`` serves: the Prometheus text exposition of the daemon's metrics."""

    def render(self) -> bytes:
        """The current metrics in Prometheus' text format."""
        ...


def money(value: Decimal | None) -> str | None:
    """Money as the wire's decimal string, two places (``Decimal("-512.4")`` → ``"-512.40"``)."""
    if value is None:
        return None
    return str(value.quantize(Decimal("0.01")))


def iso(when: datetime | None) -> str | None:
    """An aware instant as ISO-8601 UTC (``2026-03-10T22:00:00Z``)."""
    if when is None:
        return None
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when!r}: hand the read model aware datetimes")
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _default(value: object) -> str:
    # The read model should hand over JSON-ready data; be forgiving with the two usual slips.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso(value) or ""
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(data: Any) -> str:
    """Compact JSON for every API answer (a stray Decimal or datetime as the wire writes it)."""
    return json.dumps(data, default=_default, separators=(",", ":"))
