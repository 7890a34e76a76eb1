"""Where the store file is: a relative ``store.path`` from the config file's folder, a leading
``~`` from the user's home (found by the README's newcomer path: `~/.risk-manager/sim.sqlite`
used to open a folder literally named ``~`` in the working directory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from risk_manager.config.loader import load_config


def store_of(tmp_path: Path, value: str) -> Path:
    config = tmp_path / "config" / "config.yaml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(f"store:\n  path: {value}\n")
    return Path(load_config(config).store.path)


def test_a_relative_path_is_read_from_the_config_files_folder(tmp_path: Path) -> None:
    assert store_of(tmp_path, "rm.sqlite") == tmp_path / "config" / "rm.sqlite"


def test_a_tilde_is_the_users_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert store_of(tmp_path, "~/.risk-manager/rm.sqlite") == (
        tmp_path / "home" / ".risk-manager" / "rm.sqlite"
    )


def test_an_absolute_path_is_kept(tmp_path: Path) -> None:
    assert (
        store_of(tmp_path, str(tmp_path / "data" / "rm.sqlite")) == tmp_path / "data" / "rm.sqlite"
    )
