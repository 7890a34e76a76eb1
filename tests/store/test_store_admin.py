"""What the admin's delays keep across a restart (issue 13): a clearing set for later holds the
lock until then, unaudited (the admin's caller audits); the settings in force and pending
loosenings round-trip. Port tests: every backend in conftest.BACKENDS runs them."""

from datetime import timedelta

import pytest

from risk_manager.domain.locks import Lock, LockKind
from risk_manager.store import LockNotFound
from risk_manager.store.ports import StorePort
from risk_manager.store.records import PendingLoosening

from .conftest import T0, Opener


def _lock() -> Lock:
    return Lock(7, "daily_realized_loss", LockKind.HARD, "loss", T0, None)


def test_a_clearing_set_for_later_holds_the_lock_until_then_across_a_reopen(
    open_store: Opener,
) -> None:
    at = T0 + timedelta(minutes=15)
    with open_store() as store:
        lock = store.add_lock(_lock())
        assert lock.id is not None
        cleared = store.set_clearing(lock.id, at, "admin", "reviewed")
        assert (cleared.cleared_at, cleared.cleared_by, cleared.clear_reason) == (
            at,
            "admin",
            "reviewed",
        )
        assert store.audit_log() == []  # the admin's caller writes the audit row
    with open_store() as store:
        assert store.active_locks(at - timedelta(microseconds=1)) == [cleared]
        assert store.active_locks(at) == []
        # A second clearing keeps the earlier instant.
        later = store.set_clearing(lock.id, at + timedelta(minutes=5), "admin", "again")
        assert later.cleared_at == at


def test_a_clearing_of_an_unknown_lock_names_it(store: StorePort) -> None:
    with pytest.raises(LockNotFound):
        store.set_clearing(99, T0, "admin", "x")
    lock = store.add_lock(_lock())
    with pytest.raises(ValueError, match="who"):
        store.set_clearing(lock.id or 0, T0, "", "x")


def test_settings_in_force_and_pending_loosenings_round_trip(open_store: Opener) -> None:
    pending = PendingLoosening(
        7, "daily_net_loss", {"limit": "1000"}, {"limit": "2000"}, T0 + timedelta(hours=1), T0
    )
    with open_store() as store:
        assert store.settings_in_force() == {} and store.pending_loosenings() == []
        store.save_settings({7: {"rules": {"a": 1}}, 0: {"admin": {"b": "15m"}}}, [pending], T0)
    with open_store() as store:
        assert store.settings_in_force() == {7: {"rules": {"a": 1}}, 0: {"admin": {"b": "15m"}}}
        assert store.pending_loosenings() == [pending]
        store.save_settings({7: {"rules": {"a": 2}}}, [], T0)  # applied: none waits
        assert store.settings_in_force()[7] == {"rules": {"a": 2}}
        assert store.settings_in_force()[0] == {"admin": {"b": "15m"}}  # not given: kept
        assert store.pending_loosenings() == []
