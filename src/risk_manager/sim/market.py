"""The simulated contract list and per-contract markets (last, bid, ask, session stats)."""

from __future__ import annotations

import random
from decimal import Decimal

from risk_manager.domain.contracts import ContractCatalog, ContractId, ContractSpec
from risk_manager.sim.records import SimMarket
from risk_manager.types import Clock

# Round-number starting prices by trading symbol; anything else starts at 100.
START_PRICES: dict[str, str] = {
    "NQ": "21000", "MNQ": "21000", "ES": "6000", "MES": "6000", "RTY": "2200", "M2K": "2200",
    "YM": "44000", "MYM": "44000", "EMD": "3100", "CL": "70", "MCL": "70", "NG": "3.5",
    "QG": "3.5", "QM": "70", "GC": "2650", "MGC": "2650", "SI": "31", "HG": "4.2", "ZB": "118",
    "6A": "0.65", "6B": "1.27", "6C": "0.72", "6E": "1.05", "E7": "1.05",
}  # fmt: skip


def contract_name(spec: ContractSpec, contract_id: str) -> str:
    """``MNQZ6``: symbol, month code, one-digit year (as current ContractModel names)."""
    parsed = ContractId.parse(contract_id)
    return f"{spec.symbol}{parsed.month_code}{parsed.year % 10}"


def display_name(spec: ContractSpec, contract_id: str) -> str:
    """``MYMM26``: the two-digit-year name positions carry as ``contractDisplayName``."""
    parsed = ContractId.parse(contract_id)
    return f"{spec.symbol}{parsed.month_code}{parsed.year % 100:02d}"


class Markets:
    """Front-month contracts of a catalog and a lazily created market per contract id."""

    def __init__(self, catalog: ContractCatalog, clock: Clock, rng: random.Random) -> None:
        self.catalog = catalog
        self._clock = clock
        self._rng = rng
        today = clock().date()
        self.front: dict[str, str] = {
            s.symbol: catalog.front_month_id(s.symbol, today) for s in catalog
        }
        self._markets: dict[str, SimMarket] = {}

    def spec(self, contract_id: str) -> ContractSpec | None:
        return self.catalog.get(contract_id)

    def is_active(self, contract_id: str) -> bool:
        return contract_id in self.front.values()

    def market(self, contract_id: str) -> SimMarket:
        found = self._markets.get(contract_id)
        if found is None:
            spec = self.catalog.by_contract_id(contract_id)
            start = Decimal(START_PRICES.get(spec.symbol, "100"))
            found = SimMarket(
                contract_id=contract_id,
                symbol_id=spec.symbol_id,
                symbol_name=f"/{spec.symbol}",
                tick_size=spec.tick_size,
                last=start,
                bid=start - spec.tick_size,
                ask=start + spec.tick_size,
                open=start,
                high=start,
                low=start,
                volume=0,
                updated=self._clock(),
            )
            self._markets[contract_id] = found
        return found

    def move(
        self,
        contract_id: str,
        price: Decimal,
        bid: Decimal | None = None,
        ask: Decimal | None = None,
    ) -> SimMarket:
        """Set last (and bid/ask, default last ∓ 1 tick); update high/low/time."""
        m = self.market(contract_id)
        m.last = price
        m.bid = bid if bid is not None else price - m.tick_size
        m.ask = ask if ask is not None else price + m.tick_size
        m.high = max(m.high, price)
        m.low = min(m.low, price)
        m.updated = self._clock()
        return m

    def walk_target(self, contract_id: str) -> Decimal:
        """One random-walk step: last ± 0..2 ticks (seeded)."""
        m = self.market(contract_id)
        return max(m.tick_size, m.last + self._rng.randint(-2, 2) * m.tick_size)
