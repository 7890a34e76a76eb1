"""What the ledger keeps of a fill, and a fill the gateway sends again (RULES.md §1, §3: a
fill counts once, in the day and the week it was made; API doc §8.1: fills are re-sent on
reconnect, and ``Trade/search`` at start reads the day's fills).

The ledger keeps a compact record per fill id (never the decoded ``Trade``) and drops the
records of the week before last at the week's roll, so its memory is bounded by two trading
weeks of fills; a fill re-sent after any roll must neither count again nor change this week's
totals."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from engine.helpers import ACC, CAL, NQ, T0, Sim, rules
from risk_manager.domain.contracts import DEFAULT_CATALOG
from risk_manager.domain.enums import OrderSide
from risk_manager.domain.events import SnapshotEvent, TradeEvent
from risk_manager.domain.models import Account, Trade
from risk_manager.engine.engine import Engine
from risk_manager.engine.ledger import FillRecord, Ledger

D = Decimal
SELL = 1


def _sim() -> Sim:
    return Sim(rules(daily_realized_loss={"limit": 1000}, weekly_realized_loss={"limit": 5000}))


def _ledger(sim: Sim) -> Ledger:
    return sim.engine._accounts[ACC].ledger


def _totals(sim: Sim) -> tuple[Decimal, Decimal]:
    view = sim.engine.view(ACC, sim.now)
    return view.day_realized, view.week_realized


def test_a_fill_sent_again_the_same_day_counts_once() -> None:
    sim = _sim()
    sim.trade(pnl="-300", fees="2", trade_id=1, side=SELL)
    assert sim.trade(pnl="-300", fees="2", trade_id=1, side=SELL) == []
    assert _totals(sim) == (D(-302), D(-302))
    assert _ledger(sim).fills_day == 1


def test_the_ledger_keeps_a_compact_record_not_the_trade() -> None:
    sim = _sim()
    sim.trade(pnl="-300", fees="2", trade_id=1, side=SELL, order_id=9)
    kept = _ledger(sim).fills[1]
    assert isinstance(kept, FillRecord) and not isinstance(kept, Trade)
    assert (kept.gross, kept.costs, kept.size, kept.order_id) == (D(-300), D(2), 1, 9)


def test_a_fill_sent_again_after_the_day_roll_counts_in_neither_day() -> None:
    sim = _sim()
    made = sim.now
    sim.trade(pnl="-300", trade_id=1, side=SELL)
    sim.advance(hours=8)  # past 17:00 CT: Wednesday's trading day
    sim.trade(pnl="-300", trade_id=1, side=SELL, at=made)
    assert _totals(sim) == (D(0), D(-300))
    assert _ledger(sim).fills_day == 0


def test_a_fill_sent_again_after_the_week_roll_changes_nothing() -> None:
    sim = _sim()
    sim.advance(days=3)  # Friday 10:00 CT
    made = sim.now
    sim.trade(pnl="-300", trade_id=1, side=SELL)
    sim.advance(days=3)  # Monday: a new week (the weekly reset is Sunday 17:00 CT)
    assert _totals(sim) == (D(0), D(0))
    assert sim.trade(pnl="-300", trade_id=1, side=SELL, at=made) == []
    assert _totals(sim) == (D(0), D(0))


def test_records_of_the_week_before_last_are_dropped_and_their_fills_stay_ignored() -> None:
    sim = _sim()
    made = sim.now
    for tid in range(1, 11):
        sim.trade(pnl="-10", trade_id=tid, side=SELL)
    sim.advance(days=6)  # the next week: last week's records are kept (a re-send is common)
    assert len(_ledger(sim).fills) == 10
    sim.trade(pnl="-20", trade_id=99, side=SELL)
    sim.advance(days=7)  # the week after: the first week's records are gone
    assert set(_ledger(sim).fills) == {99}
    # a fill of the forgotten week sent again (or first seen now, a week late) is not counted
    assert sim.trade(pnl="-10", trade_id=3, side=SELL, at=made) == []
    assert _totals(sim) == (D(0), D(0))
    assert set(_ledger(sim).fills) == {99}


def test_a_void_takes_a_fill_out_of_the_totals_it_is_in() -> None:
    sim = _sim()
    made = sim.now
    sim.trade(pnl="-300", trade_id=1, side=SELL)
    sim.trade(pnl="-100", trade_id=2, side=SELL)
    sim.trade(pnl="-100", trade_id=2, side=SELL, voided=True)  # same day: out of both
    assert _totals(sim) == (D(-300), D(-300))
    sim.advance(hours=8)  # Wednesday
    sim.trade(pnl="-50", trade_id=3, side=SELL)
    sim.trade(pnl="-300", trade_id=1, side=SELL, voided=True, at=made)  # a day late
    assert _totals(sim) == (D(-50), D(-50))  # out of the week only
    sim.trade(pnl="-300", trade_id=1, side=SELL, voided=True, at=made)  # sent again
    assert _totals(sim) == (D(-50), D(-50))


def test_a_void_after_the_week_roll_leaves_this_weeks_totals() -> None:
    sim = _sim()
    made = sim.now
    sim.trade(pnl="-300", trade_id=1, side=SELL)
    sim.advance(days=6)
    sim.trade(pnl="-40", trade_id=2, side=SELL)
    sim.trade(pnl="-300", trade_id=1, side=SELL, voided=True, at=made)
    assert _totals(sim) == (D(-40), D(-40))


def test_a_void_after_a_manual_day_reset_leaves_the_new_days_totals() -> None:
    sim = _sim()
    sim.trade(pnl="-300", trade_id=1, side=SELL)
    sim.engine.reset_day(ACC, sim.now, sim.now, "test", "a manual reset")
    sim.advance(seconds=1)
    assert _totals(sim) == (D(0), D(-300))
    sim.trade(pnl="-300", trade_id=1, side=SELL, voided=True)
    assert _totals(sim) == (D(0), D(0))


def _trade(tid: int, pnl: str) -> Trade:
    return Trade(tid, ACC, NQ, T0, D(100), OrderSide.ASK, 1, 1, D(0), D(0), D(pnl))


def test_a_restart_reads_the_days_fills_once_and_a_resend_does_not_add() -> None:
    """A restart builds a new engine: ``Trade/search``'s fills come in the start snapshot,
    then the user hub may send the same fills again."""
    engine = Engine(rules(daily_realized_loss={"limit": 1000}), CAL, DEFAULT_CATALOG)
    now = T0 + timedelta(minutes=5)
    account = Account(ACC, "TEST", D(50000), True)
    fills = (_trade(1, "-300"), _trade(2, "-200"))
    engine.process(SnapshotEvent(now, account, trades=fills), now)
    engine.process(SnapshotEvent(now, account, trades=fills), now)  # a reconnect's snapshot
    for t in fills:
        assert engine.process(TradeEvent(now, t), now) == []
    view = engine.view(ACC, now)
    assert (view.day_realized, view.week_realized) == (D(-500), D(-500))
