"""The alert outbox: queued in order, kept across a reopen, ended once, pruned after a while.
Port tests: every backend in conftest.BACKENDS runs them."""

from datetime import timedelta

from risk_manager.store.ports import StorePort

from .conftest import T0, Opener


def _body(n: int) -> dict[str, object]:
    return {"id": f"a{n}", "kind": "alert", "rule": "daily_net_loss", "reason": f"#{n}"}


def test_undelivered_alerts_survive_a_reopen_in_order(open_store: Opener) -> None:
    with open_store() as s:
        ids = [
            s.outbox_add(f"a{n}", 7, "warning", _body(n), T0 + timedelta(seconds=n))
            for n in (1, 2, 3)
        ]
        assert ids == sorted(ids)
        s.outbox_delivered("a1", T0 + timedelta(seconds=5), attempts=3, last_error="HTTP 500")
    with open_store() as s:
        pending = s.outbox_pending()
        assert [e.alert_id for e in pending] == ["a2", "a3"]
        assert pending[0].body == _body(2) and pending[0].created_at == T0 + timedelta(seconds=2)
        assert not pending[0].is_finished
        (done,) = [e for e in s.outbox() if e.alert_id == "a1"]
        assert done.attempts == 3 and done.last_error == "HTTP 500" and done.is_finished


def test_adding_an_alert_twice_keeps_one_row(store: StorePort) -> None:
    first = store.outbox_add("a1", 7, "critical", _body(1), T0)
    assert store.outbox_add("a1", 7, "critical", _body(1), T0) == first  # a retried write
    assert [e.alert_id for e in store.outbox_pending()] == ["a1"]


def test_an_alert_ends_once_and_an_unknown_one_changes_nothing(store: StorePort) -> None:
    store.outbox_add("a1", 7, "info", _body(1), T0)
    assert store.outbox_given_up("a1", T0 + timedelta(days=1), 9, "HTTP 503")
    assert not store.outbox_delivered("a1", T0 + timedelta(days=2), 10)  # stays given up
    (entry,) = store.outbox()
    assert entry.given_up_at == T0 + timedelta(days=1) and entry.delivered_at is None
    assert entry.last_error == "HTTP 503" and entry.attempts == 9
    assert store.outbox_pending() == []
    assert not store.outbox_delivered("a2", T0, 1)  # never queued: nothing to retry either
    assert [e.alert_id for e in store.outbox()] == ["a1"]


def test_prune_removes_only_ended_rows_older_than_the_cutoff(store: StorePort) -> None:
    for n in (1, 2, 3, 4):
        store.outbox_add(f"a{n}", 7, "warning", _body(n), T0)
    store.outbox_delivered("a1", T0, 1)
    store.outbox_given_up("a2", T0, 5, "ClientConnectorError")
    store.outbox_delivered("a3", T0 + timedelta(days=8), 1)
    assert store.outbox_prune(T0 + timedelta(days=7)) == 2
    assert sorted(e.alert_id for e in store.outbox()) == ["a3", "a4"]
    assert [e.alert_id for e in store.outbox_pending()] == ["a4"]  # never pruned while due
