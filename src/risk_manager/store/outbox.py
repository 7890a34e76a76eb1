"""The alert outbox: every alert meant for the webhook, kept until it is delivered (then for
the record a while longer) or given up (docs/RUNTIME.md "Alert delivery"). Rows are keyed by
the alert's own id, so a write retried after it landed changes nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from risk_manager.store.codec import dec_dt, dec_json, dec_opt_dt, enc_dt, enc_json
from risk_manager.store.db import Database
from risk_manager.store.records import OutboxEntry

_COLS = (
    "id, alert_id, account_id, severity, body, created_at, attempts, last_error, delivered_at, "
    "given_up_at"
)
# SQL built from module constants only (the column list above; hence each `nosec B608`):
# every value is a bound parameter.
_SELECT = f"SELECT {_COLS} FROM alert_outbox"  # nosec B608
# One statement per end column: the column name is one of these two literals, never an argument.
_EndColumn = Literal["delivered_at", "given_up_at"]
_FINISH: dict[_EndColumn, str] = {
    column: f"UPDATE alert_outbox SET {column} = ?, attempts = ?, "  # nosec B608
    "last_error = COALESCE(?, last_error) "
    "WHERE alert_id = ? AND delivered_at IS NULL AND given_up_at IS NULL"
    for column in ("delivered_at", "given_up_at")
}


def _entry(row: tuple[Any, ...]) -> OutboxEntry:
    return OutboxEntry(
        id=row[0],
        alert_id=row[1],
        account_id=row[2],
        severity=row[3],
        body=dec_json(row[4]),
        created_at=dec_dt(row[5]),
        attempts=row[6],
        last_error=row[7],
        delivered_at=dec_opt_dt(row[8]),
        given_up_at=dec_opt_dt(row[9]),
    )


class OutboxRepo:
    _db: Database

    def outbox_add(
        self, alert_id: str, account_id: int, severity: str, body: dict[str, Any], at: datetime
    ) -> int:
        """Queue one alert (``body`` is JSON, posted as is); returns its row id, the delivery
        order. Adding the same ``alert_id`` again returns the row already there."""
        if not alert_id:
            raise ValueError("an outbox row needs the alert's id")
        with self._db.write() as conn:
            added = conn.execute(
                "INSERT INTO alert_outbox (alert_id, account_id, severity, body, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING RETURNING id",
                (alert_id, account_id, severity, enc_json(body), enc_dt(at)),
            ).fetchall()
            if added:
                return int(added[0][0])
            row = conn.execute(  # a retried add: the row already there
                "SELECT id FROM alert_outbox WHERE alert_id = ?", (alert_id,)
            ).fetchone()
        return int(row[0])

    def outbox_delivered(
        self, alert_id: str, at: datetime, attempts: int, last_error: str | None = None
    ) -> bool:
        """The webhook took the alert (``attempts`` tries in all; ``last_error``: why the one
        before failed, if one did). False when no such alert waits (never queued, already
        ended): nothing is changed, and nothing is raised, so a retried write cannot stall."""
        return self._finish(alert_id, "delivered_at", at, attempts, last_error)

    def outbox_given_up(self, alert_id: str, at: datetime, attempts: int, error: str) -> bool:
        """The alert is past its keep: never to be sent (``error``: the last failure, never
        the URL). False when no such alert waits, as for :meth:`outbox_delivered`."""
        return self._finish(alert_id, "given_up_at", at, attempts, error)

    def _finish(
        self, alert_id: str, column: _EndColumn, at: datetime, attempts: int, error: str | None
    ) -> bool:
        with self._db.write() as conn:
            cur = conn.execute(_FINISH[column], (enc_dt(at), attempts, error, alert_id))
        return cur.rowcount > 0

    def outbox_pending(self) -> list[OutboxEntry]:
        """Alerts neither delivered nor given up, in delivery order (oldest first)."""
        with self._db.read() as conn:
            rows = conn.execute(
                _SELECT + " WHERE delivered_at IS NULL AND given_up_at IS NULL ORDER BY id"
            ).fetchall()
        return [_entry(r) for r in rows]

    def outbox_prune(self, ended_before: datetime) -> int:
        """Delete the alerts delivered or given up before ``ended_before``; returns how many.
        Undelivered ones are never pruned here: they end by delivery or by their keep."""
        cutoff = enc_dt(ended_before)
        with self._db.write() as conn:
            cur = conn.execute(
                "DELETE FROM alert_outbox WHERE delivered_at < ? OR given_up_at < ?",
                (cutoff, cutoff),
            )
        return cur.rowcount

    def outbox(self, limit: int = 100) -> list[OutboxEntry]:
        """The newest ``limit`` rows, newest first (the record of what was sent)."""
        with self._db.read() as conn:
            rows = conn.execute(_SELECT + " ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [_entry(r) for r in rows]
