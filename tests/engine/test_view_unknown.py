"""The view says "unknown" when a rule cannot be evaluated (issue 15 item 1, RULES.md §4)."""

from __future__ import annotations

from decimal import Decimal

from engine.helpers import ACC, NQ, Sim, rules
from risk_manager.domain.actions import ClosePosition


def test_a_loss_rule_without_a_mark_is_unknown_and_so_is_the_room() -> None:
    sim = Sim(rules(daily_net_loss={"limit": 600}, daily_realized_loss={"limit": 1000}))
    sim.trade(pnl="-100", fees="0")
    sim.position(NQ, 1, "100")  # open, and no quote since: no usable mark
    view = sim.engine.view(ACC, sim.now)
    by_key = {r.key: r for r in view.rules}
    net = by_key["daily_net_loss"]
    assert net.state == "unknown"
    assert net.reason is not None and NQ in net.reason and "mark" in net.reason
    assert by_key["daily_realized_loss"].state == "ok"  # needs no mark
    # The realized rule alone would say 900 left: with the net rule blind, the room is unknown.
    assert view.room_to_loss_lock is None and view.room_rule is None
    assert view.room_unknown is not None and view.room_unknown.startswith("daily_net_loss: ")

    sim.quote(NQ, "99")
    view = sim.engine.view(ACC, sim.now)
    assert {r.key: r.state for r in view.rules}["daily_net_loss"] == "ok"
    assert view.room_unknown is None
    assert view.room_to_loss_lock == 600 - 100 - 20  # NQ: 1 point = 20 USD
    assert view.room_rule == "daily_net_loss" and view.room_limit == Decimal(600)


def test_with_only_trailing_drawdown_the_room_is_the_distance_to_its_floor() -> None:
    sim = Sim(rules(trailing_drawdown={"max_drawdown": 2000, "starting_balance": 50000}))
    sim.account(balance="49500")
    view = sim.engine.view(ACC, sim.now)
    assert {r.key: r.state for r in view.rules}["trailing_drawdown"] == "ok"
    # floor 48000: equity 49500 is 1500 above it
    assert view.room_to_loss_lock == Decimal(1500)
    assert view.room_rule == "trailing_drawdown" and view.room_limit == Decimal(2000)
    sim.position(NQ, 1, "100")  # no mark: the equity, so the distance, is unknown
    view = sim.engine.view(ACC, sim.now)
    assert view.room_to_loss_lock is None
    assert view.room_unknown is not None and "trailing_drawdown" in view.room_unknown


def test_no_loss_rule_on_means_no_room_and_nothing_unknown() -> None:
    sim = Sim(rules(max_contracts={"limit": 3}))
    sim.position(NQ, 1, "100")
    view = sim.engine.view(ACC, sim.now)
    assert view.room_to_loss_lock is None and view.room_unknown is None
    assert {r.key: r.state for r in view.rules}["max_contracts"] == "ok"


def test_a_refused_action_is_a_problem_until_done_and_an_escalation_says_so() -> None:
    sim = Sim(rules(max_contracts={"limit": 1}, max_retries=1))
    (close,) = [a for a in sim.position(NQ, 3) if isinstance(a, ClosePosition)]
    sim.quote(NQ, "100")
    assert sim.engine.view(ACC, sim.now).problems == ()
    sim.engine.action_failed(close, sim.now, "HTTP 500: position locked")
    (problem,) = sim.engine.view(ACC, sim.now).problems
    assert problem.kind == "refused" and "HTTP 500: position locked" in problem.text
    sim.engine.action_failed(close, sim.now, "HTTP 500: position locked")
    (problem,) = sim.engine.view(ACC, sim.now).problems
    assert problem.kind == "escalated" and "needs the operator" in problem.text
    sim.position(NQ, 1)  # done: resolved, the banner goes
    assert sim.engine.view(ACC, sim.now).problems == ()


def test_a_position_without_a_live_mark_is_a_problem() -> None:
    sim = Sim(rules(max_contracts={"limit": 3}))
    sim.position(NQ, 1, "100")
    (problem,) = sim.engine.view(ACC, sim.now).problems
    assert problem.kind == "stale_mark" and NQ in problem.text
    sim.quote(NQ, "100")
    assert sim.engine.view(ACC, sim.now).problems == ()
