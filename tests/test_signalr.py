"""The SignalR framing both the client and the simulator read through (risk_manager.signalr)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risk_manager.signalr import (
    HANDSHAKE_REQUEST,
    PING_RECORD,
    RECORD_SEPARATOR,
    ProtocolError,
    RecordBuffer,
    encode_record,
    invocation_record,
    parse_object,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)
messages = st.lists(st.dictionaries(st.text(), json_values, max_size=4), max_size=5)


@given(messages)
def test_records_joined_in_one_frame_split_back_unchanged(batch: list[dict[str, Any]]) -> None:
    frame = "".join(encode_record(m) for m in batch)
    assert [json.loads(r) for r in RecordBuffer(len(frame)).feed(frame)] == batch


@given(messages, st.lists(st.integers(min_value=0), max_size=6))
def test_records_cut_into_frames_anywhere_come_back_whole_and_in_order(
    batch: list[dict[str, Any]], cuts: list[int]
) -> None:
    text = "".join(encode_record(m) for m in batch)
    points = sorted({cut % (len(text) + 1) for cut in cuts})
    frames = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    inbox = RecordBuffer(len(text))
    assert [json.loads(r) for frame in frames for r in inbox.feed(frame)] == batch


def test_record_buffer_joins_records_split_across_frames() -> None:
    inbox = RecordBuffer(max_chars=100)
    assert inbox.feed('{"protocol":"js') == []
    assert inbox.feed('on","version":1}\x1e{"type":6}\x1e{"ty') == [
        '{"protocol":"json","version":1}',
        '{"type":6}',
    ]
    assert inbox.feed('pe":7}\x1e') == ['{"type":7}']
    assert inbox.feed("\x1e \x1e") == []  # a lone separator is no record
    with pytest.raises(ProtocolError, match="longer than 100"):
        inbox.feed("x" * 101)


def test_wire_constants_are_what_the_protocol_says() -> None:
    assert RECORD_SEPARATOR == "\x1e"
    assert HANDSHAKE_REQUEST == '{"protocol":"json","version":1}\x1e'
    assert PING_RECORD == '{"type":6}\x1e'
    assert invocation_record("SubscribeOrders", [7], "3") == (
        '{"type":1,"target":"SubscribeOrders","arguments":[7],"invocationId":"3"}\x1e'
    )
    assert invocation_record("GatewayQuote", []) == (
        '{"type":1,"target":"GatewayQuote","arguments":[]}\x1e'
    )


def test_parse_object_reads_fractions_as_asked_and_refuses_non_objects() -> None:
    assert parse_object('{"p":6000.25}', parse_float=Decimal) == {"p": Decimal("6000.25")}
    assert parse_object('{"p":6000.25}') == {"p": 6000.25}
    with pytest.raises(ProtocolError, match=r"not JSON \(9 chars\)"):
        parse_object("<html>502")  # the text itself is never in the message
    with pytest.raises(ProtocolError, match="not a JSON object"):
        parse_object("[1]")
