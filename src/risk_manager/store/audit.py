"""The audit log: who did what, when (admin actions, lock clearings)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from risk_manager.store.codec import dec_dt, dec_json, enc_dt, enc_json
from risk_manager.store.db import Database, returned_id
from risk_manager.store.records import AuditEntry


def insert_audit(
    conn: sqlite3.Connection, actor: str, action: str, detail: dict[str, Any], at: datetime
) -> int:
    if not actor or not action:
        raise ValueError(f"an audit row needs an actor and an action (got {actor!r}, {action!r})")
    cur = conn.execute(
        "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?) RETURNING id",
        (enc_dt(at), actor, action, enc_json(detail)),
    )
    return returned_id(cur)


class AuditRepo:
    _db: Database

    def audit(self, actor: str, action: str, detail: dict[str, Any], at: datetime) -> int:
        """Record one audited act; ``detail`` is JSON (Decimal/datetime become strings)."""
        with self._db.write() as conn:
            return insert_audit(conn, actor, action, detail, at)

    def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        """The newest ``limit`` rows, newest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT id, at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [AuditEntry(r[0], dec_dt(r[1]), r[2], r[3], dec_json(r[4])) for r in rows]
