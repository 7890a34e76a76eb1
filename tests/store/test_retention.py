"""Retention (docs/BACKUP.md "Retention"): old journal, fill and snapshot rows are deleted;
today's, an unfinished entry and an active lock's rows never are."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from risk_manager.domain.enums import OrderSide
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Trade
from risk_manager.store import Store
from risk_manager.store.records import JournalOutcome, PnlSnapshot

from .conftest import T0

NOW = T0 + timedelta(days=200, hours=1)  # an hour into a trading day 200 days after T0
TODAY = (NOW + timedelta(hours=2)).date()  # CME: the day after 17:00 CT is the next date
DAY_START = NOW - timedelta(hours=1)
OLD = NOW - timedelta(days=100)
CUTOFF = NOW - timedelta(days=30)


def _fill(store: Store, trade_id: int, account: int, at: datetime, day: date) -> None:
    trade = Trade(
        id=trade_id,
        account_id=account,
        contract_id="CON.F.US.MNQ.H26",
        created_at=at,
        price=Decimal("21000.25"),
        side=OrderSide.ASK,
        size=1,
        order_id=trade_id,
        fees=Decimal("0.37"),
        commissions=Decimal("0"),
        profit_and_loss=None,
    )
    assert store.add_fill(trade, day)


def _snapshot(store: Store, account: int, at: datetime, day: date) -> None:
    store.save_snapshot(
        PnlSnapshot(account, day, Decimal(0), Decimal(0), Decimal(0), None, None, at)
    )


def _journal(store: Store, account: int, at: datetime, *, finished: bool = True) -> int:
    entry = store.journal_intent(account, "r", "flatten", {"kind": "flatten"}, at)
    if finished:
        store.journal_outcome(entry, JournalOutcome.CONFIRMED, "done", at)
    return entry


def _count(path: Path, table: str, account: int) -> int:
    with closing(sqlite3.connect(path)) as conn:
        sql = f"SELECT COUNT(*) FROM {table} WHERE account_id = ?"
        return int(conn.execute(sql, (account,)).fetchone()[0])


def _prune(store: Store, cutoff: datetime = CUTOFF) -> tuple[int, int, int]:
    pruned = store.prune_history(
        journal_before=cutoff,
        fills_before=cutoff,
        snapshots_before=cutoff,
        today=TODAY,
        day_start=DAY_START,
        now=NOW,
    )
    return pruned.journal, pruned.fills, pruned.snapshots


def test_old_rows_go_recent_ones_stay(db_path: Path) -> None:
    with Store.open(db_path) as store:
        _fill(store, 1, 7, OLD, OLD.date())
        _fill(store, 2, 7, NOW - timedelta(days=2), (NOW - timedelta(days=2)).date())
        _snapshot(store, 7, OLD, OLD.date())
        _snapshot(store, 7, NOW - timedelta(days=2), (NOW - timedelta(days=2)).date())
        _journal(store, 7, OLD)
        _journal(store, 7, NOW - timedelta(days=2))
        assert _prune(store) == (1, 1, 1)
        assert [f.id for f in store.fills(7)] == [2]
        assert len(store.journal(7)) == 1
    for table in ("journal", "fills", "pnl_snapshots"):
        assert _count(db_path, table, 7) == 1


def test_todays_rows_are_never_pruned_whatever_the_cutoff(db_path: Path) -> None:
    with Store.open(db_path) as store:
        _fill(store, 1, 7, DAY_START + timedelta(minutes=5), TODAY)
        _snapshot(store, 7, DAY_START + timedelta(minutes=5), TODAY)
        _journal(store, 7, DAY_START + timedelta(minutes=5))
        _fill(store, 2, 7, DAY_START - timedelta(minutes=5), TODAY - timedelta(days=1))
        # a cutoff past the day's start (a misconfigured clock, say) is clamped to it
        assert _prune(store, cutoff=NOW) == (0, 1, 0)
        assert [f.id for f in store.fills(7)] == [1]


def test_an_active_locks_rows_stay_an_ended_locks_go(db_path: Path) -> None:
    with Store.open(db_path) as store:
        locked_at = OLD - timedelta(days=1)
        store.add_lock(Lock(7, "daily_net_loss", LockKind.HARD, "held", locked_at, None))
        store.add_lock(
            Lock(8, "cooldown", LockKind.HARD, "over", locked_at, locked_at + timedelta(hours=1))
        )
        for account in (7, 8):
            _fill(store, account, account, OLD, OLD.date())
            _snapshot(store, account, OLD, OLD.date())
            _journal(store, account, OLD)
            _journal(store, account, locked_at - timedelta(days=1))  # before the lock: goes
        assert _prune(store) == (3, 1, 1)
        assert len(store.active_locks(NOW)) == 1
    assert [_count(db_path, t, 7) for t in ("journal", "fills", "pnl_snapshots")] == [1, 1, 1]
    assert [_count(db_path, t, 8) for t in ("journal", "fills", "pnl_snapshots")] == [0, 0, 0]
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM locks").fetchone()[0] == 2  # never pruned


def test_an_unfinished_journal_entry_stays(db_path: Path) -> None:
    with Store.open(db_path) as store:
        entry = _journal(store, 7, OLD, finished=False)
        assert _prune(store) == (0, 0, 0)
        assert [e.id for e in store.unfinished_actions()] == [entry]
