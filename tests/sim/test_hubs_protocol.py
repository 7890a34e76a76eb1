"""The simulator's side of the SignalR JSON protocol: handshake, record checks, encoding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from risk_manager.signalr import ProtocolError
from risk_manager.sim.signalr_protocol import encode_record, handshake_error, parse_record


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


@pytest.mark.parametrize("record", ["[]", '{"type":"1"}', '{"target":"x"}', "{", '{"type":true}'])
def test_parse_record_rejects_non_messages(record: str) -> None:
    with pytest.raises(ProtocolError):
        parse_record(record)
