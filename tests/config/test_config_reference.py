"""docs/CONFIG.md is what `risk-manager config docs` prints: the hand-written prose, then
every key of every section from the config models. A key added, renamed or given a new
default without `make config-docs` fails here."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from risk_manager.cli.main import app
from risk_manager.config.models import Config
from risk_manager.config.reference import MARKER, config_docs, reference

CONFIG_MD = Path(__file__).resolve().parents[2] / "docs" / "CONFIG.md"


def test_docs_config_md_is_not_stale() -> None:
    assert CONFIG_MD.read_text(encoding="utf-8") == config_docs(), (
        "docs/CONFIG.md is stale: run `make config-docs` (or "
        "`risk-manager config docs > docs/CONFIG.md`) and commit it"
    )


def test_the_command_prints_the_document() -> None:
    result = CliRunner().invoke(app, ["config", "docs"])
    assert result.exit_code == 0
    assert result.stdout == config_docs()
    assert result.stdout.count(MARKER) == 1


def _leaf_keys(data: dict[str, object], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
            keys |= _leaf_keys(value, f"{path}.")
        else:
            keys.add(path)
    return keys


def test_every_key_of_the_defaults_has_a_row() -> None:
    text = reference()
    rows = {line.split("`")[1] for line in text.splitlines() if line.startswith("| `")}
    defaults = Config().model_dump(mode="json")
    missing = {key for key in _leaf_keys(defaults) if key not in rows}
    assert not missing, f"keys without a row: {sorted(missing)}"
    assert "accounts.list[].id" in rows and "contracts[].symbol" in rows
