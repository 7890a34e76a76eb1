"""The enforcement journal (RULES.md §5): each action is written before it is sent, marked
sent, then finished with its outcome. After a restart, ``unfinished_actions()`` lists what must
be re-checked against the broker (never blindly replayed)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from risk_manager.store.codec import dec_dt, dec_json, dec_opt_dt, enc_dt, enc_json
from risk_manager.store.db import Database, returned_id
from risk_manager.store.errors import JournalEntryFinished, JournalEntryNotFound
from risk_manager.store.records import JournalEntry, JournalOutcome

_COLS = (
    "id, account_id, rule, kind, intent, created_at, sent_at, outcome, outcome_detail, finished_at"
)
# SQL built from module constants only (the column list above; hence each `nosec B608`):
# every value is a bound parameter.
_SELECT = f"SELECT {_COLS} FROM journal"  # nosec B608


def _entry(row: tuple[Any, ...]) -> JournalEntry:
    return JournalEntry(
        id=row[0],
        account_id=row[1],
        rule=row[2],
        kind=row[3],
        intent=dec_json(row[4]),
        created_at=dec_dt(row[5]),
        sent_at=dec_opt_dt(row[6]),
        outcome=None if row[7] is None else JournalOutcome(row[7]),
        outcome_detail=row[8],
        finished_at=dec_opt_dt(row[9]),
    )


def _get(conn: sqlite3.Connection, entry_id: int) -> JournalEntry:
    row = conn.execute(_SELECT + " WHERE id = ?", (entry_id,)).fetchone()
    if row is None:
        raise JournalEntryNotFound(entry_id)
    return _entry(row)


class JournalRepo:
    _db: Database

    def journal_intent(
        self,
        account_id: int,
        rule: str,
        kind: str,
        intent: dict[str, Any],
        at: datetime,
        *,
        sent_at: datetime | None = None,
    ) -> int:
        """Record an action about to be sent; returns its journal id. ``intent`` is JSON
        (Decimal and datetime values are stored as strings and read back as strings).
        ``sent_at``: the action goes out right after this write (one commit instead of two)."""
        sent = enc_dt(sent_at) if sent_at is not None else None
        with self._db.write(urgent=True) as conn:
            cur = conn.execute(
                "INSERT INTO journal (account_id, rule, kind, intent, created_at, sent_at) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (account_id, rule, kind, enc_json(intent), enc_dt(at), sent),
            )
            return returned_id(cur)

    def journal_sent(self, entry_id: int, at: datetime) -> None:
        """Mark the action handed to the broker. The first send time is kept."""
        with self._db.write(urgent=True) as conn:
            entry = _get(conn, entry_id)
            if entry.is_finished:
                raise JournalEntryFinished(
                    f"journal entry {entry_id} already finished ({entry.outcome}); "
                    "journal a new intent to act again"
                )
            conn.execute(
                "UPDATE journal SET sent_at = ? WHERE id = ? AND sent_at IS NULL",
                (enc_dt(at), entry_id),
            )

    def journal_outcome(
        self,
        entry_id: int,
        outcome: JournalOutcome | str,
        detail: str | None,
        at: datetime,
    ) -> JournalEntry:
        """Finish the action. Writing the same outcome again is a no-op; a different one is
        refused (JournalEntryFinished)."""
        result = JournalOutcome(outcome)
        with self._db.write() as conn:
            entry = _get(conn, entry_id)
            if entry.outcome is not None:
                if entry.outcome is result:
                    return entry
                raise JournalEntryFinished(
                    f"journal entry {entry_id} already finished as {entry.outcome}; "
                    f"refusing to change it to {result}"
                )
            conn.execute(
                "UPDATE journal SET outcome = ?, outcome_detail = ?, finished_at = ? WHERE id = ?",
                (result.value, detail, enc_dt(at), entry_id),
            )
            return _get(conn, entry_id)

    def unfinished_actions(self) -> list[JournalEntry]:
        """Actions without an outcome, oldest first (sent or not: check ``sent_at``)."""
        with self._db.read() as conn:
            rows = conn.execute(_SELECT + " WHERE outcome IS NULL ORDER BY id").fetchall()
        return [_entry(r) for r in rows]

    def placed_tags(self, account_id: int, limit: int) -> list[str]:
        """The ``customTag`` of the newest ``limit`` orders we journalled placing on the
        account, oldest first. The intent is written before the order is sent, so a tag is
        here even when the daemon stopped before its rule memory was stored (RULES.md §1:
        those orders are ours; the gateway refuses their tags again)."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT json_extract(intent, '$.custom_tag') FROM journal "
                "WHERE account_id = ? AND kind = 'place_order' ORDER BY id DESC LIMIT ?",
                (account_id, limit),
            ).fetchall()
        return [str(tag) for (tag,) in reversed(rows) if tag is not None]

    def journal(self, account_id: int | None = None, limit: int = 100) -> list[JournalEntry]:
        """The newest ``limit`` entries (of one account), newest first."""
        sql = _SELECT
        args: list[Any] = []
        if account_id is not None:
            sql += " WHERE account_id = ?"
            args.append(account_id)
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
        return [_entry(r) for r in rows]
