"""A position younger than ``stale_mark`` without a mark waits for its first quote; after
``stale_mark`` it is alerted (fail closed, RULES.md §4). The market-hub subscription of a
contract starts only once its position exists, so the first quote always comes a little later."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from engine.helpers import ACC, NQ, Sim, kinds, rules
from risk_manager.domain.actions import ClosePosition, Flatten, LockAccount
from risk_manager.domain.enums import PositionType
from risk_manager.domain.events import ConnectionEvent, PositionEvent
from risk_manager.domain.models import Position

VALUE_RULES = rules(
    daily_net_loss={"limit": 1000},
    trailing_drawdown={"max_drawdown": 2000},
    daily_unrealized_loss={"limit": 300},
    max_unrealized_profit={"target": 300},
)
VALUE_KEYS = {
    "daily_net_loss",
    "trailing_drawdown",
    "daily_unrealized_loss",
    "max_unrealized_profit",
}


def test_no_mark_alert_while_the_first_quote_is_on_its_way() -> None:
    sim = Sim(VALUE_RULES)
    assert sim.trade(NQ) == []  # the opening fill
    assert sim.position(NQ, 1, "100") == []
    sim.now += timedelta(milliseconds=30)
    assert sim.account("50000") == []
    assert sim.quote(NQ, "101") == []
    assert not sim.advance(seconds=9)
    assert sim.actions == []


def test_young_position_without_mark_is_not_acted_on() -> None:
    sim = Sim(VALUE_RULES)
    sim.position(NQ, 2, "100")
    sim.now += timedelta(milliseconds=5)
    sim.trade(NQ, pnl="-5000", side=1)  # realized alone is past the limit, but net is unknown
    sim.position(NQ, 1, "100")
    acted = [a for a in sim.actions if isinstance(a, Flatten | LockAccount | ClosePosition)]
    assert acted == []


def test_no_mark_after_stale_mark_is_one_alert_naming_the_waiting_rules() -> None:
    sim = Sim(VALUE_RULES)
    sim.position(NQ, 1, "100")
    assert not sim.advance(seconds=9, milliseconds=999)
    out = sim.advance(milliseconds=1)
    assert kinds(out) == [("alert", "stale_mark")]
    assert "unknown" in out[0].reason
    assert all(key in out[0].reason for key in VALUE_KEYS)
    assert sim.account("50000") == []  # once per cause
    assert not sim.advance(seconds=5)


def test_grace_runs_from_when_the_engine_first_saw_the_position() -> None:
    """A position from a REST snapshot at startup opened long ago: still a grace to subscribe."""
    sim = Sim(rules(daily_net_loss={"limit": 1000}))
    old = Position(1, ACC, NQ, PositionType.LONG, 1, Decimal(100), sim.now - timedelta(hours=1))
    assert sim.engine.process(PositionEvent(sim.now, old), sim.now) == []
    assert sim.engine.tick(sim.now + timedelta(seconds=1)) == []
    out = sim.engine.tick(sim.now + timedelta(seconds=10))
    assert {a.rule for a in out} == {"stale_mark"}


def test_unknown_contract_spec_alerts_at_once() -> None:
    """Waiting cannot bring a spec: only a missing mark gets the grace."""
    sim = Sim(rules(daily_net_loss={"limit": 1000}))
    out = sim.position("CON.F.US.ZZZ.H26", 1, "100")
    assert kinds(out) == [("alert", "daily_net_loss")]
    assert "unknown" in out[0].reason


def test_a_timer_due_at_an_event_fires_at_that_event() -> None:
    """An event that recomputes the timers must not skip the one due at its own instant."""
    sim = Sim(rules())
    sim.position(NQ, 1, "100")
    sim.now += timedelta(seconds=10)
    out = sim.position(NQ, 2, "100")  # no tick in between: the event itself is the first pass
    assert kinds(out) == [("alert", "stale_mark")]


def test_a_long_stale_mark_keeps_one_alert_entry_per_contract() -> None:
    """The alert repeats every ``STALE_REPEAT`` while no quote comes; the engine keeps the
    last alert of the contract (of each kind of ``since``), not a key a minute, and nothing
    once the position is gone (a key a minute, kept for the daemon's life, was a holder: the
    soak issue)."""
    sim = Sim(VALUE_RULES)
    sim.position(NQ, 1, "100")
    alerts = []
    for _ in range(30):
        alerts += [a for a in sim.advance(minutes=1) if a.rule == "stale_mark"]
    assert len(alerts) == 30  # still one a minute
    state = sim.engine._accounts[ACC]
    assert not [k for k in state.alerted if k[0] == "stale_mark"]
    assert list(state._stale_sent) == [(NQ, True)]  # counted from the position's mark_wait
    assert sim.advance(seconds=1) == []  # the last alert still holds this round back
    sim.position(NQ, 0, "100")
    sim.advance(seconds=1)
    assert not state._stale_sent


def test_a_stale_alert_is_not_sent_again_when_a_hub_outage_brings_since_back() -> None:
    """A market-hub disconnect voids the live quotes, so ``live_since`` goes back from the last
    quote's time to the position's ``mark_wait``: the alert already sent for that ``since``
    and round is not sent again (a review found it sent twice when only the newest key was
    kept)."""
    sim = Sim(rules(daily_unrealized_loss={"limit": 500}, stale_mark="30s"))
    sim.position(NQ, 1, "100")  # mark_wait T0
    first = [a for a in sim.advance(seconds=31) if a.rule == "stale_mark"]  # (T0, round 0)
    sim.quote(NQ, "100")  # live at T0+31
    second = [a for a in sim.advance(seconds=31) if a.rule == "stale_mark"]  # (T0+31, 0)
    sim.now += timedelta(seconds=1)
    out = sim._go(ConnectionEvent(sim.now, "market", False))  # since back to T0, round 0
    out += sim.advance(seconds=5)
    assert (len(first), len(second)) == (1, 1)
    assert [a for a in out if a.rule == "stale_mark"] == []
    later = [a for a in sim.advance(seconds=60) if a.rule == "stale_mark"]
    assert len(later) == 1  # the next round of the outage still comes
