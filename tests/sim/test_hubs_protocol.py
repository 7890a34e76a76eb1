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
    RecordBuffer,
    encode_record,
    handshake_error,
    parse_record,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(st.lists(st.dictionaries(st.text(), json_values, max_size=4), max_size=5))
def test_records_joined_in_one_frame_split_back_unchanged(messages: list[dict[str, Any]]) -> None:
    frame = "".join(encode_record(m) for m in messages)
    assert [json.loads(r) for r in RecordBuffer(len(frame)).feed(frame)] == messages


def test_encode_record_writes_decimals_as_json_numbers_and_refuses_other_objects() -> None:
    assert (
        encode_record({"p": Decimal("6000.25"), "q": Decimal("5.00")}) == '{"p":6000.25,"q":5}\x1e'
    )
    with pytest.raises(TypeError, match="set"):
        encode_record({"x": {1}})


@pytest.mark.parametrize(
    ("record", "error"),
    [
        ('{"protocol":"json","version":1}', None),
        ('{ "protocol": "json", "version": 2 }', None),
        ('{"protocol":"json","version":0}', None),  # signalrcore after a v0 negotiate
        ('{"protocol":"json","version":3}', "version 3"),
        ('{"protocol":"json","version":"1"}', "version 1"),
        ('{"protocol":"messagepack","version":1}', "Requested protocol 'messagepack'"),
        ('{"protocol":"json","version":7}', "version 7"),
        ('{"protocol":"json","version":true}', "version True"),
        ("[1]", "JSON object"),
        ("nope", "not valid JSON"),
    ],
)
def test_handshake_error(record: str, error: str | None) -> None:
    result = handshake_error(record)
    if error is None:
        assert result is None
    else:
        assert result is not None and error in result


def test_record_buffer_joins_records_split_across_frames() -> None:
    inbox = RecordBuffer(max_chars=100)
    assert inbox.feed('{"protocol":"js') == []
    assert inbox.feed('on","version":1}\x1e{"type":6}\x1e{"ty') == [
        '{"protocol":"json","version":1}',
        '{"type":6}',
    ]
    assert inbox.feed('pe":7}\x1e') == ['{"type":7}']
    with pytest.raises(ProtocolError, match="longer than 100"):
        inbox.feed("x" * 101)


@pytest.mark.parametrize("record", ["[]", '{"type":"1"}', '{"target":"x"}', "{", '{"type":true}'])
def test_parse_record_rejects_non_messages(record: str) -> None:
    with pytest.raises(ProtocolError):
        parse_record(record)
