"""Every kind of row round-trips, across a reopen: exact Decimals, aware UTC datetimes.
Port tests: every backend in conftest.BACKENDS runs them."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from risk_manager.domain.enums import OrderSide
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Trade
from risk_manager.store import (
    JournalEntryFinished,
    JournalOutcome,
    PnlSnapshot,
    StoreError,
)
from risk_manager.store.ports import StorePort

from .conftest import T0, Opener

CT = ZoneInfo("America/Chicago")
DAY = date(2026, 3, 11)


def _trade(trade_id: int, **kw: object) -> Trade:
    fields: dict[str, object] = {
        "id": trade_id,
        "account_id": 7,
        "contract_id": "CON.F.US.MNQ.H26",
        "created_at": T0 + timedelta(minutes=trade_id),
        "price": Decimal("21000.25"),
        "side": OrderSide.ASK,
        "size": 2,
        "order_id": 9_000_000_000 + trade_id,  # ids beyond 2^31, as on the live gateway
        "fees": Decimal("0.74"),
        "commissions": Decimal("0.00"),
        "profit_and_loss": Decimal("-512.40"),
    }
    fields.update(kw)
    return Trade(**fields)  # type: ignore[arg-type]


def test_lock_round_trips_with_utc_datetimes_after_reopen(open_store: Opener) -> None:
    created = datetime(2026, 3, 10, 15, 1, 2, 345678, tzinfo=CT)  # handed in as Chicago time
    lock = Lock(
        7,
        "daily_realized_loss",
        LockKind.HARD,
        "realized −512.40 ≤ −500.00",
        created,
        datetime(2026, 3, 11, 17, 0, tzinfo=CT),
    )
    with open_store() as s:
        stored = s.add_lock(lock)
    with open_store() as s:
        (back,) = s.lock_history(7)
    assert back == stored
    assert back.id is not None and back.id >= 1
    assert back.created_at == created and back.created_at.tzinfo is UTC
    assert back.ends_at == datetime(2026, 3, 11, 22, 0, tzinfo=UTC)
    assert back.reason == "realized −512.40 ≤ −500.00"
    assert back.kind is LockKind.HARD


def test_fill_round_trips_exact_decimals_after_reopen(open_store: Opener) -> None:
    fills = [
        _trade(1, profit_and_loss=None, fees=Decimal("1.40"), price=Decimal("5012.50")),
        _trade(2, profit_and_loss=Decimal("-512.40"), voided=True, side=OrderSide.BID),
        _trade(3, profit_and_loss=Decimal("0.10"), commissions=Decimal("2.100")),
    ]
    with open_store() as s:
        assert [s.add_fill(f, DAY) for f in fills] == [True, True, True]
    with open_store() as s:
        back = s.fills(7)
    assert back == fills
    assert [str(f.price) for f in back] == ["5012.50", "21000.25", "21000.25"]
    assert str(back[2].commissions) == "2.100"  # trailing zeros kept: stored as text
    assert back[0].profit_and_loss is None and back[1].voided is True
    assert all(f.created_at.tzinfo is UTC for f in back)
    assert back[1].order_id == 9_000_000_002


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    price=st.decimals(allow_nan=False, allow_infinity=False),
    pnl=st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=2),
    at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
def test_any_finite_decimal_and_instant_round_trip_exactly(
    store: StorePort, price: Decimal, pnl: Decimal | None, at: datetime
) -> None:
    trade_id = len(store.fills(7)) + 1
    trade = _trade(trade_id, price=price, profit_and_loss=pnl, created_at=at)
    assert store.add_fill(trade, DAY)
    back = next(f for f in store.fills(7) if f.id == trade_id)
    assert back == trade
    assert str(back.price) == str(price)  # same digits and exponent, not just equal value
    assert back.created_at.tzinfo is UTC


def test_fills_filter_by_trading_day_and_since(store: StorePort) -> None:
    store.add_fill(_trade(1), date(2026, 3, 10))
    store.add_fill(_trade(2), DAY)
    store.add_fill(_trade(3), DAY)
    store.add_fill(_trade(4, account_id=8), DAY)
    assert [f.id for f in store.fills(7, trading_day=DAY)] == [2, 3]
    assert [f.id for f in store.fills(7, since=T0 + timedelta(minutes=2))] == [2, 3]
    assert [f.id for f in store.fills(7, DAY, since=T0 + timedelta(minutes=3))] == [3]
    assert [f.id for f in store.fills(8)] == [4]


def test_a_burst_of_fills_is_stored_in_one_write_each_once(store: StorePort) -> None:
    burst = [(_trade(1), DAY), (_trade(2), DAY), (_trade(1), DAY)]  # trade 1 twice
    assert store.add_fills(burst) == 2
    assert store.add_fills([(_trade(2), DAY), (_trade(3), DAY)]) == 1
    assert [f.id for f in store.fills(7, trading_day=DAY)] == [1, 2, 3]


def test_a_fill_is_stored_once_per_trade_id(store: StorePort) -> None:
    first = _trade(42)
    assert store.add_fill(first, DAY) is True
    # The same trade again (a repeated hub event, a REST read): ignored, first copy kept.
    assert store.add_fill(first, DAY) is False
    assert store.add_fill(_trade(42, voided=True, price=Decimal(1)), DAY) is False
    assert store.fills(7) == [first]


def test_snapshots_round_trip_and_latest_is_the_newest_taken(open_store: Opener) -> None:
    older = PnlSnapshot(
        7,
        DAY,
        Decimal("-100.50"),
        Decimal("12.25"),
        Decimal("-88.25"),
        Decimal("50000.00"),
        Decimal("10.00"),
        T0 + timedelta(seconds=1),
    )
    newer = PnlSnapshot(
        7, DAY, Decimal("-120.50"), None, None, None, Decimal("10.00"), T0 + timedelta(seconds=2)
    )
    with open_store() as s:
        saved_newer = s.save_snapshot(newer)
        saved_older = s.save_snapshot(older)  # saved later, but taken earlier
        s.save_snapshot(PnlSnapshot(8, DAY, Decimal(0), None, None, None, None, T0))
    assert saved_newer.id is not None and saved_older.id is not None
    with open_store() as s:
        latest = s.latest_snapshot(7, DAY)
        assert s.latest_snapshot(7, date(2026, 3, 12)) is None
    assert latest == saved_newer
    assert latest is not None and latest.unrealized is None  # unknown stays unknown, not 0
    assert str(latest.realized) == "-120.50"
    with open_store() as s:
        curve = s.snapshots(7, DAY)
        assert curve == [saved_older, saved_newer]  # by the time taken, not by the id
        assert s.snapshots(7, DAY, after_id=max(saved_older.id, saved_newer.id)) == []
        assert s.snapshots(7, date(2026, 3, 12)) == []


def test_journal_records_intent_sent_and_outcome(open_store: Opener) -> None:
    intent = {"contract_id": "CON.F.US.MNQ.H26", "size": 2, "limit": Decimal("500.00")}
    with open_store() as s:
        a = s.journal_intent(7, "daily_realized_loss", "flatten", intent, T0)
        b = s.journal_intent(8, "max_contracts", "close_position", {"size": 1}, T0)
        s.journal_sent(a, T0 + timedelta(milliseconds=5))
    # After a "restart" both are unfinished; the sent one says so.
    with open_store() as s:
        unfinished = s.unfinished_actions()
        assert [e.id for e in unfinished] == [a, b]
        assert unfinished[0].sent_at == T0 + timedelta(milliseconds=5)
        assert unfinished[1].sent_at is None
        assert unfinished[0].intent == {
            "contract_id": "CON.F.US.MNQ.H26",
            "size": 2,
            "limit": "500.00",
        }
        done = s.journal_outcome(a, JournalOutcome.CONFIRMED, "position closed", T0 + timedelta(1))
        assert done.outcome is JournalOutcome.CONFIRMED and done.is_finished
        assert done.finished_at == T0 + timedelta(1)
        s.journal_outcome(b, "abandoned", "no position at restart", T0 + timedelta(1))
        assert s.unfinished_actions() == []
        assert [e.id for e in s.journal()] == [b, a]  # newest first
        assert [e.id for e in s.journal(account_id=7)] == [a]
        assert [e.id for e in s.journal(limit=1)] == [b]


def test_journal_outcome_is_written_once(store: StorePort) -> None:
    entry = store.journal_intent(7, "r", "cancel_order", {"order_id": 1}, T0)
    first = store.journal_outcome(entry, "failed", "errorCode 2", T0)
    assert store.journal_outcome(entry, "failed", "again", T0) == first  # same outcome: no-op
    with pytest.raises(JournalEntryFinished, match="already finished as failed"):
        store.journal_outcome(entry, "confirmed", None, T0)
    with pytest.raises(JournalEntryFinished):
        store.journal_sent(entry, T0)
    with pytest.raises(ValueError):
        store.journal_outcome(entry, "maybe", None, T0)


def test_audit_log_round_trips_newest_first(open_store: Opener) -> None:
    with open_store() as s:
        s.audit("admin", "config.changed", {"key": "rules.daily_realized_loss.limit"}, T0)
        s.audit("admin", "login", {"ok": True, "at": T0}, T0 + timedelta(seconds=1))
    with open_store() as s:
        log = s.audit_log(10)
        assert [e.action for e in log] == ["login", "config.changed"]
        assert log[0].detail == {"ok": True, "at": "2026-03-10T22:00:00.000000+00:00"}
        assert log[0].at == T0 + timedelta(seconds=1) and log[0].at.tzinfo is UTC
        assert len(s.audit_log(1)) == 1


def test_naive_datetimes_and_float_money_are_refused(store: StorePort) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        store.journal_intent(7, "r", "flatten", {}, datetime(2026, 3, 10, 17, 0))
    with pytest.raises(TypeError, match="must be Decimal"):
        store.add_fill(_trade(1, price=21000.25), DAY)
    assert store.fills(7) == [] and store.journal() == []  # nothing half-written


def test_the_schema_version_is_the_same_after_a_reopen(open_store: Opener) -> None:
    with open_store() as s:
        version = s.schema_version
    with open_store() as s:
        assert s.schema_version == version >= 1


def test_closed_store_says_so(open_store: Opener) -> None:
    with open_store() as s:
        s.close()
        assert s.closed
        with pytest.raises(StoreError, match="closed"):
            s.journal()
        s.close()  # again: nothing to do
