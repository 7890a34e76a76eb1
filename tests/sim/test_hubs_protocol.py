"""The SignalR JSON protocol helpers, and the once-per-publish encoding of events."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risk_manager.sim.signalr_protocol import (
    ProtocolError,
    encode_record,
    parse_handshake,
    parse_record,
    split_records,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(st.lists(st.dictionaries(st.text(), json_values, max_size=4), max_size=5))
def test_records_joined_in_one_frame_split_back_unchanged(messages: list[dict[str, Any]]) -> None:
    frame = "".join(encode_record(m) for m in messages)
    assert [json.loads(r) for r in split_records(frame)] == [m for m in messages]


def test_encode_record_writes_decimals_as_json_numbers_and_refuses_other_objects() -> None:
    assert (
        encode_record({"p": Decimal("6000.25"), "q": Decimal("5.00")}) == '{"p":6000.25,"q":5}\x1e'
    )
    with pytest.raises(TypeError, match="set"):
        encode_record({"x": {1}})


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ('{"protocol":"json","version":1}\x1e', None),
        ('{ "protocol": "json", "version": 2 }\x1e', None),
        ('{"protocol":"messagepack","version":1}\x1e', "Requested protocol 'messagepack'"),
        ('{"protocol":"json","version":7}\x1e', "version 7"),
        ('{"protocol":"json","version":1}', "record separator"),
        ("[1]\x1e", "JSON object"),
        ("nope\x1e", "not valid JSON"),
    ],
)
def test_parse_handshake(frame: str, error: str | None) -> None:
    result = parse_handshake(frame)
    if error is None:
        assert result.error is None
    else:
        assert result.error is not None and error in result.error


def test_parse_handshake_returns_the_records_that_follow_it() -> None:
    result = parse_handshake('{"protocol":"json","version":1}\x1e{"type":6}\x1e{"type":7}\x1e')
    assert result.error is None and result.rest == ['{"type":6}', '{"type":7}']


@pytest.mark.parametrize("record", ["[]", '{"type":"1"}', '{"target":"x"}', "{", '{"type":true}'])
def test_parse_record_rejects_non_messages(record: str) -> None:
    with pytest.raises(ProtocolError):
        parse_record(record)
