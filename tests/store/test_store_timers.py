"""Timers (SQLite only: no rule needs them today, so they are not part of the store port)."""

from datetime import UTC, timedelta
from decimal import Decimal
from pathlib import Path

from risk_manager.store import Store

from .conftest import T0


def test_timers_upsert_list_due_and_delete(db_path: Path) -> None:
    with Store.open(db_path) as s:
        s.set_timer(7, "cooldown_end", T0 + timedelta(minutes=5), {"lock_id": 3})
        s.set_timer(8, "grace:CON.F.US.EP.H26", T0 + timedelta(seconds=30))
        # Same (account, name): moved, not duplicated.
        s.set_timer(7, "cooldown_end", T0 + timedelta(minutes=10), {"limit": Decimal("1.50")})
    with Store.open(db_path) as s:
        timers = s.timers()
        assert [(t.account_id, t.name) for t in timers] == [
            (8, "grace:CON.F.US.EP.H26"),
            (7, "cooldown_end"),
        ]
        assert timers[1].fires_at == T0 + timedelta(minutes=10)
        assert timers[1].fires_at.tzinfo is UTC
        assert timers[1].payload == {"limit": "1.50"}  # Decimal kept exactly, as text
        assert timers[0].payload == {}
        assert s.due_timers(T0 + timedelta(seconds=29)) == []
        assert [t.account_id for t in s.due_timers(T0 + timedelta(seconds=30))] == [8]
        assert len(s.due_timers(T0 + timedelta(hours=1))) == 2
        assert [t.name for t in s.timers(7)] == ["cooldown_end"]
        assert s.delete_timer(8, "grace:CON.F.US.EP.H26") is True
        assert s.delete_timer(8, "grace:CON.F.US.EP.H26") is False
        assert [t.account_id for t in s.timers()] == [7]
