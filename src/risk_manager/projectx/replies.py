"""A REST read reply's list of rows, all read or the read fails (``RetryLater``).

A reply that omits its list, carries something else in its place, or has a row that is not an
object or fails ``mapping``'s checks is malformed: the gateway's failure, counted on
``WireFaults`` (source ``rest``, target the endpoint) and raised as ``RetryLater`` so the caller
reads again. Never an empty or shortened list: a snapshot missing a row would be read as a
closed position or a cancelled order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from risk_manager.domain.errors import RetryLater
from risk_manager.projectx.mapping import read_record
from risk_manager.projectx.wire_faults import WireFaults
from risk_manager.projectx.wire_values import Fault, WireError, type_name

T = TypeVar("T")


def malformed(endpoint: str, error: WireError, faults: WireFaults) -> RetryLater:
    """Count the fault and return the ``RetryLater`` to raise (it names the endpoint)."""
    faults.reject("rest", endpoint, error)
    return RetryLater(f"{endpoint}: unreadable reply from the gateway, read again: {error}")


def list_of(
    endpoint: str, payload: Mapping[str, Any], key: str, faults: WireFaults
) -> list[object]:
    """The reply's ``key`` list; raises ``RetryLater`` when it is missing, null or not a list."""
    rows = payload.get(key)
    if not isinstance(rows, list):
        got = "nothing (key missing)" if key not in payload else type_name(rows)
        error = WireError(key, Fault.MALFORMED, f"expected the `{key}` list, got {got}")
        raise malformed(endpoint, error, faults)
    return rows


def parse_rows(
    endpoint: str,
    rows: list[object],
    parse: Callable[[Mapping[str, Any]], T],
    faults: WireFaults,
) -> list[T]:
    """Every row parsed, or ``RetryLater`` naming the first bad row's field and id."""
    try:
        return [read_record(parse, row, f"{endpoint} row {i}") for i, row in enumerate(rows)]
    except WireError as exc:
        raise malformed(endpoint, exc, faults) from None
