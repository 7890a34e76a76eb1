"""The contract catalog: trading symbols ↔ ProjectX roots, tick sizes and values, contract ids.

Seed data from the API doc §10.2 and CME specs. At run time the gateway's Contract API is the
authority; the catalog is the offline default (simulator, replay) and config can override it.
An unknown root is an explicit :class:`UnknownContractError`, never a guess.
"""

from __future__ import annotations

import calendar as _calendar
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

MONTH_CODES = "FGHJKMNQUVXZ"
"""Futures month codes, January (F) to December (Z)."""

QUARTERLY = "HMUZ"
MONTHLY = MONTH_CODES
GOLD_CYCLE = "GJMQVZ"


class UnknownContractError(LookupError):
    """A symbol, root or contract id the catalog does not know. Never guessed."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"unknown contract {what!r}: add it under `contracts:` in the config "
            "(symbol, root, tick_size, tick_value)"
        )
        self.what = what


@dataclass(frozen=True, slots=True)
class ContractSpec:
    symbol: str  # the trading root a trader types: NQ, MNQ, ES ...
    root: str  # the ProjectX root in ids: ENQ, MNQ, EP ...
    description: str
    tick_size: Decimal
    tick_value: Decimal  # USD per tick per contract
    micro: bool = False
    fees: Decimal = Decimal("1.40")  # exchange + clearing + NFA, per contract per side
    commissions: Decimal = Decimal("0")  # per contract per side
    months: str = QUARTERLY  # listed month codes, front month chosen from these
    calendar: str = "equity"  # which CME holiday calendar applies: equity | energy | metals | rates

    @property
    def symbol_id(self) -> str:
        return f"F.US.{self.root}"

    @property
    def point_value(self) -> Decimal:
        return self.tick_value / self.tick_size

    def contract_id(self, month_code: str, year: int) -> str:
        return f"CON.F.US.{self.root}.{month_code}{year % 100:02d}"


def _spec(
    symbol: str,
    root: str,
    description: str,
    tick_size: str,
    tick_value: str,
    *,
    micro: bool = False,
    months: str = QUARTERLY,
    calendar: str = "equity",
) -> ContractSpec:
    return ContractSpec(
        symbol=symbol,
        root=root,
        description=description,
        tick_size=Decimal(tick_size),
        tick_value=Decimal(tick_value),
        micro=micro,
        fees=Decimal("0.37") if micro else Decimal("1.40"),
        commissions=Decimal("0.25") if micro else Decimal("0.50"),
        months=months,
        calendar=calendar,
    )


DEFAULT_SPECS: tuple[ContractSpec, ...] = (
    _spec("NQ", "ENQ", "E-mini Nasdaq-100", "0.25", "5.00"),
    _spec("MNQ", "MNQ", "Micro E-mini Nasdaq-100", "0.25", "0.50", micro=True),
    _spec("ES", "EP", "E-mini S&P 500", "0.25", "12.50"),
    _spec("MES", "MES", "Micro E-mini S&P 500", "0.25", "1.25", micro=True),
    _spec("RTY", "RTY", "E-mini Russell 2000", "0.10", "5.00"),
    _spec("M2K", "M2K", "Micro E-mini Russell 2000", "0.10", "0.50", micro=True),
    _spec("YM", "YM", "E-mini Dow", "1", "5.00"),
    _spec("MYM", "MYM", "Micro E-mini Dow", "1", "0.50", micro=True),
    _spec("EMD", "EMD", "E-mini S&P MidCap 400", "0.10", "10.00"),
    _spec("CL", "CLE", "Crude Oil", "0.01", "10.00", months=MONTHLY, calendar="energy"),
    _spec(
        "MCL",
        "MCLE",
        "Micro Crude Oil",
        "0.01",
        "1.00",
        micro=True,
        months=MONTHLY,
        calendar="energy",
    ),
    _spec("NG", "NGE", "Natural Gas", "0.001", "10.00", months=MONTHLY, calendar="energy"),
    _spec("QG", "NQG", "E-mini Natural Gas", "0.005", "12.50", months=MONTHLY, calendar="energy"),
    _spec("QM", "NQM", "E-mini Crude Oil", "0.025", "12.50", months=MONTHLY, calendar="energy"),
    _spec("GC", "GCE", "Gold", "0.10", "10.00", months=GOLD_CYCLE, calendar="metals"),
    _spec(
        "MGC",
        "MGC",
        "Micro Gold",
        "0.10",
        "1.00",
        micro=True,
        months=GOLD_CYCLE,
        calendar="metals",
    ),
    _spec("SI", "SIE", "Silver", "0.005", "25.00", months="HKNUZ", calendar="metals"),
    _spec("HG", "CPE", "Copper", "0.0005", "12.50", months="HKNUZ", calendar="metals"),
    _spec("ZB", "USA", "30-Year U.S. Treasury Bond", "0.03125", "31.25", calendar="rates"),
    _spec("6A", "DA6", "Australian Dollar", "0.00005", "5.00", calendar="rates"),
    _spec("6B", "BP6", "British Pound", "0.0001", "6.25", calendar="rates"),
    _spec("6C", "CA6", "Canadian Dollar", "0.00005", "5.00", calendar="rates"),
    _spec("6E", "EU6", "Euro FX", "0.00005", "6.25", calendar="rates"),
    _spec("E7", "EEU", "E-mini Euro FX", "0.0001", "6.25", calendar="rates"),
)

_CONTRACT_ID = re.compile(
    r"^CON\.F\.US\.(?P<root>[A-Z0-9]+)\.(?P<month>[FGHJKMNQUVXZ])(?P<yy>\d{1,2})$"
)


@dataclass(frozen=True, slots=True)
class ContractId:
    """A parsed ``CON.F.US.<root>.<month><yy>`` id (the grammar is inferred, API doc §10.1)."""

    root: str
    month_code: str
    year: int

    @property
    def month(self) -> int:
        return MONTH_CODES.index(self.month_code) + 1

    @classmethod
    def parse(cls, contract_id: str) -> ContractId:
        m = _CONTRACT_ID.match(contract_id)
        if m is None:
            raise UnknownContractError(contract_id)
        yy = int(m["yy"])
        year = 2020 + yy if len(m["yy"]) == 1 else 2000 + yy  # one-digit years seen on names
        return cls(root=m["root"], month_code=m["month"], year=year)

    def __str__(self) -> str:
        return f"CON.F.US.{self.root}.{self.month_code}{self.year % 100:02d}"


class ContractCatalog:
    """Looks specs up by trading symbol, ProjectX root, symbolId or contract id."""

    def __init__(self, specs: tuple[ContractSpec, ...] | list[ContractSpec] = DEFAULT_SPECS):
        self._by_symbol: dict[str, ContractSpec] = {}
        self._by_root: dict[str, ContractSpec] = {}
        for spec in specs:
            self._add(spec)

    def _add(self, spec: ContractSpec) -> None:
        old = self._by_symbol.get(spec.symbol)
        if old is not None:
            self._by_root.pop(old.root, None)
        self._by_symbol[spec.symbol] = spec
        self._by_root[spec.root] = spec

    def with_overrides(self, specs: list[ContractSpec]) -> ContractCatalog:
        """A new catalog with ``specs`` added or replacing those of the same symbol."""
        merged = ContractCatalog(list(self._by_symbol.values()))
        for spec in specs:
            merged._add(spec)
        return merged

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_symbol.values())

    def __len__(self) -> int:
        return len(self._by_symbol)

    def by_symbol(self, symbol: str) -> ContractSpec:
        try:
            return self._by_symbol[symbol.upper()]
        except KeyError:
            raise UnknownContractError(symbol) from None

    def by_root(self, root: str) -> ContractSpec:
        try:
            return self._by_root[root.upper()]
        except KeyError:
            raise UnknownContractError(root) from None

    def by_symbol_id(self, symbol_id: str) -> ContractSpec:
        prefix = "F.US."
        if not symbol_id.startswith(prefix):
            raise UnknownContractError(symbol_id)
        return self.by_root(symbol_id[len(prefix) :])

    def by_contract_id(self, contract_id: str) -> ContractSpec:
        try:
            return self.by_root(ContractId.parse(contract_id).root)
        except UnknownContractError:
            raise UnknownContractError(contract_id) from None

    def symbol_of(self, contract_id: str) -> str:
        """The trading symbol (NQ, MNQ ...) of a gateway contract id."""
        return self.by_contract_id(contract_id).symbol

    def get(self, contract_id: str) -> ContractSpec | None:
        try:
            return self.by_contract_id(contract_id)
        except UnknownContractError:
            return None

    def front_month_id(self, symbol: str, on: date) -> str:
        """The front-month contract id of ``symbol`` on a date (see :func:`front_month`)."""
        spec = self.by_symbol(symbol)
        code, year = front_month(spec, on)
        return spec.contract_id(code, year)


DEFAULT_CATALOG = ContractCatalog()


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    offset = (_calendar.FRIDAY - first.weekday()) % 7
    return first + timedelta(days=offset + 14)


def front_month(spec: ContractSpec, on: date) -> tuple[str, int]:
    """The month code and year traders treat as front on ``on``.

    Approximates the usual roll: quarterly equity/rates contracts roll 8 days before their
    third-Friday expiry; monthly energy contracts roll on the 15th of the month before
    delivery (they expire around the 20th); metals roll at the end of the month before delivery.
    """
    for months_ahead in range(0, 25):
        month_index = on.month - 1 + months_ahead
        year = on.year + month_index // 12
        month = month_index % 12 + 1
        code = MONTH_CODES[month - 1]
        if code not in spec.months:
            continue
        if spec.calendar == "energy":
            # contract month M trades as front until the 15th of month M-1.
            prev = date(year, month, 1) - timedelta(days=1)
            last_front = prev.replace(day=15)
        elif spec.calendar == "metals":
            last_front = date(year, month, 1) - timedelta(days=3)
        else:
            last_front = third_friday(year, month) - timedelta(days=8)
        if on <= last_front:
            return code, year
    raise UnknownContractError(spec.symbol)  # pragma: no cover - every cycle lists a month


def spec_with(spec: ContractSpec, **changes: object) -> ContractSpec:
    """A copy of ``spec`` with some fields changed (used by config overrides)."""
    return replace(spec, **changes)  # type: ignore[arg-type]
