"""What the admin's delays keep across a restart (docs/RULES.md §2 "Clearings and
loosenings"): the settings each account is guarded under now, and the loosenings waiting for
``admin.loosen_delay``. Pending clearings of locks live on the lock rows (store/locks.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from risk_manager.store.codec import dec_dt, dec_json, enc_dt, enc_json
from risk_manager.store.db import Database
from risk_manager.store.records import PendingLoosening


class AdminRepo:
    _db: Database

    def settings_in_force(self) -> dict[int, dict[str, Any]]:
        """``{account id: settings}`` as last saved (empty for a new store)."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT account_id, settings FROM settings_in_force").fetchall()
        return {account_id: dec_json(body) for account_id, body in rows}

    def pending_loosenings(self) -> list[PendingLoosening]:
        """Every loosening still waiting; soonest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT account_id, rule, before, after, due_at, created_at "
                "FROM pending_loosenings ORDER BY due_at, account_id, rule"
            ).fetchall()
        return [
            PendingLoosening(a, r, dec_json(b), dec_json(f), dec_dt(d), dec_dt(c))
            for a, r, b, f, d, c in rows
        ]

    def save_settings(
        self,
        in_force: Mapping[int, Mapping[str, Any]],
        pending: Iterable[PendingLoosening],
        at: datetime,
        forget: Iterable[int] = (),
    ) -> None:
        """Replace the settings in force of the accounts in ``in_force`` and every pending
        loosening, and delete the settings of the accounts in ``forget``, in one transaction,
        durably (a crash keeps the old state or the new)."""
        with self._db.write() as conn:
            conn.executemany(
                "DELETE FROM settings_in_force WHERE account_id = ?", [(a,) for a in forget]
            )
            conn.executemany(
                "INSERT INTO settings_in_force (account_id, settings, updated_at) "
                "VALUES (?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET "
                "settings = excluded.settings, updated_at = excluded.updated_at",
                [(a, enc_json(dict(s)), enc_dt(at)) for a, s in in_force.items()],
            )
            conn.execute("DELETE FROM pending_loosenings")
            conn.executemany(
                "INSERT INTO pending_loosenings "
                "(account_id, rule, before, after, due_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        p.account_id,
                        p.rule,
                        enc_json(p.before),
                        enc_json(p.after),
                        enc_dt(p.due_at),
                        enc_dt(p.created_at),
                    )
                    for p in pending
                ],
            )
