"""RULE-003, 013, 014, 015: realized and net P&L limits (fires, inside, exactly at, keys)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.helpers import ACC, NQ, Sim, kinds, locks, rules


@pytest.mark.parametrize(("pnl", "fires"), [("-499.99", False), ("-500.00", True), ("-600", True)])
def test_daily_realized_loss_fires_at_and_past_the_limit_only(pnl: str, fires: bool) -> None:
    sim = Sim(rules(daily_realized_loss={"limit": 500, "include_fees": False}))
    out = sim.trade(pnl=pnl)
    assert bool(locks(out, "daily_realized_loss")) is fires
    if fires:
        assert ("flatten", "daily_realized_loss") in kinds(out)


def test_daily_realized_loss_include_fees_counts_fees() -> None:
    with_fees = Sim(rules(daily_realized_loss={"limit": 500}))
    without = Sim(rules(daily_realized_loss={"limit": 500, "include_fees": False}))
    for sim in (with_fees, without):
        sim.trade(pnl="-499", fees="2")
    assert locks(with_fees.actions, "daily_realized_loss")
    assert not locks(without.actions, "daily_realized_loss")


def test_daily_realized_loss_lock_ends_at_next_reset_and_day_restarts() -> None:
    sim = Sim(rules(daily_realized_loss={"limit": 500}))
    out = sim.trade(pnl="-300")
    assert out == []
    sim.advance(hours=8)  # past 17:00 CT: a new trading day
    assert sim.trade(pnl="-300") == []
    lock = locks(sim.trade(pnl="-250"), "daily_realized_loss")[0]
    assert lock.until is not None
    assert lock.until.isoformat() == "2026-03-11T22:00:00+00:00"  # Wed 17:00 CDT


def test_duplicate_and_voided_fills_are_counted_once() -> None:
    sim = Sim(rules(daily_realized_loss={"limit": 500, "include_fees": False}))
    sim.trade(pnl="-300", trade_id=1)
    sim.trade(pnl="-300", trade_id=1)  # repeated event
    assert not sim.actions
    sim.trade(pnl="-300", trade_id=1, voided=True)
    sim.trade(pnl="-450", trade_id=2)
    assert not sim.actions
    assert sim.engine.view(ACC, sim.now).day_realized == -450


@pytest.mark.parametrize(("pnl", "fires"), [("999.99", False), ("1000", True)])
def test_daily_realized_profit_target(pnl: str, fires: bool) -> None:
    sim = Sim(rules(daily_realized_profit={"target": 1000, "include_fees": False}))
    assert bool(locks(sim.trade(pnl=pnl), "daily_realized_profit")) is fires


def test_daily_realized_profit_include_fees() -> None:
    sim = Sim(rules(daily_realized_profit={"target": 1000}))
    assert not sim.trade(pnl="1000", fees="1")
    off = Sim(rules(daily_realized_profit={"target": 1000, "include_fees": False}))
    assert locks(off.trade(pnl="1000", fees="1"), "daily_realized_profit")


def test_weekly_realized_loss_accumulates_across_days_and_locks_until_week_reset() -> None:
    sim = Sim(rules(weekly_realized_loss={"limit": 1000, "include_fees": False}))
    sim.trade(pnl="-600")
    sim.advance(days=1)
    assert not sim.trade(pnl="-399.99")
    lock = locks(sim.trade(pnl="-0.01"), "weekly_realized_loss")[0]
    assert lock.until is not None and lock.until.isoformat() == "2026-03-15T22:00:00+00:00"


def test_weekly_realized_loss_restarts_after_weekly_reset() -> None:
    sim = Sim(rules(weekly_realized_loss={"limit": 1000, "include_fees": False}))
    sim.trade(pnl="-900")
    sim.advance(days=6)  # Monday of the next week
    assert not sim.trade(pnl="-900")


@pytest.mark.parametrize(("last", "fires"), [("90.00", False), ("89.75", True)])
def test_daily_net_loss_uses_realized_plus_unrealized(last: str, fires: bool) -> None:
    # long 1 NQ @ 100 ($20/pt): at 90 unrealized is -200; realized -300 → net -500
    sim = Sim(rules(daily_net_loss={"limit": 505}))
    sim.trade(pnl="-300")
    sim.position(NQ, 1, "100")
    out = sim.quote(NQ, "89.75" if fires else "90.25")
    assert bool(locks(out, "daily_net_loss")) is fires


def test_daily_net_loss_exactly_at_limit_fires() -> None:
    sim = Sim(rules(daily_net_loss={"limit": 500}))
    sim.trade(pnl="-300")
    sim.position(NQ, 1, "100")
    assert locks(sim.quote(NQ, "90"), "daily_net_loss")


def test_daily_net_loss_trailing_measures_from_peak() -> None:
    plain = Sim(rules(daily_net_loss={"limit": 500}))
    trailing = Sim(rules(daily_net_loss={"limit": 500, "trailing": True}))
    for sim in (plain, trailing):
        sim.position(NQ, 1, "100")
        sim.quote(NQ, "140")  # +800 peak
        sim.quote(NQ, "115")  # +300: 500 below the peak
    assert locks(trailing.actions, "daily_net_loss")
    assert not locks(plain.actions, "daily_net_loss")


def test_daily_net_loss_without_mark_alerts_and_does_not_fire() -> None:
    sim = Sim(rules(daily_net_loss={"limit": 100}))
    sim.trade(pnl="-99")
    assert sim.position(NQ, 1, "100") == []  # its first quote may still be on its way
    out = sim.advance(seconds=10)  # stale_mark: now it is an alert
    assert kinds(out) == [("alert", "stale_mark")]  # one alert, naming the rule that waits
    assert "unknown" in out[0].reason
    assert "daily_net_loss cannot be evaluated" in out[0].reason


def test_warn_at_alerts_once_per_day() -> None:
    sim = Sim(rules(daily_realized_loss={"limit": 500, "warn_at": 0.8, "include_fees": False}))
    assert sim.trade(pnl="-399") == []
    out = sim.trade(pnl="-1")
    assert kinds(out) == [("alert", "daily_realized_loss")]
    assert "80%" in out[0].reason
    assert sim.trade(pnl="-1") == []
    sim.advance(hours=8)
    sim.trade(pnl="-400")
    assert kinds(sim.actions[-1:]) == [("alert", "daily_realized_loss")]


def test_warn_at_does_not_alert_after_the_breach_it_warns_of() -> None:
    # warn_at warns before the limit; a jump straight past it locks, and the fills that follow
    # (the flatten's own) are no cause for a late "warning".
    sim = Sim(rules(daily_realized_loss={"limit": 500, "warn_at": 0.8, "include_fees": False}))
    assert ("lock", "daily_realized_loss") in kinds(sim.trade(pnl="-600"))
    assert sim.trade(pnl="-5") == []


def test_trade_from_a_previous_day_does_not_count_today() -> None:
    sim = Sim(rules(daily_realized_loss={"limit": 500, "include_fees": False}))
    assert not sim.trade(pnl="-600", at=sim.now - timedelta(days=1))


def test_fill_stamped_just_after_the_reset_counts_in_the_new_day() -> None:
    from datetime import UTC, datetime

    reset = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)  # Tue 17:00 CDT
    sim = Sim(
        rules(daily_realized_loss={"limit": 500, "include_fees": False}),
        start=reset - timedelta(minutes=5),
    )
    sim.trade(pnl="-400")
    sim.now = reset - timedelta(milliseconds=5)  # our clock is 5 ms behind the broker's
    assert not sim.trade(pnl="-200", at=reset + timedelta(milliseconds=1))
    assert sim.engine.view(ACC, reset).day_realized == -200
    assert [a.kind for a in sim.trade(pnl="-300", at=reset + timedelta(seconds=1))] == [
        "lock",
        "flatten",
    ]
