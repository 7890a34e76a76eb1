"""What one fsync'd commit costs on this disk, alone (no event loop, no other work): the
fsync floor's (one small row in a table of its own, as ``bench e2e``'s floor writes it), a
journal intent through the store (its row, its two indexes and the AUTOINCREMENT counter), and
a journal intent with the rows that ride on it in the daemon (a breach's two fills and the
last breach's outcome). Each in a fresh store (its WAL file growing with each commit) and in
one whose WAL is already at its working size (written in place: after a checkpoint SQLite
starts again at the file's beginning). Alternated, so all meet the same disk.

    .venv/bin/python tools/perf/commit_cost.py [ROUNDS]    (default 400)

Prints p50 / p90 / p99 ms of each. docs/PERFORMANCE.md "End-to-end enforcement latency".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from risk_manager.store import Store
from risk_manager.store.db import connect

NOW = datetime.now(UTC).isoformat()
INTENT = json.dumps(
    {"kind": "close_position", "account_id": 1, "rule": "max_contracts", "size": 1},
)
WARM_ROWS = 300  # 16 KB rows: a WAL of ~5 MB, past the 1,000-page checkpoint


def _warm(conn: sqlite3.Connection) -> None:
    """Grow the WAL past its checkpoint size, then leave it checkpointed and empty of rows."""
    conn.execute("CREATE TABLE scratch (b BLOB)")
    for _ in range(WARM_ROWS):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO scratch VALUES (?)", (os.urandom(16_000),))
        conn.execute("COMMIT")
    conn.execute("DROP TABLE scratch")
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _floor(conn: sqlite3.Connection) -> Callable[[int], None]:
    conn.execute("CREATE TABLE floor (n INTEGER, at TEXT)")

    def write(n: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO floor VALUES (?, ?)", (n, NOW))
        conn.execute("COMMIT")

    return write


def _intent(conn: sqlite3.Connection, grouped: bool) -> Callable[[int], None]:
    last: list[int] = []

    def write(n: int) -> None:
        account = 1 + n % 10
        conn.execute("BEGIN IMMEDIATE")
        if grouped:
            for k in range(2):
                conn.execute(
                    "INSERT INTO fills (id, account_id, contract_id, created_at, price, size, "
                    "side, profit_and_loss, fees, commissions, voided, order_id, trading_day) "
                    "VALUES (?, ?, 'CON.F.US.MNQ.Z26', ?, '21000.25', 1, 0, NULL, '0.37', "
                    "'0.37', 0, ?, '2026-12-07')",
                    (2 * n + k + 1, account, NOW, n + 1),
                )
            if last:
                conn.execute(
                    "UPDATE journal SET outcome = 'confirmed', outcome_detail = 'closed', "
                    "finished_at = ? WHERE id = ?",
                    (NOW, last[-1]),
                )
        row = conn.execute(
            "INSERT INTO journal (account_id, rule, kind, intent, created_at, sent_at) "
            "VALUES (?, 'max_contracts', 'close_position', ?, ?, ?) RETURNING id",
            (account, INTENT, NOW, NOW),
        ).fetchone()
        conn.execute("COMMIT")
        last.append(int(row[0]))

    return write


def main(rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="commit-cost-"))
    kept: list[sqlite3.Connection] = []
    writers: dict[str, Callable[[int], None]] = {}
    for warm in (False, True):
        wal = "WAL in place" if warm else "WAL growing"
        floor = connect(folder / f"floor-{warm}.sqlite", 5.0)
        if warm:
            _warm(floor)
        kept.append(floor)
        writers[f"floor, {wal}"] = _floor(floor)
        for grouped in (False, True):
            path = folder / f"store-{warm}-{grouped}.sqlite"
            Store.open(path).close()  # the product's schema (its migrations)
            conn = connect(path, 5.0)  # with the store's settings (store/db.py)
            if warm:
                _warm(conn)
            kept.append(conn)
            name = "journal intent" + (" + 2 fills + an outcome" if grouped else "")
            writers[f"{name}, {wal}"] = _intent(conn, grouped)
    took: dict[str, list[float]] = {name: [] for name in writers}
    for n in range(rounds):
        for name, write in writers.items():
            started = time.perf_counter_ns()
            write(n)
            took[name].append((time.perf_counter_ns() - started) / 1e6)
    for name, values in took.items():
        values.sort()
        p50, p90, p99 = (values[int(len(values) * q)] for q in (0.5, 0.9, 0.99))
        print(f"{name:>52}  p50 {p50:6.3f}  p90 {p90:6.3f}  p99 {p99:6.3f} ms")
    for item in kept:
        item.close()
    shutil.rmtree(folder)  # its WAL files are some MB


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rounds", nargs="?", type=int, default=400)
    main(parser.parse_args().rounds)
