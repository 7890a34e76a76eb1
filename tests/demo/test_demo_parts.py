"""Units of the demo: its config, speed scaling, port fallback, narration lines."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

from risk_manager.demo.config import LOSS_LIMIT, MAX_CONTRACTS, DemoLimits, write_demo_config
from risk_manager.demo.guard import describe
from risk_manager.demo.processes import pick_port, port_is_free


def test_demo_config_turns_on_the_scripted_rules_and_scales_durations(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    cfg = write_demo_config(path, "http://127.0.0.1:5800", 8765, tmp_path / "x.sqlite", 4.0)
    rules = cfg.rules
    assert rules.max_contracts.enabled and rules.max_contracts.limit == MAX_CONTRACTS
    assert rules.max_contracts.micro_weight == 1  # the demo's micros count whole
    assert rules.no_stop_loss_grace.enabled
    assert rules.no_stop_loss_grace.grace == timedelta(seconds=2.5)  # 10 s / 4
    assert rules.daily_net_loss.enabled and rules.daily_net_loss.limit == LOSS_LIMIT
    assert rules.symbol_blocks.enabled and rules.symbol_blocks.blocked == ["RTY"]
    assert rules.cooldown_after_loss.enabled
    assert not rules.session_block_outside.enabled  # the demo works at any hour
    assert cfg.broker.user_hub_url == "http://127.0.0.1:5800/hubs/user"
    assert cfg.store.path == tmp_path / "x.sqlite"
    assert cfg.api.port == 8765
    assert "max_contracts" in path.read_text(encoding="utf-8")


def test_speed_shrinks_the_waits() -> None:
    assert DemoLimits.for_speed(1).grace == 10.0
    assert DemoLimits.for_speed(20).grace == 0.5
    assert DemoLimits.for_speed(2).cooldown == 450.0


def test_a_taken_port_falls_back_to_a_free_one() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert not port_is_free(taken)
        other = pick_port(taken, set())
        assert other != taken and port_is_free(other)
    free = pick_port(other, set())
    assert free == other  # a free port is kept
    assert pick_port(other, {other}) != other  # never one already given out


def test_describe_drops_the_repeated_rule_name() -> None:
    entry = {
        "rule": "max_contracts",
        "kind": "close_position",
        "outcome": "confirmed",
        "reason": "max_contracts: gross contracts 4 > 2 (limit)",
        "detail": "closed x2",
    }
    assert describe(entry) == (
        "max_contracts → close_position (confirmed): gross contracts 4 > 2 (limit) [closed x2]"
    )


async def test_trader_finds_a_symbol_whose_projectx_root_differs() -> None:
    # NQ trades as CON.F.US.ENQ.*: the match is by the catalog's symbol, not the id's root.
    from types import SimpleNamespace
    from typing import Any

    from risk_manager.demo.guard import GuardWatcher
    from risk_manager.demo.trader import DemoTrader

    class Client:
        async def search_contracts(self, text: str) -> list[Any]:
            ids = ["CON.F.US.ENQ.H26", "CON.F.US.MNQ.H26", "CON.F.US.NQG.H26"]
            return [SimpleNamespace(id=i) for i in ids]

    watcher = GuardWatcher(None, "http://127.0.0.1:1", 1, print)  # type: ignore[arg-type]
    trader = DemoTrader(Client(), None, "http://127.0.0.1:1", watcher, 1.0, print)  # type: ignore[arg-type]
    assert await trader.contract("NQ") == "CON.F.US.ENQ.H26"
    assert await trader.contract("MNQ") == "CON.F.US.MNQ.H26"
