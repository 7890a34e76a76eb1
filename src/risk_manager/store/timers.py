"""Named timers per account (cooldown ends, grace periods, session stages), stored as absolute
UTC instants so a restart resumes them; the runtime's scheduler turns due ones into events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from risk_manager.store.codec import dec_dt, dec_json, enc_dt, enc_json
from risk_manager.store.db import Database
from risk_manager.store.records import Timer

_COLS = "account_id, name, fires_at, payload"
# SQL built from module constants only (the column list above; hence each `nosec B608`):
# every value is a bound parameter.
_SELECT = f"SELECT {_COLS} FROM timers"  # nosec B608
_UPSERT = (
    f"INSERT INTO timers ({_COLS}) VALUES (?, ?, ?, ?) ON CONFLICT (account_id, name) "  # nosec B608
    "DO UPDATE SET fires_at = excluded.fires_at, payload = excluded.payload"
)


def _timer(row: tuple[Any, ...]) -> Timer:
    return Timer(row[0], row[1], dec_dt(row[2]), dec_json(row[3]))


class TimerRepo:
    _db: Database

    def set_timer(
        self,
        account_id: int,
        name: str,
        fires_at: datetime,
        payload: dict[str, Any] | None = None,
    ) -> Timer:
        """Create the timer, or move an existing one of that (account, name) to ``fires_at``
        with the new payload. Payload is JSON (Decimal/datetime become strings)."""
        if not name:
            raise ValueError("a timer needs a name")
        row = (account_id, name, enc_dt(fires_at), enc_json(payload or {}))
        with self._db.write() as conn:
            conn.execute(
                _UPSERT,
                row,
            )
        return _timer(row)

    def delete_timer(self, account_id: int, name: str) -> bool:
        """True when a timer was there."""
        with self._db.write() as conn:
            cur = conn.execute(
                "DELETE FROM timers WHERE account_id = ? AND name = ?", (account_id, name)
            )
        return cur.rowcount > 0

    def timers(self, account_id: int | None = None) -> list[Timer]:
        """All timers (of one account), soonest first."""
        sql = _SELECT
        args: tuple[Any, ...] = ()
        if account_id is not None:
            sql += " WHERE account_id = ?"
            args = (account_id,)
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY fires_at, account_id, name", args).fetchall()
        return [_timer(r) for r in rows]

    def due_timers(self, now: datetime) -> list[Timer]:
        """Timers with ``fires_at <= now`` (they stay until deleted), soonest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                _SELECT + " WHERE fires_at <= ? ORDER BY fires_at, account_id, name",
                (enc_dt(now),),
            ).fetchall()
        return [_timer(r) for r in rows]
