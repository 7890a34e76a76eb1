"""REST stand-in marks (RULES.md §1): for an open position whose live quotes did not come
within ``stale_mark``, read the latest bar's close and hand it to the engine as a
``QuoteEvent`` with ``source="rest_bar"``. The engine says which contracts want one
(``Engine.rest_marks_wanted``) and keeps alerting until a live quote arrives.

One fetch per contract at a time, off the event path (the actor never waits for it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal

from risk_manager.domain.events import Event, QuoteEvent
from risk_manager.domain.models import Quote
from risk_manager.types import Clock

_log = logging.getLogger(__name__)

FetchClose = Callable[[str, datetime], Awaitable[tuple[Decimal, datetime] | None]]


class RestMarks:
    """Fetches stand-in prices for one account's actor.

    ``fetch(contract_id, now)`` returns ``(close, bar start)`` or None; ``offer`` enqueues the
    resulting event; ``keep`` holds the task so shutdown can cancel it."""

    def __init__(
        self,
        account_id: int,
        fetch: FetchClose,
        offer: Callable[[Event], None],
        clock: Clock,
        keep: Callable[[asyncio.Task[None]], None],
    ) -> None:
        self._account_id = account_id
        self._fetch = fetch
        self._offer = offer
        self._clock = clock
        self._keep = keep
        self._busy: set[str] = set()

    def request(self, contract_ids: list[str]) -> None:
        """Start a fetch for each contract not already being fetched."""
        for cid in contract_ids:
            if cid not in self._busy:
                self._busy.add(cid)
                self._keep(asyncio.ensure_future(self._one(cid)))

    async def _one(self, cid: str) -> None:
        try:
            found = await self._fetch(cid, self._clock())
        except Exception as exc:  # the stale-mark alert is already running; try next time
            _log.warning(
                "account %s: REST price of %s not read (%s); still unknown",
                self._account_id,
                cid,
                exc,
            )
            return
        finally:
            self._busy.discard(cid)
        if found is None:
            _log.warning("account %s: the gateway has no recent bar of %s", self._account_id, cid)
            return
        close, bar_at = found
        quote = Quote(cid, last_price=close, timestamp=bar_at)
        self._offer(QuoteEvent(self._clock(), quote, source="rest_bar"))
