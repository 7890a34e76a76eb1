"""The store, its WAL and shared-memory files and its folder are the owner's alone (POSIX)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from risk_manager.store import Store

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_new_store_and_its_folder_are_private_even_with_a_loose_umask(tmp_path: Path) -> None:
    db = tmp_path / "data" / "rm.sqlite"
    old = os.umask(0o022)
    try:
        with Store.open(db) as store:
            store.schema_version  # noqa: B018
            assert _mode(db.parent) == 0o700
            for name in ("rm.sqlite", "rm.sqlite-wal", "rm.sqlite-shm"):
                assert _mode(db.parent / name) == 0o600, name
    finally:
        os.umask(old)


def test_an_existing_loose_store_is_tightened_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "rm.sqlite"
    with Store.open(db):
        pass
    db.chmod(0o644)
    with caplog.at_level(logging.WARNING), Store.open(db):
        assert _mode(db) == 0o600
        assert _mode(db.with_name("rm.sqlite-wal")) == 0o600
    assert any("readable by other users" in r.getMessage() for r in caplog.records)
