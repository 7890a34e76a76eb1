from datetime import date
from decimal import Decimal

import pytest

from risk_manager.domain.contracts import (
    DEFAULT_CATALOG,
    ContractId,
    ContractSpec,
    UnknownContractError,
    front_month,
)


@pytest.mark.parametrize(
    ("symbol", "root"),
    [("NQ", "ENQ"), ("ES", "EP"), ("CL", "CLE"), ("MCL", "MCLE"), ("GC", "GCE"), ("ZB", "USA")],
)
def test_symbols_map_to_projectx_roots_both_ways(symbol: str, root: str) -> None:
    assert DEFAULT_CATALOG.by_symbol(symbol).root == root
    assert DEFAULT_CATALOG.by_root(root).symbol == symbol
    assert DEFAULT_CATALOG.by_symbol_id(f"F.US.{root}").symbol == symbol


def test_tick_values_are_exact_decimals() -> None:
    nq = DEFAULT_CATALOG.by_symbol("NQ")
    assert (nq.tick_size, nq.tick_value, nq.point_value) == (
        Decimal("0.25"),
        Decimal("5.00"),
        Decimal(20),
    )
    zb = DEFAULT_CATALOG.by_symbol("ZB")
    assert zb.tick_size == Decimal("0.03125")
    assert zb.point_value == Decimal(1000)


def test_micro_flag() -> None:
    assert DEFAULT_CATALOG.by_symbol("MNQ").micro
    assert not DEFAULT_CATALOG.by_symbol("NQ").micro


def test_contract_id_parses_and_resolves() -> None:
    cid = ContractId.parse("CON.F.US.MNQ.Z25")
    assert (cid.root, cid.month_code, cid.year, cid.month) == ("MNQ", "Z", 2025, 12)
    assert str(cid) == "CON.F.US.MNQ.Z25"
    assert DEFAULT_CATALOG.symbol_of("CON.F.US.ENQ.H26") == "NQ"


@pytest.mark.parametrize("bad", ["CON.F.US.XXX.Z25", "nonsense", "CON.F.US.ENQ.A25", "F.US.ENQ"])
def test_unknown_or_malformed_ids_are_explicit_errors(bad: str) -> None:
    with pytest.raises(UnknownContractError) as exc:
        DEFAULT_CATALOG.by_contract_id(bad)
    assert bad in str(exc.value)
    assert DEFAULT_CATALOG.get(bad) is None


def test_unknown_symbol_is_never_guessed() -> None:
    with pytest.raises(UnknownContractError, match="contracts:"):
        DEFAULT_CATALOG.by_symbol("NQQ")


@pytest.mark.parametrize(
    ("symbol", "on", "expected"),
    [
        # ES March 2026 expires Fri 2026-03-20; roll 8 days before -> 2026-03-12.
        ("ES", date(2026, 3, 12), "CON.F.US.EP.H26"),
        ("ES", date(2026, 3, 13), "CON.F.US.EP.M26"),
        ("NQ", date(2026, 11, 25), "CON.F.US.ENQ.Z26"),
        ("NQ", date(2026, 12, 20), "CON.F.US.ENQ.H27"),
        # CL: January contract is front until Dec 15th.
        ("CL", date(2026, 11, 10), "CON.F.US.CLE.Z26"),
        ("CL", date(2026, 11, 16), "CON.F.US.CLE.F27"),
        ("GC", date(2026, 11, 25), "CON.F.US.GCE.Z26"),
    ],
)
def test_front_month_ids(symbol: str, on: date, expected: str) -> None:
    assert DEFAULT_CATALOG.front_month_id(symbol, on) == expected


def test_overrides_replace_by_symbol_and_keep_the_rest() -> None:
    custom = ContractSpec(
        "NQ", "ENQ", "NQ at a discount", Decimal("0.25"), Decimal(5), fees=Decimal(0)
    )
    extra = ContractSpec("XYZ", "XYZE", "made up", Decimal("0.5"), Decimal(1))
    catalog = DEFAULT_CATALOG.with_overrides([custom, extra])
    assert catalog.by_symbol("NQ").fees == 0
    assert catalog.by_root("XYZE").symbol == "XYZ"
    assert len(catalog) == len(DEFAULT_CATALOG) + 1
    assert DEFAULT_CATALOG.by_symbol("NQ").fees != 0  # the default is untouched


def test_front_month_for_every_spec_is_listed() -> None:
    for spec in DEFAULT_CATALOG:
        code, year = front_month(spec, date(2026, 6, 1))
        assert code in spec.months
        assert year in (2026, 2027)
