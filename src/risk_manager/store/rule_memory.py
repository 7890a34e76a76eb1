"""Rule memory rows: one JSON object per (account, rule key), stored next to the locks so a
restart carries every rule on where it was (docs/ENGINE.md "Restarts")."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from risk_manager.store.codec import dec_json, enc_dt, enc_json
from risk_manager.store.db import Database


class RuleMemoryRepo:
    _db: Database

    def save_rule_memory(
        self, account_id: int, memory: Mapping[str, Mapping[str, Any]], at: datetime
    ) -> None:
        """Store the account's whole rule memory (``{rule key: JSON object}``) in one
        transaction, durably; keys no longer present are removed."""
        rows = [(account_id, key, enc_json(dict(data)), enc_dt(at)) for key, data in memory.items()]
        with self._db.write() as conn:
            conn.executemany(
                "INSERT INTO rule_memory (account_id, key, data, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (account_id, key) DO UPDATE SET "
                "data = excluded.data, updated_at = excluded.updated_at",
                rows,
            )
            # The kept keys as one JSON parameter: no SQL text is built from the data.
            conn.execute(
                "DELETE FROM rule_memory WHERE account_id = ? "
                "AND key NOT IN (SELECT value FROM json_each(?))",
                (account_id, json.dumps(list(memory))),
            )

    def rule_memory(self, account_id: int) -> dict[str, dict[str, Any]]:
        """The account's stored rule memory (empty when none was stored)."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT key, data FROM rule_memory WHERE account_id = ? ORDER BY key",
                (account_id,),
            ).fetchall()
        return {key: dec_json(data) for key, data in rows}
