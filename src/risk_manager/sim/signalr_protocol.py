"""The ASP.NET Core SignalR JSON hub protocol, server side: handshake, close and message shapes.

Pure functions only (no sockets). The framing shared with the client (record separator,
``RecordBuffer``, ``MessageType``, ``ProtocolError``) is :mod:`risk_manager.signalr`. See
projectx-gateway-api.md §9.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from risk_manager import signalr
from risk_manager.signalr import RECORD_SEPARATOR, MessageType, ProtocolError, parse_object
from risk_manager.sim.wire import num

# What ASP.NET says when it drops a connection; clients show "Server returned an error on close:
# Connection closed with an error." (§12 item 5), so the simulator uses the same words.
CLOSE_ERROR_TEXT = "Connection closed with an error."

# ASP.NET Core's JsonHubProtocol reports version 2 and its IsVersionSupported is
# `version <= Version`: 0 (what signalrcore sends after a v0 negotiate) and 1 are accepted too.
MAX_JSON_VERSION = 2


def _json_default(value: object) -> Any:
    # The wire carries prices as JSON numbers (§12 item 12: integers without decimals); the
    # shortest float repr of a Decimal with <= 15 significant digits prints the same digits.
    if isinstance(value, Decimal):
        return num(value)
    raise TypeError(
        f"cannot send {type(value).__name__} on a hub: convert it to a JSON value "
        "(str, int, float, bool, None, list, dict) first"
    )


def encode_record(message: dict[str, Any]) -> str:
    """One JSON record, terminated by the record separator; ``Decimal`` values become numbers."""
    return signalr.encode_record(message, default=_json_default)


HANDSHAKE_OK = "{}" + RECORD_SEPARATOR
PLAIN_CLOSE_RECORD = encode_record({"type": MessageType.CLOSE})
ERROR_CLOSE_RECORD = encode_record(
    {"type": MessageType.CLOSE, "error": CLOSE_ERROR_TEXT, "allowReconnect": True}
)


def handshake_error(record: str) -> str | None:
    """Why the client's `{"protocol":"json","version":1}` record is refused, or None.

    Any integer version up to ``MAX_JSON_VERSION`` is accepted, as ASP.NET Core does (API doc
    §9.2, §12b): signalrcore sends 0 when negotiate answered ``negotiateVersion: 0``."""
    try:
        request = json.loads(record)
    except ValueError:
        return "Handshake request is not valid JSON."
    if not isinstance(request, dict):
        return "Handshake request must be a JSON object."
    protocol = request.get("protocol")
    if protocol != "json":
        return f"Requested protocol '{protocol}' is not available."
    version = request.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version > MAX_JSON_VERSION:
        return f"The server does not support version {version} of the 'json' protocol."
    return None


def handshake_error_record(error: str) -> str:
    return encode_record({"error": error})


def parse_record(record: str) -> dict[str, Any]:
    """One incoming record as a dict with an int `type`; unknown fields are kept (and ignored).

    Raises :class:`ProtocolError` for a record that is not a JSON object with an integer type."""
    message = parse_object(record)
    kind = message.get("type")
    if isinstance(kind, bool) or not isinstance(kind, int):
        raise ProtocolError("hub record has no integer 'type'")
    return message


def completion_record(invocation_id: str, error: str | None = None) -> str:
    message: dict[str, Any] = {"type": MessageType.COMPLETION, "invocationId": invocation_id}
    if error is not None:
        message["error"] = error
    return encode_record(message)


def invocation_record(target: str, arguments: list[Any]) -> str:
    """A server→client event; never carries an invocationId (§9.4)."""
    return signalr.invocation_record(target, arguments, default=_json_default)
