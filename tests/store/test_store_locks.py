"""Locks keep their history; clearing is audited; active_locks honours ends_at against now.
Port tests: every backend in conftest.BACKENDS runs them."""

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from risk_manager.domain.locks import Lock, LockKind
from risk_manager.store import LockNotFound
from risk_manager.store.ports import StorePort

from .conftest import T0


def _lock(
    account: int = 7,
    *,
    rule: str = "daily_realized_loss",
    minutes: int | None = 60,
    kind: LockKind = LockKind.HARD,
    created: datetime = T0,
) -> Lock:
    ends = None if minutes is None else created + timedelta(minutes=minutes)
    return Lock(account, rule, kind, f"{rule}: test", created, ends)


def test_active_locks_end_exactly_at_ends_at(store: StorePort) -> None:
    lock = store.add_lock(_lock(minutes=5))
    end = T0 + timedelta(minutes=5)
    assert store.active_locks(end - timedelta(microseconds=1)) == [lock]
    assert store.active_locks(end) == []  # same boundary as Lock.is_active
    assert store.lock_history(7) == [lock]  # ended, still in history


def test_several_locks_stay_active_side_by_side(store: StorePort) -> None:
    daily = store.add_lock(_lock(minutes=19 * 60))
    cooldown = store.add_lock(
        _lock(rule="cooldown_after_loss", minutes=5, created=T0 + timedelta(minutes=1))
    )
    forever = store.add_lock(_lock(rule="trailing_drawdown", minutes=None))
    other = store.add_lock(_lock(8, kind=LockKind.EXTERNAL, minutes=None))
    now = T0 + timedelta(minutes=2)
    # Oldest first: created_at, then id.
    assert store.active_locks(now, account_id=7) == [daily, forever, cooldown]
    assert store.active_locks(now) == sorted(
        [daily, cooldown, forever, other], key=lambda lk: (lk.created_at, lk.id or 0)
    )
    later = T0 + timedelta(hours=2)  # the cooldown ended; the daily lock did not shorten
    assert store.active_locks(later, account_id=7) == [daily, forever]
    assert len({daily.id, cooldown.id, forever.id, other.id}) == 4


def test_clearing_keeps_the_row_and_writes_the_audit_log(store: StorePort) -> None:
    lock = store.add_lock(_lock(minutes=None))
    at = T0 + timedelta(minutes=3)
    cleared = store.clear_lock(lock.id or 0, at, "admin@desk", "trader called; wrong fill")
    assert cleared.cleared_at == at and cleared.cleared_by == "admin@desk"
    assert cleared.clear_reason == "trader called; wrong fill"
    assert store.active_locks(at) == []
    assert store.lock_history(7) == [cleared]  # kept as history, not deleted
    (entry,) = store.audit_log(10)
    assert entry.actor == "admin@desk" and entry.action == "lock.cleared" and entry.at == at
    assert entry.detail["lock_id"] == lock.id
    assert entry.detail["reason"] == "trader called; wrong fill"
    assert entry.detail["was_active"] is True
    assert entry.detail["rule"] == "daily_realized_loss"


def test_clearing_twice_changes_nothing_and_audits_once(store: StorePort) -> None:
    lock = store.add_lock(_lock())
    first = store.clear_lock(lock.id or 0, T0, "admin", "first")
    again = store.clear_lock(lock.id or 0, T0 + timedelta(minutes=1), "other", "second")
    assert again == first
    assert len(store.audit_log(10)) == 1


def test_clearing_an_unknown_lock_names_it(store: StorePort) -> None:
    with pytest.raises(LockNotFound, match="no lock with id 99"):
        store.clear_lock(99, T0, "admin", "x")
    with pytest.raises(ValueError, match="by"):
        store.clear_lock(1, T0, "", "x")
    assert store.audit_log(10) == []


def test_history_is_per_account_newest_first(store: StorePort) -> None:
    a = store.add_lock(_lock())
    b = store.add_lock(_lock(created=T0 + timedelta(minutes=1)))
    store.add_lock(_lock(8))
    assert store.lock_history(7) == [b, a]


def test_a_lock_is_read_back_by_its_id(store: StorePort) -> None:
    lock = store.add_lock(_lock())
    assert lock.id is not None and store.get_lock(lock.id) == lock
    with pytest.raises(LockNotFound, match=f"no lock with id {lock.id + 1}"):
        store.get_lock(lock.id + 1)


def test_a_stored_lock_cannot_be_added_again(store: StorePort) -> None:
    lock = store.add_lock(_lock())
    with pytest.raises(ValueError, match="already stored"):
        store.add_lock(lock)


async def test_calls_from_many_threads_at_once_each_land_once(store: StorePort) -> None:
    locks = await asyncio.gather(
        *(
            asyncio.to_thread(store.add_lock, Lock(n % 4, "r", LockKind.SOFT, f"{n}", T0, None))
            for n in range(64)
        )
    )
    assert len({lk.id for lk in locks}) == 64
    assert len(store.active_locks(T0)) == 64


_instants = st.datetimes(
    min_value=datetime(2026, 1, 1),
    max_value=datetime(2026, 12, 31),
    timezones=st.sampled_from([UTC, ZoneInfo("America/Chicago"), ZoneInfo("Asia/Tokyo")]),
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    spans=st.lists(
        st.tuples(_instants, st.none() | st.integers(0, 10**9), st.booleans()), max_size=6
    ),
    now=_instants,
)
def test_active_locks_agrees_with_lock_is_active(
    store: StorePort, spans: list[tuple[datetime, int | None, bool]], now: datetime
) -> None:
    # Text comparison in SQL must equal instant comparison, whatever offset came in.
    account = 1000 + len(store.lock_history(0))  # a fresh account per example
    store.add_lock(Lock(0, "marker", LockKind.SOFT, "new example", T0, None))
    for created, micros, clear in spans:
        ends = None if micros is None else created + timedelta(microseconds=micros)
        lock = store.add_lock(Lock(account, "r", LockKind.HARD, "p", created, ends))
        if clear:
            store.clear_lock(lock.id or 0, created, "admin", "test")
    expected = [lk for lk in store.lock_history(account) if lk.is_active(now)]
    assert sorted(store.active_locks(now, account), key=lambda lk: lk.id or 0) == sorted(
        expected, key=lambda lk: lk.id or 0
    )
