"""The one config error: every problem found, each as ``"dotted.key.path: what is wrong"``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from risk_manager.domain.errors import RefuseToStart


class ConfigError(RefuseToStart):
    """A config file the daemon must refuse. ``problems`` lists every one found, never a secret."""

    def __init__(self, problems: Sequence[str], source: str = "config") -> None:
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        count = len(self.problems)
        super().__init__(f"{source}: {count} problem{'s' if count != 1 else ''}\n{lines}")

    @classmethod
    def from_validation(cls, error: ValidationError, source: str = "config") -> ConfigError:
        return cls(problems_of(error.errors(include_url=False, include_input=False)), source)


def format_loc(loc: Iterable[int | str]) -> str:
    """``("accounts", "list", 0, "id")`` → ``"accounts.list[0].id"``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _plain_loc(loc: Sequence[int | str]) -> tuple[int | str, ...]:
    # pydantic may add validator wrapper names (`function-after[...]`) to a location; they mean
    # nothing to someone editing YAML.
    return tuple(
        part for part in loc if not (isinstance(part, str) and part.startswith("function-"))
    )


def message_of(error: Mapping[str, Any]) -> str:
    """A short message for one pydantic error, in the config's own words."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key (check its spelling and the section it is in)"
    if kind == "missing":
        return "is required"
    if kind == "greater_than":
        return f"must be > {ctx.get('gt')}"
    if kind == "greater_than_equal":
        return f"must be >= {ctx.get('ge')}"
    if kind == "less_than":
        return f"must be < {ctx.get('lt')}"
    if kind == "less_than_equal":
        return f"must be <= {ctx.get('le')}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind == "enum":
        return f"must be one of {ctx.get('expected')}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "must be a whole number"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if kind in ("string_type",):
        return "must be a text string"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping of keys to values"
    if kind == "list_type":
        return "must be a list"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    message = str(error.get("msg", kind))
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def problems_of(errors: Iterable[Mapping[str, Any]]) -> list[str]:
    """One ``"path: message"`` line per error, in order, without duplicates."""
    lines: list[str] = []
    for error in errors:
        line = f"{format_loc(_plain_loc(error['loc']))}: {message_of(error)}"
        if line not in lines:
            lines.append(line)
    return lines
