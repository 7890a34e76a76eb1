"""Reading JSON request bodies field by field; a bad field is an HTTP 400 naming it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from aiohttp import web

loads = partial(json.loads, parse_float=Decimal)  # prices stay exact


class BadField(Exception):
    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


async def read_body(request: web.Request) -> dict[str, Any]:
    """The JSON object body; an empty body reads as ``{}``."""
    text = await request.text()
    if not text.strip():
        return {}
    try:
        body = loads(text)
    except ValueError as exc:
        raise BadField("body", f"is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise BadField("body", "must be a JSON object")
    return body


def _present(body: dict[str, Any], name: str, required: bool) -> Any:
    value = body.get(name)
    if value is None and required:
        raise BadField(name, f"The {name} field is required.")
    return value


def get_int(body: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = _present(body, name, required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadField(name, f"must be an integer, got {value!r}")
    return value


def get_str(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = _present(body, name, required)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadField(name, f"must be a string, got {value!r}")
    return value


def get_bool(body: dict[str, Any], name: str, *, required: bool = True) -> bool | None:
    value = _present(body, name, required)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise BadField(name, f"must be true or false, got {value!r}")
    return value


def get_decimal(body: dict[str, Any], name: str, *, required: bool = True) -> Decimal | None:
    value = _present(body, name, required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise BadField(name, f"must be a number, got {value!r}")
    return Decimal(value)


def get_time(body: dict[str, Any], name: str, *, required: bool = True) -> datetime | None:
    value = get_str(body, name, required=required)
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise BadField(name, f"must be an ISO-8601 timestamp, got {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def problem_response(error: BadField) -> web.Response:
    """ASP.NET-style ProblemDetails for model validation failures (what the gateway sends)."""
    body = {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": {error.name: [error.problem]},
    }
    return web.json_response(body, status=400)
