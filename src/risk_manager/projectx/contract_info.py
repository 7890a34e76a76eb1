"""The gateway's ``ContractModel`` (API doc §5.2) as a value; REST-only, so it lives here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from risk_manager.projectx.mapping import WireError, to_decimal


@dataclass(frozen=True, slots=True)
class ContractInfo:
    id: str
    name: str
    description: str
    tick_size: Decimal
    tick_value: Decimal
    active: bool
    symbol_id: str | None = None


def contract_from_wire(data: Mapping[str, Any]) -> ContractInfo:
    contract_id = data.get("id")
    if not isinstance(contract_id, str):
        raise WireError(f"id: required string missing or invalid ({contract_id!r})")
    symbol_id = data.get("symbolId")
    return ContractInfo(
        id=contract_id,
        name=str(data.get("name", "")),
        description=str(data.get("description", "")),
        tick_size=to_decimal(data.get("tickSize"), "tickSize"),
        tick_value=to_decimal(data.get("tickValue"), "tickValue"),
        active=bool(data.get("activeContract", True)),
        symbol_id=symbol_id if isinstance(symbol_id, str) else None,
    )
