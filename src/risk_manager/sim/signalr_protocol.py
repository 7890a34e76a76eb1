"""The ASP.NET Core SignalR JSON hub protocol, server side: framing, handshake, message shapes.

Pure functions only (no sockets). See projectx-gateway-api.md §9.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Any

RECORD_SEPARATOR = "\x1e"

# What ASP.NET says when it drops a connection; clients show "Server returned an error on close:
# Connection closed with an error." (§12 item 5), so the simulator uses the same words.
CLOSE_ERROR_TEXT = "Connection closed with an error."

# JsonHubProtocol in current ASP.NET reports version 2 and accepts any version up to it.
_SUPPORTED_JSON_VERSIONS = frozenset({1, 2})


class MessageType(IntEnum):
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
    """A client sent something that is not a SignalR JSON message."""


def _json_default(value: object) -> Any:
    # The wire carries prices as JSON numbers (§12 item 12: integers without decimals); the
    # shortest float repr of a Decimal with <= 15 significant digits prints the same digits.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(
        f"cannot send {type(value).__name__} on a hub: convert it to a JSON value "
        "(str, int, float, bool, None, list, dict) first"
    )


def encode_record(message: dict[str, Any]) -> str:
    """One JSON record, terminated by the record separator."""
    return json.dumps(message, separators=(",", ":"), default=_json_default) + RECORD_SEPARATOR


def split_records(text: str) -> list[str]:
    """The records of one frame; a frame may hold several, each ends with the separator."""
    return [part for part in text.split(RECORD_SEPARATOR) if part.strip()]


HANDSHAKE_OK = "{}" + RECORD_SEPARATOR
PING_RECORD = encode_record({"type": MessageType.PING})
PLAIN_CLOSE_RECORD = encode_record({"type": MessageType.CLOSE})
ERROR_CLOSE_RECORD = encode_record(
    {"type": MessageType.CLOSE, "error": CLOSE_ERROR_TEXT, "allowReconnect": True}
)


@dataclass(frozen=True, slots=True)
class HandshakeResult:
    error: str | None  # None: accepted
    rest: list[str]  # records that followed the handshake in the same frame


def parse_handshake(text: str) -> HandshakeResult:
    """Check the client's `{"protocol":"json","version":1}` record (first of the frame)."""
    head, sep, tail = text.partition(RECORD_SEPARATOR)
    if not sep:
        return HandshakeResult("Handshake request is not terminated by the record separator.", [])
    try:
        request = json.loads(head)
    except ValueError:
        return HandshakeResult("Handshake request is not valid JSON.", [])
    if not isinstance(request, dict):
        return HandshakeResult("Handshake request must be a JSON object.", [])
    protocol = request.get("protocol")
    if protocol != "json":
        return HandshakeResult(f"Requested protocol '{protocol}' is not available.", [])
    version = request.get("version")
    if isinstance(version, bool) or version not in _SUPPORTED_JSON_VERSIONS:
        return HandshakeResult(
            f"The server does not support version {version} of the 'json' protocol.", []
        )
    return HandshakeResult(None, split_records(tail))


def handshake_error_record(error: str) -> str:
    return encode_record({"error": error})


def parse_record(record: str) -> dict[str, Any]:
    """One incoming record as a dict with an int `type`; unknown fields are kept (and ignored)."""
    try:
        message = json.loads(record)
    except ValueError as exc:
        raise ProtocolError(f"record is not valid JSON: {record[:80]!r}") from exc
    if not isinstance(message, dict):
        raise ProtocolError(f"record is not a JSON object: {record[:80]!r}")
    kind = message.get("type")
    if isinstance(kind, bool) or not isinstance(kind, int):
        raise ProtocolError(f"record has no integer 'type': {record[:80]!r}")
    return message


def completion_record(invocation_id: str, error: str | None = None) -> str:
    message: dict[str, Any] = {"type": MessageType.COMPLETION, "invocationId": invocation_id}
    if error is not None:
        message["error"] = error
    return encode_record(message)


def invocation_record(target: str, arguments: list[Any]) -> str:
    """A server→client event; never carries an invocationId (§9.4)."""
    return encode_record({"type": MessageType.INVOCATION, "target": target, "arguments": arguments})
