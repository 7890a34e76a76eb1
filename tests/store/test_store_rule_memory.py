"""Rule memory survives closing and reopening the store, per account and rule key.
Port tests: every backend in conftest.BACKENDS runs them."""

from typing import Any

from risk_manager.store.ports import StorePort

from .conftest import T0, Opener


def test_rule_memory_round_trips_across_a_reopen(open_store: Opener) -> None:
    memory: dict[str, dict[str, Any]] = {
        "trailing_drawdown": {"start": "50000", "peak": "52000", "floor": "50000"},
        "_engine": {"our_tags": ["rm-sl-7-1", "rm-tp-7-2"], "tags_placed": 2},
    }
    with open_store() as s:
        s.save_rule_memory(7, memory, T0)
        s.save_rule_memory(8, {"trailing_drawdown": {"floor": "148000"}}, T0)
    with open_store() as s:
        assert s.rule_memory(7) == memory
        assert s.rule_memory(8) == {"trailing_drawdown": {"floor": "148000"}}
        assert s.rule_memory(9) == {}


def test_saving_replaces_the_account_memory_whole(store: StorePort) -> None:
    store.save_rule_memory(7, {"a": {"x": 1}, "b": {"y": 2}}, T0)
    store.save_rule_memory(7, {"a": {"x": 3}}, T0)
    assert store.rule_memory(7) == {"a": {"x": 3}}
    store.save_rule_memory(7, {}, T0)
    assert store.rule_memory(7) == {}


def test_placed_tags_come_from_the_journal_oldest_first(store: StorePort) -> None:
    for n, kind in enumerate(("place_order", "cancel_order", "place_order", "place_order")):
        intent = {"custom_tag": f"rm-sl-7-{n}"} if kind == "place_order" else {"order_id": n}
        store.journal_intent(7, "trade_management", kind, intent, T0)
    store.journal_intent(8, "trade_management", "place_order", {"custom_tag": "rm-sl-8-1"}, T0)
    assert store.placed_tags(7, 10) == ["rm-sl-7-0", "rm-sl-7-2", "rm-sl-7-3"]
    assert store.placed_tags(7, 2) == ["rm-sl-7-2", "rm-sl-7-3"]
    assert store.placed_tags(9, 10) == []
