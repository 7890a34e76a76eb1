"""The stop fits the service manager's timeout: the daemon's phases and the local API's own
shutdown add up to at most 10 s, and a phase that hangs is cut at its bound while the next
one still runs (a hanging webhook must not keep the store open)."""

from __future__ import annotations

import asyncio

import pytest

from risk_manager.api.server import API_SHUTDOWN
from risk_manager.runtime.shutdown import (
    DAEMON_PHASES,
    SERVICE_STOP_TIMEOUT,
    Phase,
    run_phases,
    total,
)


def test_the_phases_and_the_api_fit_the_service_stop_timeout() -> None:
    assert [p.name for p in DAEMON_PHASES] == [
        "intake",
        "enforcement",
        "alerts",
        "connections",
        "store",
    ]
    assert total(DAEMON_PHASES) + API_SHUTDOWN <= SERVICE_STOP_TIMEOUT


async def test_a_hanging_phase_is_cut_at_its_bound_and_the_next_one_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []

    async def hangs() -> None:
        ran.append("alerts")
        await asyncio.Event().wait()  # a webhook that never answers

    async def closes() -> None:
        ran.append("store")

    async def fails() -> None:
        ran.append("connections")
        raise OSError("connection reset")

    phases = [Phase("alerts", 0.05), Phase("connections", 0.05), Phase("store", 0.05)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    took = await asyncio.wait_for(
        run_phases(list(zip(phases, [hangs, fails, closes], strict=True))), 5
    )
    assert ran == ["alerts", "connections", "store"]
    assert loop.time() - started < total(phases) + 1.0  # deadline: cut, not waited out
    assert took["alerts"] >= 0.05
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("alerts cut after its 0.05 s bound" in e for e in errors), errors
    assert any("connections failed" in e for e in errors), errors
