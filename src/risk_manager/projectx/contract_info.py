"""The gateway's ``ContractModel`` (API doc §5.2) as a value; REST-only, so it lives here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from risk_manager.projectx.wire_values import Fields


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
    """One ``ContractModel`` row; ``id``, ``tickSize`` and ``tickValue`` required (finite
    numbers); raises ``WireError``."""
    f = Fields(data)
    return ContractInfo(
        id=f.string("id"),
        name=f.opt_string("name", "") or "",
        description=f.opt_string("description", "") or "",
        tick_size=f.decimal("tickSize"),
        tick_value=f.decimal("tickValue"),
        active=f.boolean("activeContract", True),
        symbol_id=f.opt_string("symbolId"),
    )
