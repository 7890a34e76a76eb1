"""Periodic reconciliation (runtime/sweep.py): budgeted intervals, and differences from the
ledger taken for missed events only after a confirming read; while the user hub is down, hot
accounts are swept as often as the budget allows and a difference counts at once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from risk_manager.domain.enums import PositionType
from risk_manager.domain.models import Account, Position
from risk_manager.projectx.rate_limit import Priority, current_priority
from risk_manager.runtime.slices import SLICE
from risk_manager.runtime.sweep import (
    DOWN_HOT_MIN,
    GATEWAY_BUDGET,
    SHARE,
    Ledgered,
    Sweeper,
    intervals,
)
from support.loop import LoopIterations
from support.polling import eventually

MNQ = "CON.F.US.MNQ.H26"


@pytest.mark.parametrize("hot_min", [5.0, DOWN_HOT_MIN], ids=["hub-up", "hub-down"])
@pytest.mark.parametrize("n", [1, 10, 50, 200])
def test_the_sweep_never_spends_more_than_its_share_of_the_rest_budget(
    n: int, hot_min: float
) -> None:
    for hot in (0, n // 2, n):
        hot_every, cold_every = intervals(hot, n - hot, hot_min=hot_min)
        per_minute = 60 / hot_every * (1 + hot) + 60 / cold_every * (n - hot)
        assert per_minute <= GATEWAY_BUDGET * SHARE + 1e-9


def test_documented_intervals() -> None:
    assert intervals(1, 0)[0] == 5.0
    assert round(intervals(10, 0)[0], 1) == 12.4
    assert round(intervals(50, 0)[0], 1) == 57.4
    assert [round(intervals(0, n)[1]) for n in (1, 10, 50)] == [5, 45, 225]
    down = [round(intervals(n, 0, hot_min=DOWN_HOT_MIN)[0], 2) for n in (1, 2, 10)]
    assert down == [2.25, 3.38, 12.38]


class Broker:
    def __init__(self) -> None:
        self.balance = Decimal(50000)
        self.positions: list[Position] = []
        self.reads = 0

    async def search_accounts(self, only_active: bool = True) -> list[Account]:
        return [Account(7, "A", self.balance, True)]

    async def search_open_positions(self, account_id: int) -> list[Position]:
        self.reads += 1
        return list(self.positions)

    async def search_open_orders(self, account_id: int) -> list[object]:
        return []

    async def search_trades(self, *args: object) -> list[object]:
        return []


def _sweeper(
    broker: Broker,
    belief: Ledgered,
    resynced: list[tuple[int, str]],
    reconnects: list[str],
    *,
    stream_up: Callable[[], bool] = lambda: True,
    sleeps: list[float] | None = None,
) -> Sweeper:
    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    return Sweeper(
        broker,  # type: ignore[arg-type]
        lambda: [7],
        lambda _i: belief,
        lambda i, why: resynced.append((i, why)),
        reconnects.append,
        lambda: datetime.now(UTC),
        stream_up=stream_up,
        sleep=sleep,
    )


async def _sweep(broker: Broker, belief: Ledgered) -> tuple[list[tuple[int, str]], list[str]]:
    resynced: list[tuple[int, str]] = []
    reconnects: list[str] = []

    async def no_sleep(_: float) -> None:
        return None

    sweeper = Sweeper(
        broker,  # type: ignore[arg-type]
        lambda: [7],
        lambda _i: belief,
        lambda i, why: resynced.append((i, why)),
        reconnects.append,
        lambda: datetime.now(UTC),
        sleep=no_sleep,
    )
    await sweeper.sweep(cold=True)
    return resynced, reconnects


async def test_a_position_the_stream_never_reported_is_missed_events() -> None:
    broker = Broker()
    broker.positions = [Position(1, 7, MNQ, PositionType.LONG, 2, Decimal(21000))]
    flat = Ledgered({}, Decimal(50000), True, hot=False)
    resynced, reconnects = await _sweep(broker, flat)
    assert resynced and resynced[0][0] == 7 and "positions" in resynced[0][1]
    assert reconnects and broker.reads == 2  # read, then confirmed


async def test_a_balance_move_alone_is_missed_events_and_calm_is_not() -> None:
    broker = Broker()
    broker.balance = Decimal(49500)  # a round trip the stream never sent
    belief = Ledgered({}, Decimal(50000), True, hot=False)
    resynced, _ = await _sweep(broker, belief)
    assert resynced and "balance" in resynced[0][1]
    broker.balance = Decimal(50000)
    assert await _sweep(broker, belief) == ([], [])


async def test_while_the_user_hub_is_down_a_difference_counts_at_once() -> None:
    broker = Broker()
    broker.positions = [Position(1, 7, MNQ, PositionType.LONG, 1, Decimal(21000))]
    locked = Ledgered({}, Decimal(50000), True, hot=True)  # a re-entry under a lock
    resynced: list[tuple[int, str]] = []
    reconnects: list[str] = []
    sleeps: list[float] = []
    down = _sweeper(broker, locked, resynced, reconnects, stream_up=lambda: False, sleeps=sleeps)
    await down.sweep(cold=False)
    assert resynced and "positions" in resynced[0][1]
    assert broker.reads == 1 and sleeps == []  # no confirming read: no stream to be behind
    assert reconnects == []  # a hub that is down reconnects by itself


async def test_the_next_sweep_comes_sooner_once_the_user_hub_is_down() -> None:
    broker = Broker()
    locked = Ledgered({}, Decimal(50000), True, hot=True)
    hub_up = [True]
    sweeper = _sweeper(broker, locked, [], [], stream_up=lambda: hub_up[0])
    assert sweeper._interval(5.0) == 5.0
    hub_up[0] = False  # asked again in every pause: no flag set once
    assert sweeper._interval(5.0) == 2.25
    flat = Ledgered({}, Decimal(50000), True, hot=False)
    cold = _sweeper(broker, flat, [], [], stream_up=lambda: False)
    assert cold._interval(5.0) == 5.0  # nothing at stake: the normal pace


async def test_the_run_loop_sweeps_at_the_down_pace_while_the_user_hub_is_down() -> None:
    broker = Broker()
    locked = Ledgered({}, Decimal(50000), True, hot=True)
    sweeper = _sweeper(broker, locked, [], [], stream_up=lambda: False)
    sweeper._sleep = asyncio.sleep  # real time: the second sweep comes 2.25 s after the first
    task = asyncio.create_task(sweeper.run())
    try:
        await eventually(lambda: sweeper.sweeps >= 2, within=2.25 + 1.0)
    finally:
        task.cancel()


async def test_the_sweep_reads_last_in_the_rest_budget() -> None:
    """After enforcement and after reconciliation: an account not guarded yet goes before
    one re-checked (at start the sweep re-read every account a batch had just read)."""
    classes: list[Priority] = []

    class Recording(Broker):
        async def search_accounts(self, only_active: bool = True) -> list[Account]:
            classes.append(current_priority())
            return await super().search_accounts(only_active)

    async def stop(_: float) -> None:
        raise asyncio.CancelledError  # after the first sweep

    belief = Ledgered({}, Decimal(50000), True, hot=True)
    sweeper = Sweeper(
        Recording(),  # type: ignore[arg-type]
        lambda: [7],
        lambda _i: belief,
        lambda i, why: None,
        lambda why: None,
        lambda: datetime.now(UTC),
        sleep=stop,
    )
    with pytest.raises(asyncio.CancelledError):
        await sweeper.run()
    assert classes == [Priority.SWEEP]
    assert current_priority() is Priority.DEFAULT  # the caller's own class is left alone


class _ManyAccounts(Broker):
    def __init__(self, ticks: LoopIterations, ids: list[int]) -> None:
        super().__init__()
        self.ticks = ticks
        self.ids = ids
        self.started: list[int] = []  # the loop iteration each read's first step ran in

    async def search_accounts(self, only_active: bool = True) -> list[Account]:
        return [Account(i, "A", self.balance, True) for i in self.ids]

    async def search_open_positions(self, account_id: int) -> list[Position]:
        self.started.append(self.ticks.n)
        return []


async def test_500_accounts_are_read_and_compared_a_slice_per_loop_callback() -> None:
    """The sweep's ledger reads, comparisons and position reads: at most ``SLICE`` accounts
    in one loop iteration (was all 500 in one callback, 24 ms; PERFORMANCE.md "Capacity")."""
    ticks = LoopIterations()
    ids = list(range(1, 501))
    broker = _ManyAccounts(ticks, ids)
    ledgered: list[int] = []
    calm = Ledgered({}, Decimal(50000), True, hot=True)

    def ledger(_i: int) -> Ledgered:
        ledgered.append(ticks.n)
        return calm

    resynced: list[tuple[int, str]] = []
    sweeper = Sweeper(
        broker,  # type: ignore[arg-type]
        lambda: ids,
        ledger,
        lambda i, why: resynced.append((i, why)),
        lambda _why: None,
        lambda: datetime.now(UTC),
    )
    counter = asyncio.create_task(ticks.run())
    await asyncio.sleep(0)  # the counter runs: it counts from the sweep's first iteration
    async with asyncio.timeout(10):  # a deadline, not a measure
        await sweeper.sweep(cold=True)
    counter.cancel()
    assert resynced == [] and sweeper.sweeps == 1  # every account compared, all calm
    assert len(ledgered) == len(broker.started) == 500
    for per_iteration in (Counter(ledgered), Counter(broker.started)):
        assert max(per_iteration.values()) <= SLICE
        assert len(per_iteration) >= 500 // SLICE
