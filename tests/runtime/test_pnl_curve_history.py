"""The P&L curve survives a restart (issue 15 item 5): the daemon stores snapshots of the
accounts that changed, and a new read side rebuilds the day's curve from them before its first
live point, instead of starting empty."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from risk_manager.config.models import Config
from risk_manager.domain.enums import OrderSide
from risk_manager.domain.events import TradeEvent
from risk_manager.domain.models import Trade
from risk_manager.engine.engine import Engine
from risk_manager.engine.factory import calendar_for
from risk_manager.engine.view import AccountView
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.enforcer import Enforcer
from risk_manager.runtime.metrics import Metrics
from risk_manager.runtime.pnl_snapshots import PnlSnapshots
from risk_manager.runtime.slices import SLICE
from risk_manager.runtime.views import PnlCurve
from risk_manager.store import Store
from support.daemons import daemon_from_fakes
from support.loop import LoopIterations

ACCT = 11
T0 = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 10:00 CT, trading day 2026-03-10


def _actors(store: Store, clock: list[datetime]) -> dict[int, AccountActor]:
    config = Config.model_validate({})
    engine = Engine(config.rules_for(ACCT), calendar_for(config.trading_day), config.catalog())
    enforcer = Enforcer(None, store, lambda: clock[0])  # type: ignore[arg-type]
    actor = AccountActor(ACCT, engine, enforcer, store, lambda: clock[0], Metrics())
    return {ACCT: actor}


def _loss(at: datetime, trade_id: int, pnl: str) -> TradeEvent:
    trade = Trade(trade_id, ACCT, "CON.F.US.MNQ.H26", at, Decimal("21000"), OrderSide.ASK, 1,
                  trade_id, profit_and_loss=Decimal(pnl))  # fmt: skip
    return TradeEvent(at, trade)


async def test_snapshots_of_changed_accounts_rebuild_the_curve_after_a_restart(
    tmp_path: Path,
) -> None:
    clock = [T0]
    with Store.open(tmp_path / "rm.db") as store:
        actors = _actors(store, clock)
        taker = PnlSnapshots(actors, store, lambda: clock[0])
        engine = actors[ACCT].engine
        for n, pnl in enumerate(("-100", "-150", "-50"), 1):
            engine.process(_loss(clock[0], n, pnl), clock[0])
            taker.mark(ACCT)
            await taker.take()
            clock[0] += timedelta(minutes=5)
        await taker.take()  # nothing changed since: no new point
        assert taker.taken == 3

    # A restart: a new daemon over the same file, whose engine starts at 0 until it reconciles.
    with Store.open(tmp_path / "rm.db") as store:
        config = Config.model_validate({})
        daemon = daemon_from_fakes(config, store=store, clock=lambda: clock[0])
        daemon.actors.update(_actors(store, clock))
        daemon.health.guarding = True
        daemon.read_side.subscribe()
        await daemon.read_side.refresh()
        view = daemon.read_side.account(ACCT)
        assert view is not None
        curve = view["pnl_curve"]
        # the three stored points, then the live one (this engine has seen no fill: 0.00)
        assert [p["net"] for p in curve] == ["-100.00", "-250.00", "-300.00", "0.00"]
        assert curve[0]["at"] == "2026-03-10T15:00:00Z"

        clock[0] += timedelta(seconds=40)  # the next refresh reads only what is new: nothing
        daemon.read_side.mark(ACCT)
        await daemon.read_side.refresh()
        view = daemon.read_side.account(ACCT)
        assert view is not None and len(view["pnl_curve"]) == 5


def test_the_curve_ignores_a_point_older_than_its_last_and_keeps_one_per_step() -> None:
    curve = PnlCurve(every=30.0)
    day = "2026-03-10"
    curve.add(T0, Decimal(-10), day)
    curve.add(T0 + timedelta(seconds=10), Decimal(-20), day)  # same step: replaces
    curve.add(T0 + timedelta(seconds=5), Decimal(-99), day)  # older than the last: ignored
    curve.add(T0 + timedelta(seconds=31), None, day)  # unknown: no point
    curve.add(T0 + timedelta(seconds=40), Decimal(-30), day)
    assert [p["net"] for p in curve.points()] == ["-20.00", "-30.00"]
    curve.add(T0 + timedelta(days=1), Decimal(5), "2026-03-11")  # a new day starts over
    assert [p["net"] for p in curve.points()] == ["5.00"]


def test_a_full_curve_thins_its_older_half_and_keeps_the_whole_day() -> None:
    curve = PnlCurve(every=1.0, size=10)
    day = "2026-03-10"
    for i in range(25):
        curve.add(T0 + timedelta(seconds=i), Decimal(i), day)
    nets = [int(Decimal(p["net"])) for p in curve.points()]
    assert len(nets) <= 10 and nets[-1] == 24 and nets[0] == 0  # first and last kept
    assert nets == sorted(nets)


def test_the_curve_changes_revision_when_it_gains_a_point_not_within_a_step() -> None:
    """The dashboards are sent the curve again only when its revision changes (docs/API.md
    "Stream"): a new step, a thinning or a new day, never the step's latest value."""
    curve = PnlCurve(every=5.0, size=4)
    day = "2026-03-10"
    curve.add(T0, Decimal(1), day)
    first, points = curve.revision, curve.points()
    curve.add(T0 + timedelta(seconds=2), Decimal(2), day)  # same step
    assert curve.revision == first and curve.points() is points  # nothing rebuilt either
    revisions = {first}
    for i in range(1, 8):  # new steps, thinning the full curve on the way
        curve.add(T0 + timedelta(seconds=5 * i), Decimal(i), day)
        assert curve.revision not in revisions
        revisions.add(curve.revision)
    assert len(curve.points()) <= 4 and curve.points()[-1]["net"] == "7.00"
    before = curve.revision
    curve.add(T0 + timedelta(days=1), Decimal(0), "2026-03-11")
    assert curve.revision != before and [p["net"] for p in curve.points()] == ["0.00"]


def test_a_days_curve_is_what_a_chart_draws() -> None:
    """A day of 5-second points (17,280) is kept to a few hundred (docs/API.md), the first
    and the latest among them."""
    curve = PnlCurve()
    day = "2026-03-10"
    for i in range(17_280):
        curve.add(T0 + timedelta(seconds=5 * i), Decimal(i), day)
    nets = [int(Decimal(p["net"])) for p in curve.points()]
    assert 250 <= len(nets) <= 500 and nets[0] == 0 and nets[-1] == 17_279


async def test_500_accounts_are_snapshotted_a_slice_per_loop_callback(tmp_path: Path) -> None:
    """A round reads at most ``SLICE`` accounts' views in one loop iteration (was all 500 in
    one callback, ~50 ms of the loop every round; PERFORMANCE.md "Capacity"), and a round
    cancelled between slices leaves the accounts it did not read marked for the next."""
    clock = [T0]
    ticks = LoopIterations()
    read: list[int] = []
    with Store.open(tmp_path / "rm.db") as store:
        one = _actors(store, clock)[ACCT]
        view = one.engine.view

        some = asyncio.Event()  # a hundred views read: the round is mid-way

        def counted(account_id: int, now: datetime) -> AccountView:
            read.append(ticks.n)
            if len(read) == 100:
                some.set()
            return view(ACCT, now)

        one.engine.view = counted  # type: ignore[method-assign]
        actors = dict.fromkeys(range(500), one)
        taker = PnlSnapshots(actors, store, lambda: clock[0])
        for acct in actors:
            taker.mark(acct)
        counter = asyncio.create_task(ticks.run())
        await asyncio.sleep(0)  # the counter runs: it counts from the round's first iteration
        round_ = asyncio.create_task(taker.take())
        await some.wait()
        round_.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await round_
        assert taker.taken == 0 and len(read) < 500
        read.clear()
        async with asyncio.timeout(10):  # a deadline, not a measure
            await taker.take()  # the stop's round: every account, none lost to the cancel
        counter.cancel()
        assert taker.taken == 500 and len(read) == 500
        per_iteration = Counter(read)
        assert max(per_iteration.values()) <= SLICE
        assert len(per_iteration) >= 500 // SLICE
