"""RULE-006, 007, 009, 010, 016: windows, cooldowns, sessions, connection, drawdown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.helpers import ACC, NQ, Sim, kinds, locks, rules
from risk_manager.domain.events import AuthFailureEvent, ConnectionEvent
from risk_manager.domain.locks import LockKind


def test_trade_frequency_per_minute_fires_on_the_fill_past_the_limit() -> None:
    sim = Sim(rules(trade_frequency_limit={"per_minute": 3}))
    for _ in range(3):
        # the fills open a position that never gets a quote: stale_mark alerts are expected
        assert not [a for a in sim.trade() if a.rule != "stale_mark"]
        sim.now += timedelta(seconds=10)
    out = sim.trade()
    (lock,) = locks(out)
    assert lock.until == sim.now + timedelta(seconds=60)
    assert lock.lock_kind is LockKind.HARD and ("flatten", "trade_frequency_limit") in kinds(out)


def test_trade_frequency_window_slides() -> None:
    sim = Sim(rules(trade_frequency_limit={"per_minute": 2}))
    sim.trade()
    sim.now += timedelta(seconds=30)
    sim.trade()
    sim.now += timedelta(seconds=30)  # the first fill is now exactly 60 s old: out
    assert not sim.trade()


def test_trade_frequency_cooldown_and_soft_lock_settings() -> None:
    sim = Sim(
        rules(
            trade_frequency_limit={"per_hour": 1, "flatten": False, "cooldown": {"per_hour": "10m"}}
        )
    )
    sim.order(NQ, order_id=42)
    sim.trade()
    out = sim.trade()
    (lock,) = locks(out)
    assert lock.lock_kind is LockKind.SOFT and lock.until == sim.now + timedelta(minutes=10)
    assert ("cancel_order", "trade_frequency_limit") in kinds(out)
    assert ("flatten", "trade_frequency_limit") not in kinds(out)


def test_trade_frequency_per_session_locks_until_reset() -> None:
    sim = Sim(rules(trade_frequency_limit={"per_session": 1}))
    sim.trade()
    (lock,) = locks(sim.trade())
    assert lock.until is not None and lock.until.isoformat() == "2026-03-10T22:00:00+00:00"


@pytest.mark.parametrize(("pnl", "cooldown"), [("-99", None), ("-100", 5), ("-250", 30)])
def test_cooldown_after_loss_largest_matching_tier(pnl: str, cooldown: int | None) -> None:
    sim = Sim(
        rules(
            cooldown_after_loss={
                "tiers": [{"loss": 100, "cooldown": "5m"}, {"loss": 200, "cooldown": "30m"}]
            }
        )
    )
    out = sim.trade(pnl=pnl)
    if cooldown is None:
        assert not out
    else:
        assert locks(out)[0].until == sim.now + timedelta(minutes=cooldown)


def test_cooldown_after_loss_counts_fees_and_flatten_false_is_soft() -> None:
    sim = Sim(
        rules(cooldown_after_loss={"flatten": False, "tiers": [{"loss": 100, "cooldown": "5m"}]})
    )
    out = sim.trade(pnl="-99", fees="1")
    assert locks(out)[0].lock_kind is LockKind.SOFT
    assert ("flatten", "cooldown_after_loss") not in kinds(out)
    assert not Sim(rules(cooldown_after_loss={"tiers": [{"loss": 100, "cooldown": "5m"}]})).trade(
        pnl=None
    )  # an opening fill is not a loss


# Tuesday 2026-03-10 session ends 15:10 CDT = 20:10 UTC
END = datetime(2026, 3, 10, 20, 10, tzinfo=UTC)


def test_session_stages_warn_block_flatten_then_outside_lock() -> None:
    sim = Sim(rules(session_block_outside={}), start=END - timedelta(minutes=20))
    sim.position(NQ, 1)
    sim.quote(NQ, "100")
    sim.actions.clear()
    assert not [a for a in sim.advance(minutes=4, seconds=59) if a.rule != "stale_mark"]
    sim.engine.tick(sim.now)
    out = sim.advance(seconds=1)  # end - 15m
    assert kinds(out) == [("alert", "session_block_outside")]
    out = sim.advance(minutes=5)  # end - 10m
    assert next((a.kind, getattr(a, "lock_kind", None)) for a in out) == ("lock", LockKind.SOFT)
    out = sim.advance(minutes=5)  # end - 5m
    assert ("flatten", "session_block_outside") in kinds(out)
    out = sim.advance(minutes=6)  # outside, position still open
    (lock,) = locks(out)
    assert lock.until is not None and lock.until.isoformat() == "2026-03-10T22:00:00+00:00"


def test_session_stage_zero_turns_it_off_and_order_outside_is_cancelled() -> None:
    sim = Sim(
        rules(
            session_block_outside={
                "warn_before": "0s",
                "block_entries_before": "0s",
                "flatten_before": "0s",
            }
        ),
        start=END - timedelta(minutes=20),
    )
    assert not sim.advance(minutes=19)
    sim.advance(minutes=2)
    out = sim.order(NQ, order_id=5)
    assert ("lock", "session_block_outside") in kinds(out)
    sim.quote(NQ, "100")
    assert any(a.kind == "cancel_order" for a in sim.actions) or (
        ("flatten", "session_block_outside") in kinds(out)
    )


def test_auth_loss_guard_alerts_after_max_gap_and_flattens_on_reconnect() -> None:
    sim = Sim(rules(auth_loss_guard={"max_gap": "30s", "on_gap": "flatten"}))
    sim.engine.process(ConnectionEvent(sim.now, "user", False), sim.now)
    assert not sim.advance(seconds=29)
    assert not sim.advance(seconds=1)  # exactly max_gap: not longer than it (strict, §3)
    out = sim.advance(milliseconds=1)
    assert next((a.kind, getattr(a, "severity", None)) for a in out)[0] == "alert"
    sim.now += timedelta(seconds=5)
    out = sim.engine.process(ConnectionEvent(sim.now, "user", True), sim.now)
    assert kinds(out) == [("flatten", "auth_loss_guard")]


def test_auth_loss_guard_short_gap_is_silent_and_alert_mode_does_not_flatten() -> None:
    sim = Sim(rules(auth_loss_guard={"max_gap": "30s"}))
    sim.engine.process(ConnectionEvent(sim.now, "user", False), sim.now)
    sim.now += timedelta(seconds=10)
    assert not sim.engine.process(ConnectionEvent(sim.now, "user", True), sim.now)
    sim.engine.process(ConnectionEvent(sim.now, "user", False), sim.now)
    sim.now += timedelta(seconds=45)  # no tick in between: the reconnect notices the gap
    out = sim.engine.process(ConnectionEvent(sim.now, "user", True), sim.now)
    assert kinds(out) == [("alert", "auth_loss_guard")]
    out = sim.engine.process(AuthFailureEvent(sim.now, "401 from loginKey"), sim.now)
    assert kinds(out) == [("alert", "auth_loss_guard")] and "401" in out[0].reason


def test_can_trade_false_is_an_external_lock_ended_by_the_broker() -> None:
    sim = Sim(rules())
    out = sim.account(can_trade=False)
    assert next((a.kind, getattr(a, "lock_kind", None)) for a in out) == ("lock", LockKind.EXTERNAL)
    assert not sim.account(can_trade=False)  # repeats add nothing
    assert not [a for a in sim.position(NQ, 1) if a.kind == "close_position"]  # never fought
    sim.account(can_trade=True)
    assert not sim.engine.view(ACC, sim.now).locked


def test_trailing_drawdown_intraday_floor_rises_and_freezes_at_start() -> None:
    sim = Sim(
        rules(
            trailing_drawdown={"max_drawdown": 2000, "mode": "intraday", "starting_balance": 50000}
        )
    )
    sim.account("51000")  # floor 49000
    assert not sim.account("49000.01")
    assert ("flatten", "trailing_drawdown") in kinds(sim.account("49000"))
    frozen = Sim(
        rules(
            trailing_drawdown={"max_drawdown": 2000, "mode": "intraday", "starting_balance": 50000}
        )
    )
    frozen.account("53000")  # would be 51000; frozen at 50000
    assert not frozen.account("50000.01")
    lock = locks(frozen.account("50000"))[0]
    assert lock.until is None  # until cleared


def test_trailing_drawdown_end_of_day_uses_closing_balances_and_buffer() -> None:
    sim = Sim(rules(trailing_drawdown={"max_drawdown": 2000, "buffer": 100}))
    sim.account("52000")  # intraday high does not move the floor (48000)
    assert not sim.account("48100.01")
    assert locks(sim.account("48100"))


def test_trailing_drawdown_counts_unrealized() -> None:
    sim = Sim(rules(trailing_drawdown={"max_drawdown": 1000}))
    sim.position(NQ, 1, "100")
    sim.quote(NQ, "50.05")  # -999
    assert not locks(sim.actions)
    assert locks(sim.quote(NQ, "50"))


def test_session_keys_timezone_sessions_and_holidays_change_behaviour() -> None:
    # 10:00 CDT Tuesday: inside the default session; outside a 08:00-09:00 New York session.
    default = Sim(rules(session_block_outside={}))
    custom = Sim(
        rules(
            session_block_outside={
                "timezone": "America/New_York",
                "sessions": [{"start": "08:00", "end": "09:00", "days": ["tue"]}],
            }
        )
    )
    for sim in (default, custom):
        sim.position(NQ, 1)
    assert ("flatten", "session_block_outside") in kinds(custom.actions)
    assert not locks(default.actions)
    # Good Friday 2026-04-03 is closed on the equity holiday calendar.
    friday = datetime(2026, 4, 3, 15, 0, tzinfo=UTC)
    closed = Sim(rules(session_block_outside={}), start=friday)
    open_ = Sim(rules(session_block_outside={"holidays": False}), start=friday)
    for sim in (closed, open_):
        sim.position(NQ, 1)
    assert locks(closed.actions) and not locks(open_.actions)


def test_trailing_drawdown_without_freeze_keeps_trailing_past_start() -> None:
    sim = Sim(
        rules(
            trailing_drawdown={
                "max_drawdown": 2000,
                "mode": "intraday",
                "starting_balance": 50000,
                "freeze_at_start": False,
            }
        )
    )
    sim.account("53000")  # floor 51000
    assert locks(sim.account("51000"))


def test_the_day_roll_drops_once_keys_of_ended_sessions_and_outages() -> None:
    """RULE-009's stage keys name their session's end and RULE-010's its outage's start:
    once that session ended or that outage is over, nothing asks for them, so the day roll
    drops them (kept for good, a few a day piled up for the service's life)."""
    sim = Sim(
        rules(session_block_outside={}, auth_loss_guard={"max_gap": "30s"}),
        start=END - timedelta(minutes=20),
    )
    sim.position(NQ, 1)
    sim.quote(NQ, "100")
    sim.engine.process(ConnectionEvent(sim.now, "user", False), sim.now)
    sim.advance(minutes=1)  # the outage is alerted
    sim.now += timedelta(seconds=1)
    sim.engine.process(ConnectionEvent(sim.now, "user", True), sim.now)
    for _ in range(18):  # through the warn, block and flatten stages
        sim.quote(NQ, "100")
        sim.advance(minutes=1)
    state = sim.engine._accounts[ACC]
    ruled = ("session_block_outside", "auth_loss_guard")
    assert {k[0] for k in state.alerted if k[0] in ruled} == set(ruled)
    sim.advance(hours=2)  # past the 17:00 CT reset (22:00 UTC)
    assert not [k for k in state.alerted if k[0] in ruled]
