"""Reconciles after user-hub connects (runtime/daemon.py ``_after_reconnect``): one at a time,
shared by the connects made while one runs, and back-to-back ones paced to the REST budget (a
user hub flapping while an account is hot reconnects every 2 s)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from risk_manager.config.models import Config
from risk_manager.domain.events import ConnectionEvent
from risk_manager.projectx.rate_limit import SlidingWindowLimiter
from risk_manager.runtime.daemon import RECONNECT_BURST, Daemon
from risk_manager.runtime.sweep import reconnect_gap
from support.polling import eventually


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def _daemon(time: FakeTime) -> tuple[Daemon, list[str], asyncio.Event, list[object]]:
    daemon = Daemon(Config.model_validate({}))
    offered: list[object] = []
    daemon.actors = {1: SimpleNamespace(offer=offered.append)}  # type: ignore[dict-item]
    gap = reconnect_gap(1)
    daemon._reconnect_pace = SlidingWindowLimiter(
        RECONNECT_BURST, RECONNECT_BURST * gap, monotonic=time.monotonic, sleep=time.sleep
    )
    runs: list[str] = []
    release = asyncio.Event()

    async def reconcile_all(only: list[int] | None = None) -> None:
        runs.append("reconcile")
        await release.wait()

    daemon.reconcile_all = reconcile_all  # type: ignore[method-assign]
    return daemon, runs, release, offered


async def test_connects_while_a_reconcile_runs_share_the_next_one() -> None:
    daemon, runs, release, offered = _daemon(FakeTime())
    daemon._hub_state("user", True)
    await eventually(lambda: len(runs) == 1)
    for _ in range(9):  # nine connects of a flapping hub while the first reconcile reads
        daemon._hub_state("user", True)
    release.set()
    assert daemon._after_connect is not None
    await asyncio.wait_for(daemon._after_connect, 5)
    assert len(runs) == 2  # not ten: the second covers the nine made during the first
    assert [type(e) for e in offered] == [ConnectionEvent, ConnectionEvent]  # after each


async def test_back_to_back_reconciles_wait_for_the_budget() -> None:
    time = FakeTime()
    daemon, runs, release, _ = _daemon(time)
    release.set()
    for expected in (1, 2, 3):
        daemon._hub_state("user", True)
        assert daemon._after_connect is not None
        await asyncio.wait_for(daemon._after_connect, 5)
        assert len(runs) == expected
    # Two at once (the first connect's and one drop's), the third one window later.
    assert time.slept == [RECONNECT_BURST * reconnect_gap(1)]
    assert round(reconnect_gap(1), 1) == 3.6 and round(reconnect_gap(10), 1) == 36.0
