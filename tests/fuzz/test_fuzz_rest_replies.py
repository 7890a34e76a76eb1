"""Fuzz: the REST replies of every list the client reads (``projectx/replies.py`` with each
endpoint's row reader, after the transport's own JSON decoding, ``rest.loads``).

A snapshot read is all or nothing (a missing row would read as a closed position or a
cancelled order): a reply with one broken row, or without its list, is ``RetryLater`` (the
caller reads again), counted once on ``WireFaults`` as ``rest``/endpoint; a good reply comes
back whole, extra keys and all. Nothing else is ever raised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risk_manager.domain.errors import RetryLater
from risk_manager.projectx.contract_info import contract_from_wire
from risk_manager.projectx.mapping import (
    account_from_wire,
    order_from_wire,
    position_from_wire,
    trade_from_wire,
)
from risk_manager.projectx.replies import list_of, parse_rows
from risk_manager.projectx.rest import loads
from risk_manager.projectx.wire_faults import WireFaults

from .wire import CID, FUZZ, HUGE, NUMBER, REQUIRED, STRING, broken, dumps, extra_keys, good

CONTRACT_FIELDS: dict[str, list[object]] = {"id": STRING, "tickSize": NUMBER, "tickValue": NUMBER}


def _contract(i: int) -> dict[str, Any]:
    return {"id": f"{CID}.{i}", "name": "MNQH6", "tickSize": 0.25, "tickValue": 0.5}


# endpoint -> (the reply's list key, the row reader, a good row, the fields to break)
ENDPOINTS: dict[str, tuple[str, Callable[[Mapping[str, Any]], object], Any, Any]] = {
    "Account/search": (
        "accounts", account_from_wire, lambda i: good("GatewayUserAccount", i),
        REQUIRED["GatewayUserAccount"],
    ),
    "Contract/search": ("contracts", contract_from_wire, _contract, CONTRACT_FIELDS),
    "Contract/available": ("contracts", contract_from_wire, _contract, CONTRACT_FIELDS),
    "Position/searchOpen": (
        "positions", position_from_wire, lambda i: good("GatewayUserPosition", i),
        REQUIRED["GatewayUserPosition"],
    ),
    "Order/searchOpen": (
        "orders", order_from_wire, lambda i: good("GatewayUserOrder", i),
        REQUIRED["GatewayUserOrder"],
    ),
    "Order/search": (
        "orders", order_from_wire, lambda i: good("GatewayUserOrder", i),
        REQUIRED["GatewayUserOrder"],
    ),
    "Trade/search": (
        "trades", trade_from_wire, lambda i: good("GatewayUserTrade", i),
        REQUIRED["GatewayUserTrade"],
    ),
}  # fmt: skip


@st.composite
def replies(draw: st.DrawFn) -> tuple[str, str, bool]:
    """(endpoint, the reply's body text, whether the reply is good)."""
    endpoint = draw(st.sampled_from(sorted(ENDPOINTS)))
    key, _, make, fields = ENDPOINTS[endpoint]
    rows: list[Any] = [make(i) | draw(extra_keys()) for i in range(draw(st.integers(0, 4)))]
    shape = draw(st.sampled_from(["good", "bad row", "not an object", "no list", "list is"]))
    payload: dict[str, Any] = {"success": True, "errorCode": 0, "errorMessage": None}
    if shape == "bad row":
        name = draw(st.sampled_from(sorted(fields)))
        row = broken(make(99), "", name, draw(st.sampled_from(fields[name])))
        rows.insert(draw(st.integers(0, len(rows))), row)
    elif shape == "not an object":
        rows.insert(0, draw(st.sampled_from([None, 7, "row", [], True])))
    if shape == "no list":
        pass
    elif shape == "list is":
        payload[key] = draw(st.sampled_from([None, {}, "[]", 0]))
    else:
        payload[key] = rows
    return endpoint, dumps(payload), shape == "good"


@FUZZ
@given(replies())
def test_a_reply_is_read_whole_or_refused_whole_and_counted(reply: tuple[str, str, bool]) -> None:
    endpoint, text, is_good = reply
    key, parse, _, _ = ENDPOINTS[endpoint]
    faults = WireFaults()
    payload = loads(text)
    assert isinstance(payload, dict)
    try:
        rows = list_of(endpoint, payload, key, faults)
        read = parse_rows(endpoint, rows, parse, faults)
    except RetryLater as exc:
        assert not is_good, f"a good reply refused: {exc}"
        assert endpoint in str(exc)
        assert faults.count("rest", endpoint) == 1
        return
    assert is_good, "a broken reply read as good"
    assert len(read) == len(payload[key])
    assert faults.count() == 0


def test_a_number_past_the_range_makes_the_whole_snapshot_unreadable() -> None:
    """``9e999999`` is a finite ``Decimal``: read, it would overflow the engine's sums."""
    faults = WireFaults()
    text = dumps({"positions": [good("GatewayUserPosition", 1) | {"averagePrice": HUGE}]})
    payload = loads(text)
    assert isinstance(payload, dict)
    rows = list_of("Position/searchOpen", payload, "positions", faults)
    with pytest.raises(RetryLater, match="averagePrice: out of range"):
        parse_rows("Position/searchOpen", rows, position_from_wire, faults)
    assert faults.count("rest", "Position/searchOpen") == 1
