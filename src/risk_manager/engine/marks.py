"""The latest quote of each contract (a position's mark) and the memoised contract catalog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from risk_manager.domain.contracts import ContractCatalog, ContractSpec
from risk_manager.domain.models import Quote


@dataclass(slots=True)
class Mark:
    """The latest quote fields of one contract (quotes may carry only changed keys)."""

    last: Decimal | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    at: datetime | None = None
    seq: int = 0  # bumped on every merge: cached valuations compare it

    def merge(self, quote: Quote, at: datetime) -> None:
        self.seq += 1
        if quote.last_price is not None:
            self.last = quote.last_price
        if quote.best_bid is not None:
            self.bid = quote.best_bid
        if quote.best_ask is not None:
            self.ask = quote.best_ask
        self.at = at

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
