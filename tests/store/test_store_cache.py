"""The store's connections hold a small page cache (``CACHE_KIB``), not SQLite's 2 MiB
default: that cache fills as the store grows, and read as memory growth for hours of the
soak (docs/PERFORMANCE.md "Soak")."""

from __future__ import annotations

from pathlib import Path

from risk_manager.store import Store
from risk_manager.store.db import CACHE_KIB


def test_the_writer_and_the_reader_keep_a_small_page_cache(tmp_path: Path) -> None:
    with Store.open(tmp_path / "rm.db") as store:
        db = store._db
        with db.write() as conn:
            written = conn.execute("PRAGMA cache_size").fetchone()[0]
        with db.read() as conn:
            read = conn.execute("PRAGMA cache_size").fetchone()[0]
    assert CACHE_KIB <= 1024
    assert (written, read) == (-CACHE_KIB, -CACHE_KIB)
