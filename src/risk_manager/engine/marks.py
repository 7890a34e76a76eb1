"""The latest quote of each contract (a position's mark) and the memoised contract catalog.

A mark is a price *observed for a position* (RULES.md §1): it counts only when it arrived after
the position (or its latest size change) existed and is younger than ``stale_mark``. A price
read by REST (the latest bar's close) may stand in, labelled ``rest_bar``, until a live quote
arrives; it is never taken for a live quote (the stale-mark alert keeps running).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from risk_manager.domain.contracts import ContractCatalog, ContractSpec
from risk_manager.domain.models import Quote

MarkSource = Literal["quote", "rest_bar"]


@dataclass(slots=True)
class Mark:
    """The latest quote fields of one contract (quotes may carry only changed keys)."""

    last: Decimal | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    at: datetime | None = None  # arrival of the price in use (our clock)
    live_at: datetime | None = None  # arrival of the last live quote (hub)
    source: MarkSource = "quote"
    seq: int = 0  # bumped on every merge: cached valuations compare it

    def merge(self, quote: Quote, at: datetime, source: MarkSource = "quote") -> None:
        """Take a quote's fields. A live quote after a REST stand-in drops the stand-in's
        bid and ask (a partial quote must not pair a live last with a REST bid)."""
        self.seq += 1
        if source == "rest_bar":
            price = quote.last_price
            self.last = self.bid = self.ask = price
            self.at = at
            self.source = source
            return
        if self.source == "rest_bar":
            self.last = self.bid = self.ask = None
            self.source = "quote"
        self.live_at = at
        if quote.last_price is not None:
            self.last = quote.last_price
        if quote.best_bid is not None:
            self.bid = quote.best_bid
        if quote.best_ask is not None:
            self.ask = quote.best_ask
        self.at = at

    def void(self) -> None:
        """Forget the price: quotes stopped being followed (RULES.md §1)."""
        self.seq += 1
        self.last = self.bid = self.ask = None
        self.at = self.live_at = None
        self.source = "quote"

    def usable(self, since: datetime | None, now: datetime, stale: timedelta) -> bool:
        """True when this price counts as the mark of a position priced from ``since``: it
        arrived at or after ``since`` and is younger than ``stale`` (RULES.md §1)."""
        at = self.at
        return since is not None and at is not None and at >= since and now - at < stale

    def price_for(self, signed_size: int, mode: str) -> Decimal | None:
        """The mark of a position: last trade, or bid for longs / ask for shorts."""
        if mode == "bid_ask":
            return self.bid if signed_size > 0 else self.ask
        return self.last


class CachingCatalog(ContractCatalog):
    """The catalog with contract-id lookups memoised (ids are parsed on every quote)."""

    def __init__(self, catalog: ContractCatalog) -> None:
        super().__init__(list(catalog))
        self._memo: dict[str, ContractSpec | None] = {}

    def get(self, contract_id: str) -> ContractSpec | None:
        try:
            return self._memo[contract_id]
        except KeyError:
            spec = self._memo[contract_id] = super().get(contract_id)
            return spec
