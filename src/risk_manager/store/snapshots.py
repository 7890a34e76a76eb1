"""P&L snapshots: what the account stood at, for restart and for the dashboards' history."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from risk_manager.store.codec import (
    dec_day,
    dec_dec,
    dec_dt,
    dec_opt_dec,
    enc_day,
    enc_dec,
    enc_dt,
    enc_opt_dec,
)
from risk_manager.store.db import Database, returned_id
from risk_manager.store.records import PnlSnapshot

_COLS = "id, account_id, trading_day, realized, unrealized, net, balance, peak_net, taken_at"
# SQL built from module constants only (the column list above; hence each `nosec B608`):
# every value is a bound parameter.
_SELECT = f"SELECT {_COLS} FROM pnl_snapshots"  # nosec B608
_INSERT = f"INSERT INTO pnl_snapshots ({_COLS}) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"  # nosec B608


def _snapshot(row: tuple[Any, ...]) -> PnlSnapshot:
    return PnlSnapshot(
        id=row[0],
        account_id=row[1],
        trading_day=dec_day(row[2]),
        realized=dec_dec(row[3]),
        unrealized=dec_opt_dec(row[4]),
        net=dec_opt_dec(row[5]),
        balance=dec_opt_dec(row[6]),
        peak_net=dec_opt_dec(row[7]),
        taken_at=dec_dt(row[8]),
    )


class SnapshotRepo:
    _db: Database

    def save_snapshot(self, snapshot: PnlSnapshot) -> PnlSnapshot:
        """Append a snapshot; returns it with its ``id``."""
        if snapshot.id is not None:
            raise ValueError(f"snapshot {snapshot.id} is already stored")
        with self._db.write() as conn:
            cur = conn.execute(
                _INSERT,
                (
                    snapshot.account_id,
                    enc_day(snapshot.trading_day),
                    enc_dec(snapshot.realized),
                    enc_opt_dec(snapshot.unrealized),
                    enc_opt_dec(snapshot.net),
                    enc_opt_dec(snapshot.balance),
                    enc_opt_dec(snapshot.peak_net),
                    enc_dt(snapshot.taken_at),
                ),
            )
            snapshot_id = returned_id(cur)
        return dataclasses.replace(
            snapshot, id=snapshot_id, taken_at=dec_dt(enc_dt(snapshot.taken_at))
        )

    def latest_snapshot(self, account_id: int, trading_day: date) -> PnlSnapshot | None:
        """The most recently taken snapshot of that account and trading day, if any."""
        with self._db.read() as conn:
            row = conn.execute(
                _SELECT + " WHERE account_id = ? AND trading_day = ? "
                "ORDER BY taken_at DESC, id DESC LIMIT 1",
                (account_id, enc_day(trading_day)),
            ).fetchone()
        return None if row is None else _snapshot(row)

    def snapshots(self, account_id: int, trading_day: date, after_id: int = 0) -> list[PnlSnapshot]:
        """That account's snapshots of that trading day with an id above ``after_id``, oldest
        first (``taken_at``, id): the P&L curve, read again only for what is new."""
        with self._db.read() as conn:
            rows = conn.execute(
                _SELECT + " WHERE account_id = ? AND trading_day = ? AND id > ? "
                "ORDER BY taken_at, id",
                (account_id, enc_day(trading_day), after_id),
            ).fetchall()
        return [_snapshot(row) for row in rows]
