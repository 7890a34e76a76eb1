"""requirements.lock pins every runtime dependency of pyproject.toml, each with its hashes,
so an install from it (`make test`'s venv, the service install in docs/INSTALL.md) is
reproducible. A dependency added to pyproject.toml without `make lock` fails here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return canonicalize_name(Requirement(requirement).name)  # ruamel.yaml == ruamel-yaml


def test_every_runtime_dependency_is_pinned_with_hashes() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    text = (REPO / "requirements.lock").read_text()
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=[a-z0-9])", text):
        match = re.match(r"([a-z0-9][a-z0-9._-]*)==(\S+)", block)
        if match:
            pins[canonicalize_name(match.group(1))] = block
    missing = sorted(wanted - set(pins))
    assert not missing, f"not in requirements.lock (run `make lock`): {missing}"
    for name, block in pins.items():
        assert "--hash=sha256:" in block, f"{name} has no hash"
