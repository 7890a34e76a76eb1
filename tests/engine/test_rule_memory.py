"""Rule state that must survive a restart (docs/ENGINE.md "Restarts"; RULES.md §1, §2, §3).

A restart is a new Engine that gets the old one's rule memory (``restore_memory``) and active
locks, then the broker's book again. Reading (``view``, ``measure``) never changes memory.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from risk_manager.config.rules import RulesConfig
from risk_manager.domain.actions import Alert, CancelOrder, ClosePosition, LockAccount, PlaceOrder
from risk_manager.domain.contracts import DEFAULT_CATALOG
from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
from risk_manager.domain.events import AccountEvent, SnapshotEvent
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Account, Order, Position, Trade
from risk_manager.engine.engine import Engine
from risk_manager.engine.memory import ENGINE_KEY
from risk_manager.engine.rules.base import Context

from .helpers import ACC, CAL, MNQ, NQ, T0, Sim, kinds, rules


def restart(sim: Sim, config: RulesConfig, *, through_json: bool = True) -> None:
    """The daemon restarts: a new engine with the stored memory and locks (as JSON would
    store them), and nothing else."""
    import json

    memory: Any = sim.engine.memory(ACC)
    if through_json:
        memory = json.loads(json.dumps(memory))
    locks = [lock for lock in sim.engine.locks(ACC) if lock.is_active(sim.now)]
    engine = Engine(config, CAL, DEFAULT_CATALOG)
    engine.restore_memory(ACC, memory)
    sim.actions.extend(engine.restore_locks(locks, sim.now))
    sim.engine = engine


def snapshot(sim: Sim, balance: str, positions: tuple[Position, ...] = ()) -> list[Any]:
    account = Account(ACC, "TEST", Decimal(balance), True)
    out = sim.engine.process(SnapshotEvent(sim.now, account, positions), sim.now)
    sim.actions.extend(out)
    return out


def long(cid: str, size: int, avg: str) -> Position:
    return Position(1, ACC, cid, PositionType.LONG, size, Decimal(avg), T0)


DRAWDOWN = {"max_drawdown": 2000, "mode": "intraday", "starting_balance": 50000}


def test_rule_016_frozen_floor_holds_across_a_restart() -> None:
    config = rules(trailing_drawdown=DRAWDOWN)
    sim = Sim(config)
    sim.account("52500")  # peak 52 500 → floor 50 500, frozen at the start: 50 000
    restart(sim, config)
    sim.now += timedelta(minutes=5)
    assert snapshot(sim, "50500") == []  # before: floor recomputed as 48 500 from 50 500
    out = sim.account("49900")
    assert ("lock", "trailing_drawdown") in kinds(out)
    assert "floor 50000.00" in next(a for a in out if isinstance(a, LockAccount)).reason


def test_rule_016_intraday_peak_holds_across_a_restart() -> None:
    config = rules(trailing_drawdown={"max_drawdown": 2000, "mode": "intraday"})
    sim = Sim(config)  # first balance 50 000: the peak starts there
    sim.account("51000")  # floor 49 000
    restart(sim, config)
    assert snapshot(sim, "49500") == []
    assert ("lock", "trailing_drawdown") in kinds(sim.account("48950"))


def test_rule_016_end_of_day_ignores_intraday_balances_even_the_first() -> None:
    config = rules(trailing_drawdown={**DRAWDOWN, "mode": "end_of_day"})
    sim = Sim(config, balance="51000")  # case R016e: an intraday balance, not an EOD high
    assert sim.account("48900") == []  # floor 48 000 from the starting balance
    assert sim.engine.view(ACC, sim.now).drawdown is not None
    assert sim.engine.view(ACC, sim.now).drawdown.floor == Decimal(48000)  # type: ignore[union-attr]
    sim.account("49500")
    sim.advance(hours=3)  # past 17:00 CT: 49 500 stood at the reset
    sim.account("49500")
    view = sim.engine.view(ACC, sim.now).drawdown
    assert view is not None and view.peak == Decimal(50000) and view.floor == Decimal(48000)
    sim.account("50800")  # intraday: no raise
    sim.advance(hours=24)  # 50 800 at the next reset: peak 50 800, floor 48 800
    assert ("lock", "trailing_drawdown") in kinds(sim.account("48800"))


def test_reading_the_account_changes_no_memory() -> None:
    config = rules(
        trailing_drawdown={"max_drawdown": 2000, "mode": "end_of_day"},
        daily_realized_loss={"limit": 500, "warn_at": 0.5},
    )
    sim = Sim(config)
    sim.advance(hours=3)  # a reset rolled: 50 000 is an end-of-day balance
    sim.account("50500")
    before, version = sim.engine.memory(ACC), sim.engine.memory_version(ACC)
    for _ in range(50):
        view = sim.engine.view(ACC, sim.now)
    assert sim.engine.memory(ACC) == before
    assert sim.engine.memory_version(ACC) == version
    state = sim.engine._accounts[ACC]
    ctx = sim.engine._context(state, sim.now, None)
    rule = next(r for r in state.rules if r.key == "trailing_drawdown")
    assert [rule.measure(ctx) for _ in range(5)] == [rule.measure(ctx)] * 5
    assert sim.engine.memory(ACC) == before
    assert view.drawdown is not None and view.drawdown.start_source == "first_balance"


def test_each_account_keeps_its_own_first_balance() -> None:
    config = rules(trailing_drawdown={"max_drawdown": 2000, "mode": "intraday"})
    engine = Engine(config, CAL, DEFAULT_CATALOG)
    for account_id, balance in ((7, "50000"), (8, "150000")):
        account = Account(account_id, f"A{account_id}", Decimal(balance), True)
        engine.process(AccountEvent(T0, account), T0)
    floors = {a: engine.view(a, T0).drawdown.floor for a in (7, 8)}  # type: ignore[union-attr]
    assert floors == {7: Decimal(48000), 8: Decimal(148000)}
    out = engine.process(AccountEvent(T0, Account(8, "A8", Decimal("147990"), True)), T0)
    assert ("lock", "trailing_drawdown") in kinds(out)


def _stop_tags(actions: list[Any]) -> list[str]:
    return [a.custom_tag for a in actions if isinstance(a, PlaceOrder)]


def test_rule_012_tags_never_repeat_across_a_restart() -> None:
    config = rules(trade_management={"stop_loss_ticks": 20})
    sim = Sim(config)
    first = _stop_tags(sim.position(NQ, 1, "20000"))
    restart(sim, config)
    snapshot(sim, "50000", (long(NQ, 1, "20000"),))
    second = _stop_tags(sim.position(MNQ, 1, "20000"))
    assert len(first) == 1 and len(second) == 1
    assert first[0] != second[0]  # before: numbered from 1 again, refused by the gateway


def test_our_stop_found_after_a_restart_is_not_placed_again() -> None:
    config = rules(trade_management={"stop_loss_ticks": 20})
    sim = Sim(config)
    (tag,) = _stop_tags(sim.position(NQ, 1, "20000"))
    stop = Order(
        9001, ACC, NQ, OrderStatus.OPEN, OrderType.STOP, OrderSide.ASK, 1, T0, T0,
        stop_price=Decimal("19995"), custom_tag=tag,
    )  # fmt: skip
    restart(sim, config)
    account = Account(ACC, "TEST", Decimal(50000), True)
    out = sim.engine.process(
        SnapshotEvent(sim.now, account, (long(NQ, 1, "20000"),), (stop,)), sim.now
    )
    assert _stop_tags(out) == []
    assert sim.engine.view(ACC, sim.now).our_orders == frozenset({9001})


def test_a_traders_rm_tag_does_not_make_the_order_ours() -> None:
    config = rules(trade_management={"stop_loss_ticks": 20})
    sim = Sim(config)
    sim.order(NQ, side=1, type_=4, stop="19990", tag="rm-sl-7-1", order_id=4242)
    placed = _stop_tags(sim.position(NQ, 1, "20000"))
    assert len(placed) == 1  # the trader's "rm-" stop is not taken for ours
    assert 4242 not in sim.engine.view(ACC, sim.now).our_orders
    lock = Lock(ACC, "daily_realized_loss", LockKind.HARD, "test", sim.now, None)
    out = sim.engine.restore_locks([lock], sim.now)
    assert 4242 in [a.order_id for a in out if isinstance(a, CancelOrder)]


def test_restored_soft_lock_keeps_the_positions_held() -> None:
    config = rules(trade_frequency_limit={"per_minute": 1, "flatten": False})
    sim = Sim(config)
    sim.position(NQ, 2, "20000")
    sim.trade(NQ, price="20000")
    sim.trade(NQ, price="20000")  # the second fill in a minute: soft lock, 2 held
    assert ("lock", "trade_frequency_limit") in kinds(sim.actions)
    restart(sim, config)
    sim.now += timedelta(seconds=5)
    out = snapshot(sim, "50000", (long(NQ, 2, "20000"),))
    assert not [a for a in out if isinstance(a, ClosePosition)]  # before: reduced as an entry
    out = sim.position(NQ, 3, "20000")  # an entry after the restart is still reduced back
    closes = [a for a in out if isinstance(a, ClosePosition)]
    assert [(c.contract_id, c.size) for c in closes] == [(NQ, 1)]


def test_warn_once_per_day_across_a_restart() -> None:
    config = rules(daily_realized_loss={"limit": 500, "warn_at": 0.5})
    sim = Sim(config)
    warned = [a for a in sim.trade(NQ, pnl="-300") if isinstance(a, Alert)]
    assert len(warned) == 1
    restart(sim, config)
    out = sim.trade(NQ, pnl="-10")  # same day, still past the warning
    assert not [a for a in out if isinstance(a, Alert)]


def test_memory_is_read_only_to_rules() -> None:
    ctx = Context(
        now=T0, account_id=ACC, ledger=Engine(rules(), CAL, DEFAULT_CATALOG)._account(ACC).ledger,
        marks={}, catalog=DEFAULT_CATALOG, calendar=CAL, mark_mode="last", event=None,
        locked_rules=frozenset(),
    )  # fmt: skip
    try:
        ctx.memory.get("trailing_drawdown")["floor"] = "1"  # type: ignore[index]
    except TypeError:
        return
    raise AssertionError("a rule could write its memory without the engine")


def test_rule_012_skips_a_tag_the_trader_already_used() -> None:
    config = rules(trade_management={"stop_loss_ticks": 20, "take_profit_ticks": 40})
    sim = Sim(config)
    sim.order(NQ, side=1, type_=1, limit="30000", tag="rm-sl-7-1", order_id=4242)
    tags = _stop_tags(sim.position(NQ, 1, "20000"))
    assert "rm-sl-7-1" not in tags and len(set(tags)) == 2
    later = _stop_tags(sim.position(MNQ, 1, "20000"))
    assert not set(later) & {"rm-sl-7-1", *tags}


def test_only_rm_tags_are_kept_so_the_traders_tags_do_not_pile_up() -> None:
    """The ledger keeps the ``rm-`` tags it saw (the only ones looked up), not every tag of
    every order of the service's life."""
    sim = Sim(rules(trade_management={"stop_loss_ticks": 20}))
    for n in range(50):
        sim.order(NQ, side=0, type_=1, limit="19000", tag=f"scalp-{n}", status=3)
    sim.order(NQ, side=1, type_=1, limit="30000", tag="rm-sl-7-1", order_id=4242)
    seen = sim.engine._accounts[ACC].ledger.tags_seen
    assert seen == {"rm-sl-7-1"}


def test_the_day_roll_forgets_the_tags_no_lookup_can_ask_for() -> None:
    """Of the ``rm-`` tags seen, the day roll keeps those RULE-012 could still choose (above
    the account's tag count) and those of placements in flight: kept for the service's life,
    they grew by every stop we placed (the soak issue)."""
    sim = Sim(rules(trade_management={"stop_loss_ticks": 20}))
    state = sim.engine._accounts[ACC]
    state.memory.update(ENGINE_KEY, {"tags_placed": 10})
    for tag in ("rm-sl-7-3", "rm-tp-7-10", "rm-sl-7-11", "rm-typed"):
        sim.order(NQ, side=1, type_=1, limit="30000", tag=tag, status=3)
    assert state.ledger.tags_seen == {"rm-sl-7-3", "rm-tp-7-10", "rm-sl-7-11", "rm-typed"}
    sim.advance(hours=25)  # past the day's reset
    assert state.ledger.tags_seen == {"rm-sl-7-11"}  # the next tag tried is rm-…-11
    state.ledger.tags_seen.add("rm-sl-7-4")
    state.ledger.forget_tags({"rm-sl-7-4"}, 10)  # in flight: kept
    assert state.ledger.tags_seen == {"rm-sl-7-11", "rm-sl-7-4"}


@pytest.mark.parametrize("tag", ["rm-sl-7-\u2460", "rm-\u00b2", "rm-sl-7-" + "9" * 5000])
def test_a_traders_odd_rm_tag_never_breaks_the_day_roll(tag: str) -> None:
    """A trader's own ``rm-`` tag ending in what ``str.isdigit`` takes but ``int`` refuses
    ("①", "²", 4,300 digits and more) made the day roll raise (a review): the first event
    after the reset was lost, every day. It is read as no number, so dropped at the roll, and
    the event goes through."""
    sim = Sim(rules(trade_management={"stop_loss_ticks": 20}))
    state = sim.engine._accounts[ACC]
    sim.order(NQ, side=1, type_=1, limit="30000", tag=tag, status=3)
    assert tag in state.ledger.tags_seen
    sim.now += timedelta(hours=25)  # past the day's reset: the next event rolls the day
    sim.position(NQ, 1, "100")
    assert NQ in state.ledger.positions
    assert tag not in state.ledger.tags_seen


def test_unreadable_memory_is_refused_not_guessed() -> None:
    engine = Engine(rules(), CAL, DEFAULT_CATALOG)
    for bad in ({"trailing_drawdown": "48000"}, {"_engine": {"our_tags": "rm-sl-7-1"}}):
        try:
            engine.restore_memory(ACC, bad)  # type: ignore[arg-type]
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was restored")


def test_journalled_tags_count_when_the_memory_write_was_lost() -> None:
    """The daemon stopped after placing a stop but before storing the memory: the journal's
    tags (written before the order was sent) keep the stop ours and its tag unused."""
    config = rules(trade_management={"stop_loss_ticks": 20})
    sim = Sim(config)
    (tag,) = _stop_tags(sim.position(NQ, 1, "20000"))
    engine = Engine(config, CAL, DEFAULT_CATALOG)
    engine.restore_memory(ACC, {}, [tag])  # the stored memory predates the stop
    sim.engine = engine
    stop = Order(
        9001, ACC, NQ, OrderStatus.OPEN, OrderType.STOP, OrderSide.ASK, 1, T0, T0,
        stop_price=Decimal("19995"), custom_tag=tag,
    )  # fmt: skip
    account = Account(ACC, "TEST", Decimal(50000), True)
    out = engine.process(SnapshotEvent(sim.now, account, (long(NQ, 1, "20000"),), (stop,)), sim.now)
    assert _stop_tags(out) == [] and engine.view(ACC, sim.now).our_orders == frozenset({9001})
    later = _stop_tags(sim.position(MNQ, 1, "20000"))
    assert len(later) == 1 and later[0] != tag


def test_a_new_store_numbers_tags_from_the_clock() -> None:
    """A store that knows no tag of the account (new, or lost) cannot say which numbers an
    earlier run used: tags number on from the clock's milliseconds instead of from 1."""
    config = rules(trade_management={"stop_loss_ticks": 20})
    sim = Sim(config)
    (old,) = _stop_tags(sim.position(NQ, 1, "20000"))
    engine = Engine(config, CAL, DEFAULT_CATALOG)
    engine.restore_memory(ACC, {}, (), sim.now)
    sim.engine = engine
    snapshot(sim, "50000", (long(NQ, 1, "20000"),))
    (new,) = _stop_tags(sim.position(MNQ, 1, "20000"))
    assert new != old and int(new.rsplit("-", 1)[1]) > sim.now.timestamp() * 1000
    kept = Engine(config, CAL, DEFAULT_CATALOG)  # a count that is known is kept
    kept.restore_memory(ACC, {"_engine": {"tags_placed": 7}}, (), sim.now)
    assert kept.memory(ACC)["_engine"]["tags_placed"] == 7


def test_end_of_day_reset_missed_while_down_still_raises_the_peak() -> None:
    """Down across a daily reset: the balance at that reset is the balance read at start
    less the day's realized net P&L read with it (before: the reset was lost, the peak
    stayed at 50 000 and the floor 1 000 too low)."""
    config = rules(trailing_drawdown={"max_drawdown": 2000, "mode": "end_of_day"})
    sim = Sim(config)  # peak 50 000, floor 48 000
    sim.account("51000")  # still 51 000 at the reset the daemon will not see
    restart(sim, config)
    sim.now += timedelta(days=1)  # restarted the next trading day, after a +300 fill
    account = Account(ACC, "TEST", Decimal(51290), True)
    fill = Trade(
        77, ACC, NQ, sim.now, Decimal(20000), OrderSide.ASK, 1, 1, Decimal(10), Decimal(0),
        Decimal(300), False,
    )  # fmt: skip
    sim.engine.process(SnapshotEvent(sim.now, account, (), (), (fill,)), sim.now)
    view = sim.engine.view(ACC, sim.now).drawdown
    assert view is not None and (view.peak, view.floor) == (Decimal(51000), Decimal(49000))
    assert ("lock", "trailing_drawdown") in kinds(sim.account("48990"))
