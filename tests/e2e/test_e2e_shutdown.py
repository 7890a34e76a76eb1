"""The daemon stops promptly: a cancel that arrives together with a wake-up is not lost.

On Python 3.11 ``asyncio.wait_for`` returns the result instead of raising when the cancel and
the awaited item arrive in the same loop turn (gh-86296); a loop built on it then never ends
and ``Daemon.stop`` waits forever. Each case wakes a daemon task and cancels it in one turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from risk_manager.api.server import API_SHUTDOWN
from risk_manager.domain.events import ClockTick
from risk_manager.runtime.daemon import Daemon
from risk_manager.runtime.shutdown import DAEMON_PHASES, SERVICE_STOP_TIMEOUT

from .conftest import Guard
from .helpers import SimTrader, wait_for


def actor_waits(daemon: Daemon, account_id: int) -> bool:
    return bool(daemon.actors[account_id].queue._getters)  # type: ignore[attr-defined]


def wake_actor(daemon: Daemon, account_id: int) -> None:
    daemon.actors[account_id].offer(ClockTick(datetime.now(UTC)))


def read_side_waits(daemon: Daemon, account_id: int) -> bool:
    assert daemon.read_side is not None
    return bool(daemon.read_side._wake._waiters)


def wake_read_side(daemon: Daemon, account_id: int) -> None:
    daemon.read_side.mark(account_id)  # what an actor's change feed calls after each event


Probe = Callable[[Daemon, int], bool]
Wake = Callable[[Daemon, int], None]


@pytest.mark.parametrize(
    ("task_name", "waits", "wake"),
    [("actor-", actor_waits, wake_actor), ("read-side", read_side_waits, wake_read_side)],
)
async def test_a_cancel_racing_a_wake_up_stops_the_task(
    guard: Guard, trader: SimTrader, task_name: str, waits: Probe, wake: Wake
) -> None:
    daemon = await guard.start("  max_contracts: {enabled: true, limit: 5}")
    task = next(t for t in daemon.tasks if t.get_name().startswith(task_name))
    acct = trader.account_id

    async def waiting() -> bool:  # parked on its queue / wake-up event (asyncio internals)
        return waits(daemon, acct)

    await wait_for(waiting, f"{task_name} waiting for work", within=3.0)
    wake(daemon, acct)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=3.0)
    assert done, f"{task.get_name()} ignored its cancel"
    assert task.cancelled()


async def test_a_cancel_racing_a_hub_completion_stops_the_invoke(
    guard: Guard, trader: SimTrader
) -> None:
    daemon = await guard.start("  max_contracts: {enabled: true, limit: 5}")
    hub = daemon.session.user_hub
    assert hub is not None
    pending: dict[str, asyncio.Future[dict[str, object]]] = hub._pending
    call = asyncio.create_task(hub.invoke("SubscribeAccounts"))
    for _ in range(1000):  # loop turns, not time: the simulator answers within a few ms
        if pending:
            break
        await asyncio.sleep(0)
    future = next(iter(pending.values()))
    assert not future.done()
    future.set_result({"type": 3})  # the completion and the cancel in one loop turn
    call.cancel()
    done, _ = await asyncio.wait({call}, timeout=3.0)
    assert done and call.cancelled(), "invoke swallowed its cancel"


async def test_the_stop_runs_its_named_phases_within_their_bounds(
    guard: Guard, trader: SimTrader
) -> None:
    """The real daemon's stop: every phase ran, none overran its bound (runtime/shutdown.py),
    and together they leave the local API its time within the service stop timeout."""
    daemon = await guard.start("  max_contracts: {enabled: true, limit: 5}")
    await guard.stop()
    took = daemon.shutdown_took
    assert list(took) == [phase.name for phase in DAEMON_PHASES]
    for phase in DAEMON_PHASES:
        assert took[phase.name] <= phase.bound + 0.05, (phase, took)
    assert sum(took.values()) + API_SHUTDOWN <= SERVICE_STOP_TIMEOUT
