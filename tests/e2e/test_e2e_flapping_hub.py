"""End to end: a user hub that flaps, is fed hostile frames, or is down never leaves a re-entry
under a lock open for long (docs/RUNTIME.md "Reconnects"). The daemon runs with its own
reconnect numbers here, not the fast ones of the other e2e tests.

Each re-entry is made just after the daemon read the broker's positions, the worst moment for
the periodic reconcile: its next read is then a whole interval away."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypedDict

import pytest

from risk_manager.domain.models import Position
from risk_manager.projectx.hub_connection import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    HEALTHY_AFTER,
    HOT_BACKOFF_CAP,
)
from risk_manager.runtime.daemon import Daemon
from risk_manager.runtime.sweep import DOWN_HOT_MIN, intervals

from .conftest import Guard
from .helpers import BUY, SimTrader, wait_for


class Backoff(TypedDict):
    backoff_base: float
    backoff_cap: float
    healthy_after: float


OWN_NUMBERS: Backoff = {
    "backoff_base": BACKOFF_BASE,
    "backoff_cap": BACKOFF_CAP,
    "healthy_after": HEALTHY_AFTER,
}
LOSS_LOCK = "  daily_realized_loss: {enabled: true, limit: 100}"
FLAPPING_BOUND = HOT_BACKOFF_CAP + 1.0  # the 7-12 s became about 3 s
DOWN_INTERVAL = intervals(1, 0, hot_min=DOWN_HOT_MIN)[0]  # one hot account: 2.25 s
GROWN = 6  # connect attempts before the re-entries: an uncapped backoff is at 8-16 s by then


class PositionReads:
    """Counts the daemon's ``Position/searchOpen`` calls (sweeps and reconciles alike)."""

    def __init__(self, daemon: Daemon) -> None:
        self.count = 0
        client = daemon.session.client
        read = client.search_open_positions

        async def counted(account_id: int) -> list[Position]:
            self.count += 1
            return await read(account_id)

        client.search_open_positions = counted  # type: ignore[method-assign]

    async def next(self) -> None:
        seen = self.count

        async def read() -> bool:
            return self.count > seen

        await wait_for(read, "the daemon reading the broker's positions")


async def _locked(guard: Guard, trader: SimTrader) -> Daemon:
    daemon = await guard.start(LOSS_LOCK, **OWN_NUMBERS)
    await trader.round_trip("MNQ", BUY, 2, "20950")  # about −$200 realized: locked for the day
    await guard.wait_lock("daily_realized_loss")
    return daemon


async def _re_entry_closed_within(trader: SimTrader, bound: float) -> float:
    started = time.monotonic()
    await trader.market("MNQ", BUY, 1)

    async def flat() -> bool:
        return not await trader.positions("MNQ")

    await wait_for(flat, f"the re-entry under the lock closed within {bound:.2f}s", within=bound)
    return time.monotonic() - started


@contextlib.asynccontextmanager
async def _flapping(daemon: Daemon, end: Callable[[], Awaitable[None]]) -> AsyncIterator[None]:
    """Ends every user-hub connection the moment it is up, until the block exits."""
    hub = daemon.session.user_hub
    assert hub is not None

    async def ended() -> bool:
        return not hub.connected.is_set()

    async def flap() -> None:
        while True:
            await hub.connected.wait()
            await end()
            await wait_for(ended, "the user hub connection ended")

    task = asyncio.create_task(flap(), name="e2e-flapper")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _re_entries_while(
    daemon: Daemon, trader: SimTrader, end: Callable[[], Awaitable[None]]
) -> None:
    hub = daemon.session.user_hub
    assert hub is not None
    reads = PositionReads(daemon)
    async with _flapping(daemon, end):

        async def grown() -> bool:
            return hub.attempts >= GROWN

        await wait_for(grown, f"{GROWN} user-hub connect attempts", within=30)
        for _ in range(2):
            await reads.next()
            await _re_entry_closed_within(trader, FLAPPING_BOUND)
        assert hub.failures >= GROWN - 1  # every connection ended at once: none was healthy


async def test_a_re_entry_under_a_lock_is_closed_within_3s_while_the_user_hub_flaps(
    guard: Guard, trader: SimTrader
) -> None:
    daemon = await _locked(guard, trader)
    await _re_entries_while(daemon, trader, lambda: trader.fault("drop_connections"))


async def test_a_re_entry_is_closed_within_3s_while_hostile_frames_end_the_user_hub(
    guard: Guard, trader: SimTrader, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="risk_manager.projectx.hub_connection")
    daemon = await _locked(guard, trader)

    async def garbage() -> None:  # not a SignalR record: the client drops the connection
        await trader.fault("raw_text", hub="user", text="<html>502 Bad Gateway</html>\x1e")

    await _re_entries_while(daemon, trader, garbage)
    assert caplog.text.count("protocol error: hub record is not JSON") >= GROWN - 1


async def test_a_re_entry_under_a_lock_is_closed_by_rest_while_the_user_hub_is_down(
    guard: Guard, trader: SimTrader
) -> None:
    daemon = await _locked(guard, trader)
    hub = daemon.session.user_hub
    assert hub is not None
    reads = PositionReads(daemon)
    await trader.fault("hub_down", hub="user", seconds=10)  # refused: HTTP 503 on every upgrade
    down_at = time.monotonic()

    async def down() -> bool:
        return not hub.connected.is_set()

    await wait_for(down, "the user hub down")
    await reads.next()
    await _re_entry_closed_within(trader, DOWN_INTERVAL + 1.0)
    assert not hub.connected.is_set() and time.monotonic() - down_at < 10  # still down
    assert hub.connects == 1 and hub.attempts > 1  # it kept trying, refused every time
