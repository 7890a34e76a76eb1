"""Field readers for gateway payloads: JSON values checked for type and finiteness.

Every wire number the engine does arithmetic with passes here, so a value that is not a number
(``NaN``, ``Infinity``, a string, a boolean) never reaches the ledger: Python's ``json`` reads
the ``NaN``/``Infinity`` literals into floats, and ``Decimal('NaN')`` poisons every sum it
touches. The rules, one per JSON type (API doc §2 "Value formats"):

- decimal: a JSON number (int, float, or the ``Decimal`` our parser makes of one), finite and
  below ``MAX_MAGNITUDE`` (``1e999999`` reads as a finite ``Decimal`` whose first product
  raises ``decimal.Overflow`` in the engine, on every later event of the account);
- integer: a JSON integer within 64 bits (the gateway's ids are .NET ``long``); ``true`` is
  not 1 and ``15.0`` is not 15;
- boolean: ``true`` or ``false``; the string ``"false"`` is not false;
- string: a JSON string; a timestamp an ISO 8601 string.

A required field that is absent or ``null`` is ``missing`` (hub payloads omit null keys, so the
two mean the same). Each reader raises ``WireError`` naming the field, the fault and the
value's type.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeGuard, TypeVar

V = TypeVar("V")

#: No price, balance, fee or P&L comes near it; one past it is the gateway's fault (bad_value).
MAX_MAGNITUDE = Decimal("1e15")
_INT64 = 2**63
_MAX_INT = int(MAX_MAGNITUDE)  # the decimal fast path's bound for an int
_SHOWN = 60  # characters of a bad value's repr in a message: a 1 MB string is not logged


class Fault(StrEnum):
    """Why a record was rejected; the ``fault`` label on ``/metrics``."""

    MISSING = "missing"  # a required field absent or null
    WRONG_TYPE = "wrong_type"  # e.g. a string where a number belongs, a bool for an int
    NOT_FINITE = "not_finite"  # NaN, Infinity, -Infinity
    BAD_VALUE = "bad_value"  # the right type but an impossible value (bad timestamp, side 7)
    MALFORMED = "malformed"  # not an object, or a reply or frame of the wrong shape


def type_name(value: object) -> str:
    """The JSON-ish name of a value's type for messages (``str``, ``float``, ``bool``...)."""
    return "null" if value is None else type(value).__name__


class WireError(ValueError):
    """A payload field the mapping cannot read.

    ``field`` is the wire key (or a description of the frame part), ``fault`` a ``Fault``,
    ``record_id`` the record's ``id`` when it had a readable one (set by the record reader).
    """

    def __init__(self, field: str, fault: Fault, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.fault = fault
        self.detail = detail
        self.record_id: object = None
        self.account_id: int | None = None  # the record's accountId when it was readable

    def __str__(self) -> str:
        where = "" if self.record_id is None else f" (record id {shown(self.record_id)})"
        return f"{self.field}: {self.detail}{where}"


def _missing(field: str, expected: str) -> WireError:
    return WireError(field, Fault.MISSING, f"required {expected} missing or null")


def shown(value: object) -> str:
    """``repr(value)``, cut to a few dozen characters for a message."""
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} chars)"


def _wrong(field: str, expected: str, value: object) -> WireError:
    detail = f"expected {expected}, got {type_name(value)} {shown(value)}"
    return WireError(field, Fault.WRONG_TYPE, detail)


def to_decimal(value: object, field: str) -> Decimal:
    """A finite JSON number as an exact ``Decimal`` (a float goes through ``str``)."""
    if value is None:
        raise _missing(field, "number")
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _wrong(field, "a JSON number", value)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, float) and not math.isfinite(value):
        number = Decimal(value)  # NaN / ±Infinity, rejected just below
    else:
        number = Decimal(str(value))
    if not number.is_finite():
        detail = f"not a finite number ({type_name(value)} {shown(value)})"
        raise WireError(field, Fault.NOT_FINITE, detail)
    if not -MAX_MAGNITUDE < number < MAX_MAGNITUDE:  # no arithmetic: 1e999999999 never traps
        detail = f"out of range ({shown(value)}; at most {MAX_MAGNITUDE:e} in magnitude)"
        raise WireError(field, Fault.BAD_VALUE, detail)
    return number


def opt_decimal(value: object, field: str) -> Decimal | None:
    """``None`` for an absent/null value, else as ``to_decimal``."""
    return None if value is None else to_decimal(value, field)


def is_json_int(value: object) -> TypeGuard[int]:
    """True for a JSON integer; ``True``/``False`` are not integers (Python says they are)."""
    return isinstance(value, int) and not isinstance(value, bool)


def to_int(value: object, field: str) -> int:
    """A JSON integer (never a bool, never a number with a fraction part or ``.0``)."""
    if value is None:
        raise _missing(field, "integer")
    if not is_json_int(value):
        raise _wrong(field, "a JSON integer", value)
    if not -_INT64 <= value < _INT64:
        raise WireError(field, Fault.BAD_VALUE, f"out of the 64-bit range ({shown(value)})")
    return value


def to_bool(value: object, field: str) -> bool:
    """A JSON boolean; ``"false"``, ``0`` and ``null`` are not booleans."""
    if value is None:
        raise _missing(field, "boolean")
    if not isinstance(value, bool):
        raise _wrong(field, "a JSON boolean", value)
    return value


def parse_time(value: object, field: str = "timestamp") -> datetime:
    """ISO 8601 with up to 7 fractional digits; naive times are taken as UTC."""
    if type(value) is str:
        # The fast path: since 3.11 ``fromisoformat`` reads "Z" and fractions of any length
        # (truncated to microseconds, as the trimming below does). Anything it refuses takes
        # the careful path, which gives the fault its detail.
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    if value is None:
        raise _missing(field, "ISO 8601 timestamp")
    if not isinstance(value, str):
        raise _wrong(field, "an ISO 8601 string", value)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python reads at most 6 fractional digits: trim the 7th (.NET ticks).
    dot = text.find(".")
    if dot != -1:
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        if end - dot - 1 > 6:
            text = text[: dot + 7] + text[end:]
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        detail = f"not an ISO 8601 instant: {shown(value)}"
        raise WireError(field, Fault.BAD_VALUE, detail) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def opt_time(value: object, field: str) -> datetime | None:
    """``None`` for an absent/null value, else as ``parse_time``."""
    return None if value is None else parse_time(value, field)


def _plain_decimal(value: object) -> Decimal | None:
    """``value`` as ``to_decimal`` reads it when it is a plain, good number (the ``Decimal``
    the hub's parser makes of a fraction, or an ``int``, finite and in range); else None,
    and the caller takes ``to_decimal``'s path, which gives the fault its detail. The fast
    path of the hub's records: each reader call costs, and a frame's six records hold ~60
    fields, all read before the breaching position reaches the actor (docs/PERFORMANCE.md,
    end-to-end latency)."""
    kind = type(value)
    if kind is Decimal:
        number: Decimal = value  # type: ignore[assignment]
        if number.is_finite() and -MAX_MAGNITUDE < number < MAX_MAGNITUDE:
            return number
    elif kind is int and -_MAX_INT < value < _MAX_INT:  # type: ignore[operator]
        return Decimal(value)  # type: ignore[arg-type]  # exact, as Decimal(str(value))
    return None


class Fields:
    """Typed access to one record's keys. A ``default`` makes a key optional (used when it is
    absent or null); without one, absence is a ``missing`` fault. A plain good value (an
    ``int`` in range, a finite ``Decimal`` in range, ``true``/``false``) is taken at once;
    anything else goes through the module's readers, which accept or reject it as always."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def _read(self, key: str, default: V | None, read: Callable[[object, str], V]) -> V:
        value = self.data.get(key)
        if value is None and default is not None:
            return default
        return read(value, key)

    def decimal(self, key: str, default: Decimal | None = None) -> Decimal:
        number = _plain_decimal(self.data.get(key))
        return number if number is not None else self._read(key, default, to_decimal)

    def opt_decimal(self, key: str) -> Decimal | None:
        value = self.data.get(key)
        if value is None:
            return None
        number = _plain_decimal(value)
        return number if number is not None else to_decimal(value, key)

    def integer(self, key: str, default: int | None = None) -> int:
        value = self.data.get(key)
        if type(value) is int and -_INT64 <= value < _INT64:
            return value
        return self._read(key, default, to_int)

    def opt_integer(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None or (type(value) is int and -_INT64 <= value < _INT64):
            return value
        return to_int(value, key)

    def size(self, key: str = "size", default: int | None = None) -> int:
        """A contract count: an integer, never negative."""
        value = self.integer(key, default)
        if value < 0:
            raise WireError(key, Fault.BAD_VALUE, f"a size cannot be negative ({value})")
        return value

    def boolean(self, key: str, default: bool | None = None) -> bool:
        value = self.data.get(key)
        if value is True or value is False:
            return value
        return self._read(key, default, to_bool)

    def string(self, key: str) -> str:
        """A required, non-empty string."""
        value = self.data.get(key)
        if value is None:
            raise _missing(key, "string")
        if not isinstance(value, str):
            raise _wrong(key, "a JSON string", value)
        if not value:
            raise WireError(key, Fault.BAD_VALUE, "empty string")
        return value

    def opt_string(self, key: str, default: str | None = None) -> str | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        raise _wrong(key, "a JSON string", value)

    def code(self, key: str, allowed: frozenset[int] | None = None) -> int:
        """A required enum integer; with ``allowed``, any other integer is a ``bad_value``."""
        value = self.integer(key)
        if allowed is not None and value not in allowed:
            raise WireError(key, Fault.BAD_VALUE, f"{value} is not one of {sorted(allowed)}")
        return value

    def time(self, key: str) -> datetime:
        return parse_time(self.data.get(key), key)

    def opt_time(self, key: str) -> datetime | None:
        return opt_time(self.data.get(key), key)
