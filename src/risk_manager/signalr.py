"""The SignalR JSON hub protocol's framing, shared by the client and the simulator (API doc §9).

A record is one JSON text terminated by the record separator 0x1E. A WebSocket text frame may
hold several records, and one record may span frames: the protocol frames records, not
WebSocket messages, so each side reads through a :class:`RecordBuffer`. The client
(``projectx/hub_connection.py``) and the simulator's hub server (``sim/hubs.py``) both import
this module, which imports the standard library only: neither side depends on the other.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Any

RECORD_SEPARATOR = "\x1e"


class MessageType(IntEnum):
    """A record's ``type`` (API doc §9.3)."""

    INVOCATION = 1
    STREAM_ITEM = 2
    COMPLETION = 3
    STREAM_INVOCATION = 4
    CANCEL_INVOCATION = 5
    PING = 6
    CLOSE = 7
    ACK = 8
    SEQUENCE = 9


class ProtocolError(ValueError):
    """The peer sent something that is not the SignalR JSON hub protocol: a record that is not
    a JSON object, or one longer than the reader accepts. The connection cannot go on."""


def encode_record(
    message: Mapping[str, Any], *, default: Callable[[Any], Any] | None = None
) -> str:
    """One compact JSON record, terminated by the record separator.

    ``default`` converts what ``json`` cannot write (the simulator's ``Decimal`` prices); without
    it such a value raises ``TypeError``."""
    return json.dumps(message, separators=(",", ":"), default=default) + RECORD_SEPARATOR


HANDSHAKE_REQUEST = encode_record({"protocol": "json", "version": 1})
PING_RECORD = encode_record({"type": MessageType.PING})


def invocation_record(
    target: str,
    arguments: list[Any],
    invocation_id: str | None = None,
    *,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """An Invocation of ``target(*arguments)`` (API doc §9.4); with ``invocation_id`` the peer
    answers with a Completion, without it the call is fire-and-forget (server events)."""
    message: dict[str, Any] = {
        "type": MessageType.INVOCATION,
        "target": target,
        "arguments": arguments,
    }
    if invocation_id is not None:
        message["invocationId"] = invocation_id
    return encode_record(message, default=default)


class RecordBuffer:
    """Collects a peer's text frames into whole records (without their separators).

    ``feed`` returns the records a frame completed, in order, and keeps an unterminated tail
    for the next frame. Blank records (a lone separator) are skipped. A tail longer than
    ``max_chars`` raises :class:`ProtocolError`: a peer cannot make us hold unbounded text."""

    def __init__(self, max_chars: int) -> None:
        self._max_chars = max_chars
        self._partial = ""

    def feed(self, text: str) -> list[str]:
        *complete, self._partial = (self._partial + text).split(RECORD_SEPARATOR)
        if len(self._partial) > self._max_chars:
            raise ProtocolError(f"a record is longer than {self._max_chars} characters")
        return [record for record in complete if record.strip()]


@functools.lru_cache(maxsize=8)
def _decoder(parse_float: Callable[[str], Any]) -> json.JSONDecoder:
    # One decoder per number type, built once: json.loads with any keyword builds a new
    # JSONDecoder (and its scanner) on every call, which cost as much as the decoding itself.
    return json.JSONDecoder(parse_float=parse_float)


def parse_object(record: str, *, parse_float: Callable[[str], Any] = float) -> dict[str, Any]:
    """One record as a JSON object; numbers with a fraction go through ``parse_float``.

    Raises :class:`ProtocolError` when it is not JSON or not an object; the message gives the
    record's length, never its text (a record may carry account data)."""
    try:
        value = _decoder(parse_float).decode(record)
    except ValueError:
        raise ProtocolError(f"hub record is not JSON ({len(record)} chars)") from None
    if not isinstance(value, dict):
        raise ProtocolError("hub record is not a JSON object")
    return value
