"""Edges the rule book settles in its details (RULES.md §2, §3, §4, §5): each test here failed
before the engine followed them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from engine.helpers import ES, MNQ, NQ, Sim, closes, kinds, locks, rules
from risk_manager.domain.actions import CancelOrder, Flatten, PlaceOrder

MBT = "CON.F.US.MBT.F26"  # not in the catalog
END = datetime(2026, 3, 10, 20, 10, tzinfo=UTC)  # Tuesday's session end, 15:10 CDT


# -- §4 / §5 in flight -------------------------------------------------------------------------


def test_a_quote_proposed_close_is_retried_after_retry_after_not_at_the_next_timer() -> None:
    sim = Sim(rules(daily_unrealized_loss={"limit": 500}))
    sim.position(NQ, 1, "25000")
    sim.now += timedelta(seconds=1)
    out = sim.quote(NQ, "24975")
    assert closes(out) == [(NQ, None)]
    assert sim.engine.next_wakeup() == sim.now + timedelta(seconds=2)
    assert closes(sim.advance(seconds=2)) == [(NQ, None)]


def test_a_confirmed_flatten_is_not_proposed_again_for_an_order_placed_after_it() -> None:
    sim = Sim(rules(daily_unrealized_loss={"limit": 500, "scope": "total"}))
    sim.position(NQ, 1, "25000")
    sim.order(NQ, side=1, size=1, order_id=890, limit="25050")
    sim.now += timedelta(seconds=1)
    out = sim.quote(NQ, "24975")
    assert [a.kind for a in out] == ["flatten"]
    sim.order(NQ, side=1, size=1, order_id=890, status=3, limit="25050")  # cancelled
    sim.order(NQ, side=1, size=1, order_id=891, limit="25100")  # the trader's new order
    sim.position(NQ, 0)
    assert not [a for a in sim.advance(seconds=10) if isinstance(a, Flatten)]


# -- RULE-001 / RULE-002 ------------------------------------------------------------------------


def test_net_mode_reduces_the_side_of_the_weighted_net() -> None:
    sim = Sim(rules(max_contracts={"limit": 1, "count": "net", "micro_weight": 0.1}))
    sim.position(MNQ, -5)
    sim.now += timedelta(seconds=1)
    sim.position(ES, 1)
    sim.now += timedelta(seconds=1)
    out = sim.position(NQ, 1)  # net +1.5: long side; the unweighted net (−3) said short
    assert closes(out) == [(NQ, None)]


def test_an_unknown_contract_counts_as_one_and_is_warned_about() -> None:
    sim = Sim(rules(max_contracts={"limit": 1}))
    out = sim.position(MBT, 1)
    assert kinds(out) == [("alert", "max_contracts")] and "counted as one" in out[0].reason
    out = sim.position(NQ, 1)
    assert closes(out) == [(NQ, None)]


def test_an_unknown_contract_is_closed_under_unlisted_block_and_kept_under_allow() -> None:
    block = Sim(rules(max_contracts_per_instrument={"limits": {"NQ": 2}, "unlisted": "block"}))
    assert closes(block.position(MBT, 1)) == [(MBT, None)]
    allow = Sim(rules(max_contracts_per_instrument={"limits": {"NQ": 2}, "unlisted": "allow"}))
    assert closes(allow.position(MBT, 1)) == []


# -- RULE-009 -------------------------------------------------------------------------------------


def test_a_position_opened_after_the_flatten_stage_is_closed_at_once() -> None:
    sim = Sim(
        rules(session_block_outside={"block_entries_before": "0s"}),
        start=END - timedelta(minutes=6),
    )
    sim.position(NQ, 1)
    out = sim.advance(minutes=1)  # end − 5 min: the flatten stage
    assert ("flatten", "session_block_outside") in kinds(out)
    sim.position(NQ, 0)
    sim.advance(seconds=30)
    out = sim.position(ES, 1)  # re-entered before the session end
    assert ("flatten", "session_block_outside") in kinds(out)


def test_until_session_start_means_rule_009s_sessions() -> None:
    sessions = [{"start": "08:30", "end": "15:00", "days": ["mon", "tue", "wed", "thu", "fri"]}]
    sim = Sim(
        rules(
            session_block_outside={"sessions": sessions},
            cooldown_after_loss={
                "tiers": [{"loss": 100, "cooldown": "until_session_start"}],
            },
        )
    )
    sim.position(NQ, 1)
    out = sim.trade(pnl="-150", side=1)
    (lock,) = locks(out)
    # Wednesday 08:30 CDT, not the default sessions' 17:00 CT start
    assert lock.until == datetime(2026, 3, 11, 13, 30, tzinfo=UTC)


# -- RULE-010 / RULE-012 ----------------------------------------------------------------------


def test_a_gap_of_exactly_max_gap_is_within_it() -> None:
    from risk_manager.domain.events import ConnectionEvent

    sim = Sim(rules(auth_loss_guard={"max_gap": "30s", "on_gap": "flatten"}))
    sim.position(NQ, 1)
    sim.engine.process(ConnectionEvent(sim.now, "user", False), sim.now)
    assert not [a for a in sim.advance(seconds=30) if a.rule == "auth_loss_guard"]
    out = sim.engine.process(ConnectionEvent(sim.now, "user", True), sim.now)
    assert not [a for a in out if a.rule == "auth_loss_guard"]


def test_stop_and_target_prices_round_toward_less_risk() -> None:
    cfg = rules(trade_management={"stop_loss_ticks": 40, "take_profit_ticks": 40})
    long = Sim(cfg)
    out = long.position(NQ, 2, "25000.125")
    prices = {a.type.name: a.price for a in out if isinstance(a, PlaceOrder)}
    assert prices == {"STOP": Decimal("24990.25"), "LIMIT": Decimal("25010.00")}
    short = Sim(cfg)
    out = short.position(NQ, -2, "25000.125")
    prices = {a.type.name: a.price for a in out if isinstance(a, PlaceOrder)}
    assert prices == {"STOP": Decimal("25010.00"), "LIMIT": Decimal("24990.25")}


# -- §2 soft locks ------------------------------------------------------------------------------


def test_a_soft_lock_cancels_the_newest_exits_that_together_would_flip() -> None:
    sim = Sim(
        rules(cooldown_after_loss={"flatten": False, "tiers": [{"loss": 100, "cooldown": "5m"}]})
    )
    sim.position(NQ, 2)
    sim.trade(pnl="-150")
    assert not [a for a in sim.order(NQ, side=1, size=1, order_id=31) if a.kind == "cancel_order"]
    sim.now += timedelta(seconds=1)
    assert not [a for a in sim.order(NQ, side=1, size=1, order_id=32) if a.kind == "cancel_order"]
    sim.now += timedelta(seconds=1)
    out = sim.order(NQ, side=1, size=1, order_id=33)  # 3 to sell against a long 2: a flip
    assert [a.order_id for a in out if isinstance(a, CancelOrder)] == [33]


def test_a_limit_or_a_block_keyed_by_the_gateway_root_means_the_symbol() -> None:
    by_root = Sim(rules(max_contracts_per_instrument={"limits": {"ENQ": 1}}))
    assert closes(by_root.position(NQ, 2)) == [(NQ, 1)]
    blocked = Sim(rules(symbol_blocks={"blocked": ["EN*"]}))  # matches no symbol: a root
    assert closes(blocked.position(NQ, 1)) == [(NQ, None)]
    symbols = Sim(rules(symbol_blocks={"blocked": ["E*"]}))  # matches ES: read on symbols
    assert closes(symbols.position(NQ, 1)) == []
