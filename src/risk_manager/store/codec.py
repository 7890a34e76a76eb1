"""Column encodings: Decimal as text, instants as fixed-width ISO-8601 UTC text, JSON objects.

Fixed width matters: SQL compares instants as text (``ends_at > ?``), which is only time order
when every value has the same offset and the same number of fraction digits.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def enc_dt(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: the store only takes timezone-aware instants")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def enc_opt_dt(value: datetime | None) -> str | None:
    return None if value is None else enc_dt(value)


def dec_dt(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def dec_opt_dt(text: str | None) -> datetime | None:
    return None if text is None else dec_dt(text)


def enc_dec(value: Decimal) -> str:
    if not isinstance(value, Decimal):
        raise TypeError(f"{value!r} is {type(value).__name__}; money and prices must be Decimal")
    if not value.is_finite():
        raise ValueError(f"{value!r} is not a finite Decimal")
    return str(value)


def enc_opt_dec(value: Decimal | None) -> str | None:
    return None if value is None else enc_dec(value)


def dec_dec(text: str) -> Decimal:
    return Decimal(text)


def dec_opt_dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def enc_day(value: date) -> str:
    if isinstance(value, datetime):
        raise TypeError(f"{value!r} is a datetime; a trading day is a date")
    return value.isoformat()


def dec_day(text: str) -> date:
    return date.fromisoformat(text)


def _json_default(value: object) -> object:
    # Lossless as text; the reader gets strings back (documented on the store methods).
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return enc_dt(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} {value!r} cannot be stored as JSON")


def enc_json(value: dict[str, Any]) -> str:
    if not isinstance(value, dict):
        raise TypeError(f"expected a dict for a JSON column, got {type(value).__name__}")
    return json.dumps(value, default=_json_default, sort_keys=True, separators=(",", ":"))


def dec_json(text: str) -> dict[str, Any]:
    loaded = json.loads(text)
    if not isinstance(loaded, dict):
        raise ValueError(f"JSON column holds {type(loaded).__name__}, expected an object")
    return loaded
