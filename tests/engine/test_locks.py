"""Lock semantics (RULES.md §2) and in-flight tracking (§4)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

from engine.helpers import ACC, CAL, ES, NQ, T0, Sim, kinds, rules
from risk_manager.domain.actions import Alert, CancelOrder, ClosePosition
from risk_manager.domain.contracts import DEFAULT_CATALOG
from risk_manager.domain.events import AccountEvent
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Account
from risk_manager.engine.engine import Engine
from risk_manager.engine.lock_ledger import ENDED_KEPT, LockLedger

BOTH: dict[str, Mapping[str, object]] = {
    "daily_realized_loss": {"limit": 500},
    "cooldown_after_loss": {"tiers": [{"loss": 100, "cooldown": "5m"}]},
}


def test_cooldown_never_shortens_a_daily_loss_lock_and_both_are_shown() -> None:
    sim = Sim(rules(**BOTH))
    sim.trade(pnl="-600")  # both fire: daily loss until 17:00 and a 5 min cooldown
    view = sim.engine.view(ACC, sim.now)
    assert sorted(lock.rule for lock in view.locks) == [
        "cooldown_after_loss",
        "daily_realized_loss",
    ]
    sim.advance(minutes=6)  # the cooldown ended; still locked by the daily loss
    view = sim.engine.view(ACC, sim.now)
    assert [lock.rule for lock in view.locks] == ["daily_realized_loss"] and view.locked


def test_a_new_cooldown_while_locked_adds_a_row_and_nothing_is_shortened() -> None:
    sim = Sim(rules(**BOTH))
    sim.trade(pnl="-600")
    sim.advance(minutes=1)
    out = sim.trade(pnl="-150")  # cooldown again: a later end → a new row
    assert [a.rule for a in out if a.kind == "lock"] == ["cooldown_after_loss"]
    ends = sorted(lock.ends_at for lock in sim.engine.locks(ACC) if lock.ends_at)
    assert len(ends) == 3


def test_position_opened_while_locked_is_closed_and_new_orders_cancelled() -> None:
    sim = Sim(rules(**BOTH))
    sim.trade(pnl="-600")
    sim.now += timedelta(milliseconds=5)
    out = sim.order(NQ, order_id=12)
    assert any(isinstance(a, CancelOrder) and a.order_id == 12 for a in out)
    out = sim.position(ES, 2)
    assert [(a.contract_id, a.size) for a in out if isinstance(a, ClosePosition)] == [(ES, None)]


def test_rules_keep_running_while_locked() -> None:
    sim = Sim(rules(daily_realized_loss={"limit": 500}, weekly_realized_loss={"limit": 800}))
    sim.trade(pnl="-600")
    out = sim.trade(pnl="-300")
    assert [a.rule for a in out if a.kind == "lock"] == ["weekly_realized_loss"]
    assert sim.engine.view(ACC, sim.now).day_realized == -900


def test_soft_lock_blocks_entries_but_allows_exits() -> None:
    sim = Sim(
        rules(cooldown_after_loss={"flatten": False, "tiers": [{"loss": 100, "cooldown": "5m"}]})
    )
    sim.position(NQ, 2)
    sim.trade(pnl="-150")
    exit_order = sim.order(NQ, side=1, size=1, order_id=21)  # sell 1 of a long 2: exit
    assert not [a for a in exit_order if isinstance(a, CancelOrder)]
    entry = sim.order(NQ, side=0, size=1, order_id=22)  # buy more: entry
    assert [a.order_id for a in entry if isinstance(a, CancelOrder)] == [22]
    out = sim.position(NQ, 3)  # an increase slipped through: reduced back
    assert [(a.contract_id, a.size) for a in out if isinstance(a, ClosePosition)] == [(NQ, 1)]
    sim.advance(seconds=5)
    assert not [a for a in sim.position(NQ, 1) if isinstance(a, ClosePosition)]  # exit ok
    out = sim.position(NQ, 2)  # back up from the smaller baseline: reduced again
    assert [(a.contract_id, a.size) for a in out if isinstance(a, ClosePosition)] == [(NQ, 1)]


def test_restored_locks_are_enforced_at_once_and_ended_ones_stay_history() -> None:
    sim = Sim(rules())
    sim.position(NQ, 1)
    running = Lock(
        ACC,
        "daily_realized_loss",
        LockKind.HARD,
        "r",
        sim.now - timedelta(hours=1),
        sim.now + timedelta(hours=1),
        id=40,
    )
    ended = Lock(
        ACC,
        "cooldown_after_loss",
        LockKind.HARD,
        "r",
        sim.now - timedelta(hours=1),
        sim.now - timedelta(minutes=1),
        id=41,
    )
    out = sim.engine.restore_locks([running, ended], sim.now)
    assert [(a.kind, a.rule) for a in out] == [("close_position", "daily_realized_loss")]
    assert [lock.id for lock in sim.engine.view(ACC, sim.now).locks] == [40]
    assert {lock.id for lock in sim.engine.locks(ACC)} == {40, 41}


def test_admin_clear_is_audited_and_unlocks() -> None:
    sim = Sim(rules(daily_realized_loss={"limit": 500}))
    sim.trade(pnl="-600")
    (cleared,) = sim.engine.clear_lock(ACC, "daily_realized_loss", sim.now, "admin", "mistake")
    assert cleared.cleared_by == "admin" and cleared.clear_reason == "mistake"
    assert not sim.engine.view(ACC, sim.now).locked
    assert not [a for a in sim.position(NQ, 1) if a.kind == "close_position"]


def test_unconfirmed_action_is_reproposed_then_escalated() -> None:
    sim = Sim(rules(max_contracts={"limit": 1}, retry_after="2s", max_retries=2))
    out = sim.position(NQ, 3)
    assert [(a.kind, a.size) for a in out if isinstance(a, ClosePosition)] == [
        ("close_position", 2)
    ]
    assert not [a for a in sim.position(NQ, 3) if isinstance(a, ClosePosition)]  # in flight
    assert not [a for a in sim.advance(seconds=1.9) if isinstance(a, ClosePosition)]
    assert [a.kind for a in sim.advance(seconds=0.1) if a.rule == "max_contracts"] == [
        "close_position"
    ]
    sim.advance(seconds=2)
    out = sim.advance(seconds=2)
    assert [(a.kind, getattr(a, "severity", None)) for a in out if a.rule == "max_contracts"] == [
        ("alert", "critical")
    ] or any(a.kind == "alert" and getattr(a, "severity", None) == "critical" for a in sim.actions)
    # escalated, never given up: still re-proposed, every 10 s, until the ledger shows it done
    assert not [a for a in sim.advance(seconds=9.9) if a.rule == "max_contracts"]
    assert [a.kind for a in sim.advance(seconds=0.1) if a.rule == "max_contracts"] == [
        "close_position"
    ]
    assert [a.kind for a in sim.advance(seconds=10) if a.rule == "max_contracts"] == [
        "close_position"
    ]
    sim.position(NQ, 1)  # done at last
    assert not [a for a in sim.advance(seconds=30) if a.rule == "max_contracts"]


def test_a_refusal_counts_and_escalates_but_the_runtime_retries_it() -> None:
    sim = Sim(rules(max_contracts={"limit": 1}, max_retries=2))
    (close,) = [a for a in sim.position(NQ, 3) if isinstance(a, ClosePosition)]
    assert close.keep == 1  # a retry recomputes from the broker's size what is left to do
    assert sim.engine.action_failed(close, sim.now, "HTTP 500") == []  # no re-send from here
    assert sim.engine.action_failed(close, sim.now, "HTTP 500") == []
    (alert,) = sim.engine.action_failed(close, sim.now, "HTTP 500")
    assert isinstance(alert, Alert) and alert.severity == "critical"
    assert sim.engine.action_failed(close, sim.now, "HTTP 500") == []  # alerted once
    assert close.size == 2 and ("close", ACC, NQ) in sim.engine.in_flight(ACC)  # still wanted
    sim.position(NQ, 1)  # done
    assert not sim.engine.in_flight(ACC)
    assert not [a for a in sim.advance(seconds=10) if a.rule == "max_contracts"]


def test_view_reports_rules_positions_and_room() -> None:
    sim = Sim(
        rules(daily_realized_loss={"limit": 500, "warn_at": 0.5}, daily_net_loss={"limit": 300})
    )
    sim.trade(pnl="-260", fees="0")
    sim.position(NQ, 1, "100")
    sim.quote(NQ, "99")
    view = sim.engine.view(ACC, sim.now)
    states = {r.key: r.state for r in view.rules}
    assert states["daily_realized_loss"] == "warning" and states["max_contracts"] == "off"
    assert view.unrealized == -20 and view.net == -280
    assert view.room_to_loss_lock == 20
    assert view.positions[0].unrealized == -20
    assert sim.engine.account_ids() == [ACC]


def test_next_wakeup_points_at_the_earliest_timer() -> None:
    sim = Sim(rules(no_stop_loss_grace={"grace": "30s"}))
    sim.position(NQ, 1)
    sim.quote(NQ, "100")
    assert sim.engine.next_wakeup() == sim.now + timedelta(seconds=10)  # stale-mark check
    out = [a for a in sim.advance(seconds=30) if a.rule != "stale_mark"]
    assert kinds(out) == [("close_position", "no_stop_loss_grace")]


def test_snapshot_replaces_the_book_merges_fills_and_runs_every_rule() -> None:
    from decimal import Decimal

    from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
    from risk_manager.domain.events import SnapshotEvent
    from risk_manager.domain.models import Account, Order, Position, Trade

    sim = Sim(
        rules(daily_realized_loss={"limit": 500, "include_fees": False}, max_contracts={"limit": 2})
    )
    sim.position(ES, 1)
    sim.order(NQ, order_id=1)
    sim.trade(pnl="-300", trade_id=5)
    snap = SnapshotEvent(
        sim.now,
        Account(ACC, "TEST", Decimal(49000), True),
        positions=(Position(2, ACC, NQ, PositionType.SHORT, 3, Decimal(100), sim.now),),
        orders=(Order(2, ACC, NQ, OrderStatus.OPEN, OrderType.LIMIT, OrderSide.BID, 1),),
        trades=(
            Trade(
                5, ACC, NQ, sim.now, Decimal(1), OrderSide.ASK, 1, 1, profit_and_loss=Decimal(-300)
            ),  # already counted
            Trade(
                6, ACC, NQ, sim.now, Decimal(1), OrderSide.ASK, 1, 1, profit_and_loss=Decimal(-200)
            ),  # missed during a gap
        ),
    )
    out = sim.engine.process(snap, sim.now)
    assert ("lock", "daily_realized_loss") in kinds(out)
    assert ("close_position", "max_contracts") in kinds(out)
    view = sim.engine.view(ACC, sim.now)
    assert [p.position.contract_id for p in view.positions] == [NQ]
    assert [o.id for o in view.orders] == [2]
    assert view.day_realized == -500


def test_quotes_fan_out_to_every_account_holding_the_contract() -> None:
    from decimal import Decimal

    from risk_manager.domain.enums import PositionType
    from risk_manager.domain.events import PositionEvent, QuoteEvent
    from risk_manager.domain.models import Position, Quote

    sim = Sim(rules(max_unrealized_profit={"target": 100}))
    for acc in (8, 9):
        pos = Position(acc, acc, NQ, PositionType.LONG, 1, Decimal(100), sim.now)
        sim.engine.process(PositionEvent(sim.now, pos), sim.now)
    out = sim.engine.process(QuoteEvent(sim.now, Quote(NQ, Decimal(110))), sim.now)
    assert sorted(a.account_id for a in out if a.kind == "close_position") == [8, 9]
    assert sim.engine.account_ids() == [ACC, 8, 9]


def test_broker_refusals_escalate_after_max_retries() -> None:
    sim = Sim(rules(max_contracts={"limit": 1}, max_retries=1))
    (close,) = [a for a in sim.position(NQ, 3) if isinstance(a, ClosePosition)]
    assert sim.engine.action_failed(close, sim.now, "OrderPending") == []  # runtime retries
    out = sim.engine.action_failed(close, sim.now, "OrderPending")
    assert [(a.kind, getattr(a, "severity", None)) for a in out] == [("alert", "critical")]
    assert "OrderPending" in out[0].reason
    assert not sim.engine.action_failed(close, sim.now, "OrderPending")


def test_a_market_order_is_never_cancelled_while_locked_its_fill_is_closed_instead() -> None:
    # Our own Position/closeContract creates an untagged market order that looks like the
    # trader's: cancelling it could undo the close. A trader's market order fills at once.
    sim = Sim(rules(**BOTH))
    sim.trade(pnl="-600")
    sim.now += timedelta(milliseconds=5)
    out = sim.order(NQ, type_=2, status=6, order_id=21)  # Pending market order
    assert not any(isinstance(a, CancelOrder) for a in out)
    out = sim.order(NQ, type_=1, order_id=22)  # a resting limit order is cancelled
    assert [a.order_id for a in out if isinstance(a, CancelOrder)] == [22]


def test_restored_external_lock_ends_when_the_broker_allows_trading() -> None:
    # RULES.md §2: an external lock ends when the broker sets canTrade: true, also when the
    # lock was restored after a restart (the engine never saw canTrade: false itself).
    engine = Engine(rules(), CAL, DEFAULT_CATALOG)
    external = Lock(ACC, "auth_loss_guard", LockKind.EXTERNAL, "canTrade: false", T0, None, id=9)
    engine.restore_locks([external], T0)
    assert engine.view(ACC, T0).locked
    engine.process(AccountEvent(T0, Account(ACC, "TEST", Decimal("50000"), True)), T0)
    assert not engine.view(ACC, T0).locked
    (ended,) = engine.locks(ACC)
    assert ended.cleared_by == "broker" and ended.cleared_at == T0


def test_a_lock_sends_no_second_close_of_what_its_flatten_is_closing() -> None:
    """The flatten's close is answered; its fill comes in before the broker's position event.
    The lock must not propose a second close of that position on the ledger that has not caught
    up (a fresh review counted two closeContract per contract on every lock breach), but a
    re-entry under the lock (a new position record) is closed at once."""
    sim = Sim(rules(daily_realized_loss={"limit": 500}))
    sim.position(ES, 2)
    out = sim.trade(pnl="-600")  # breach: lock and flatten, ES still open
    assert [a.kind for a in out if a.kind in ("flatten", "close_position")] == ["flatten"]
    sim.now += timedelta(milliseconds=20)
    seen = sim.order(ES, side=1, type_=2, size=2, status=2)  # the close's filled market order
    seen += sim.trade(cid=ES, pnl="-10", side=1, size=2)  # its fill; the position event not yet
    seen += sim.advance(seconds=1)
    assert not [a for a in seen if isinstance(a, ClosePosition)], seen
    sim.now += timedelta(milliseconds=20)
    out = sim.position(ES, 3)  # a re-entry under the lock: a new record
    assert [(a.contract_id, a.size) for a in out if isinstance(a, ClosePosition)] == [(ES, None)]


def test_the_ledger_keeps_active_locks_and_only_the_latest_ended_ones() -> None:
    """A long run adds a lock a round (the soak: hundreds an hour); ended ones are history
    the store keeps, so the ledger keeps the newest ``ENDED_KEPT`` and every active one."""
    ledger = LockLedger()
    forever = ledger.add(Lock(ACC, "manual", LockKind.HARD, "held", T0, None), T0)
    assert forever is not None
    now = T0
    for n in range(10 * ENDED_KEPT):
        now = T0 + timedelta(minutes=n)
        ledger.add(Lock(ACC, f"r{n}", LockKind.HARD, "x", now, now + timedelta(seconds=30)), now)
    rows = ledger.all(ACC)
    assert len(rows) <= 2 * ENDED_KEPT + 1
    assert forever in rows and ledger.active(ACC, now)[0] is forever
    ended = [lock for lock in rows if not lock.is_active(now)]
    assert len(ended) >= ENDED_KEPT
    assert ended[-1].rule == f"r{10 * ENDED_KEPT - 2}"  # the newest ended are the ones kept
