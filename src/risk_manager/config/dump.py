"""Writing config data back as YAML (``config show``): Decimals as plain numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """A SafeDumper that writes Decimals as YAML numbers (``1000``, ``0.1``), not strings."""


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = format(value, "f")
    tag = "tag:yaml.org,2002:float" if "." in text else "tag:yaml.org,2002:int"
    return dumper.represent_scalar(tag, text)


_Dumper.add_representer(Decimal, _represent_decimal)


def dump_yaml(data: dict[str, Any]) -> str:
    """``data`` (plain dicts, lists, scalars, Decimals) as block-style YAML, keys in order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
