"""The SignalR JSON hub protocol, the small part ProjectX uses (API doc §9).

Records are JSON objects terminated by the record separator 0x1E; a frame may hold several.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

RS = "\x1e"
HANDSHAKE = '{"protocol":"json","version":1}' + RS

INVOCATION = 1
STREAM_ITEM = 2
COMPLETION = 3
STREAM_INVOCATION = 4
CANCEL_INVOCATION = 5
PING = 6
CLOSE = 7

PING_RECORD = '{"type":6}' + RS


class ProtocolError(ValueError):
    """The server sent something that is not the SignalR JSON protocol."""


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":")) + RS


def invocation(invocation_id: str | None, target: str, arguments: list[Any]) -> str:
    message: dict[str, Any] = {"type": INVOCATION, "target": target, "arguments": arguments}
    if invocation_id is not None:
        message["invocationId"] = invocation_id
    return encode(message)


def decode(frame: str) -> list[dict[str, Any]]:
    """Every record in a text frame; numbers with a fraction become ``Decimal``."""
    records: list[dict[str, Any]] = []
    for part in frame.split(RS):
        if not part.strip():
            continue
        try:
            record = json.loads(part, parse_float=Decimal)
        except ValueError:
            raise ProtocolError(f"hub record is not JSON ({len(part)} chars)") from None
        if not isinstance(record, dict):
            raise ProtocolError("hub record is not a JSON object")
        records.append(record)
    return records


def split_handshake(frame: str) -> tuple[dict[str, Any], str]:
    """The handshake reply and whatever records followed it in the same frame."""
    head, sep, rest = frame.partition(RS)
    if not sep:
        raise ProtocolError("handshake reply lacks the record separator")
    try:
        reply = json.loads(head)
    except ValueError:
        raise ProtocolError("handshake reply is not JSON") from None
    if not isinstance(reply, dict):
        raise ProtocolError("handshake reply is not a JSON object")
    return reply, rest
