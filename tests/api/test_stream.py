from __future__ import annotations

from risk_manager.api.stream import Coalescer


def account(id_: int, balance: str) -> dict[str, object]:
    return {"type": "account", "account": {"id": id_, "balance": balance}}


def test_a_slow_client_gets_the_latest_view_of_each_account_not_a_backlog() -> None:
    c = Coalescer()
    for i in range(1000):
        c.push(account(1, str(i)))
        c.push(account(2, str(-i)))
        c.push({"type": "health", "health": {"n": i}})
    batch = c.take()
    assert batch == [
        account(1, "999"),
        account(2, "-999"),
        {"type": "health", "health": {"n": 999}},
    ]
    assert c.take() == []


def test_enforcement_entries_are_kept_in_order_up_to_the_cap() -> None:
    c = Coalescer(max_entries=3)
    for i in range(5):
        c.push({"type": "enforcement", "entry": {"id": i}})
    c.push(account(1, "5"))
    assert [m.get("entry", {}).get("id") for m in c.take()] == [2, 3, 4, None]
    assert c.dropped == 2


def test_a_newer_view_without_the_curve_carries_the_unsent_curve_on() -> None:
    """The curve is streamed only when it changed: a view without one that replaces an unsent
    view with one must not lose it (the client would keep its older curve)."""
    c = Coalescer()
    curve = [{"at": "2026-03-10T15:00:00Z", "net": "1.00"}]
    c.push({"type": "account", "account": {"id": 1, "balance": "1", "pnl_curve": curve}})
    c.push(account(1, "2"))
    c.push(account(2, "3"))
    assert c.take() == [
        {"type": "account", "account": {"id": 1, "balance": "2", "pnl_curve": curve}},
        account(2, "3"),
    ]
    c.push(account(1, "4"))  # sent already: nothing to carry
    assert c.take() == [account(1, "4")]
