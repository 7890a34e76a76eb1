"""Fills (half-turns), one row per gateway trade id so each counts once (RULES.md §1, §4)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from risk_manager.domain.enums import OrderSide
from risk_manager.domain.models import Trade
from risk_manager.store.codec import (
    dec_dec,
    dec_dt,
    dec_opt_dec,
    enc_day,
    enc_dec,
    enc_dt,
    enc_opt_dec,
)
from risk_manager.store.db import Database

_COLS = (
    "id, account_id, contract_id, created_at, price, size, side, profit_and_loss, fees, "
    "commissions, voided, order_id"
)
# SQL built from module constants only (the column list above; hence each `nosec B608`):
# every value is a bound parameter.
_SELECT = f"SELECT {_COLS} FROM fills"  # nosec B608
_INSERT = (
    f"INSERT INTO fills ({_COLS}, trading_day) "  # nosec B608
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id"
)


def _trade(row: tuple[Any, ...]) -> Trade:
    return Trade(
        id=row[0],
        account_id=row[1],
        contract_id=row[2],
        created_at=dec_dt(row[3]),
        price=dec_dec(row[4]),
        size=row[5],
        side=OrderSide(row[6]),
        profit_and_loss=dec_opt_dec(row[7]),
        fees=dec_dec(row[8]),
        commissions=dec_dec(row[9]),
        voided=bool(row[10]),
        order_id=row[11],
    )


class FillRepo:
    _db: Database

    def add_fill(self, trade: Trade, trading_day: date) -> bool:
        """Record a fill under its trading day; True when new, False when that trade id was
        already stored (the stored row is left as it was)."""
        with self._db.write() as conn:
            cur = conn.execute(
                _INSERT,
                (
                    trade.id,
                    trade.account_id,
                    trade.contract_id,
                    enc_dt(trade.created_at),
                    enc_dec(trade.price),
                    trade.size,
                    int(trade.side),
                    enc_opt_dec(trade.profit_and_loss),
                    enc_dec(trade.fees),
                    enc_dec(trade.commissions),
                    int(trade.voided),
                    trade.order_id,
                    enc_day(trading_day),
                ),
            )
            return bool(cur.fetchall())  # a row back: new; none: that trade id was stored

    def add_fills(self, fills: Sequence[tuple[Trade, date]]) -> int:
        """``add_fill`` for each (trade, trading day) in one transaction; how many were new."""
        with self._db.write():  # the add_fill writes nest into this one commit
            return sum(self.add_fill(trade, day) for trade, day in fills)

    def fills(
        self, account_id: int, trading_day: date | None = None, since: datetime | None = None
    ) -> list[Trade]:
        """The account's fills, voided ones included (callers filter), oldest first;
        optionally of one trading day and/or at or after ``since``."""
        sql = _SELECT + " WHERE account_id = ?"
        args: list[Any] = [account_id]
        if trading_day is not None:
            sql += " AND trading_day = ?"
            args.append(enc_day(trading_day))
        if since is not None:
            sql += " AND created_at >= ?"
            args.append(enc_dt(since))
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY created_at, id", args).fetchall()
        return [_trade(r) for r in rows]
