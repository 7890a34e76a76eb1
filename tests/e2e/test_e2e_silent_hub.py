"""End to end: a user hub that stays open, answers pings and delivers nothing (the simulator's
`silence` fault). Only the periodic reconciliation can see what happened meanwhile: a breach
inside the silence is enforced within the reconcile interval plus a little, and a re-entry under
the lock is closed too, while the hub still says nothing."""

from __future__ import annotations

import time

from risk_manager.domain.locks import Lock

from .conftest import Guard
from .helpers import BUY, SimTrader, wait_for

INTERVAL = 5.0  # seconds: one account, hot or cold (runtime/sweep.py)


async def test_a_breach_inside_a_silence_is_enforced_by_the_periodic_reconcile(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("  daily_realized_loss: {enabled: true, limit: 100}")
    await trader.fault("silence", hub="user", seconds=60)
    await trader.round_trip("MNQ", BUY, 2, "20950")  # about −$200 realized, never streamed
    breached = time.monotonic()
    lock = await wait_for(
        lambda: _lock(guard), "the lock from the REST reconcile", within=INTERVAL + 5
    )
    assert lock.rule == "daily_realized_loss"
    assert time.monotonic() - breached <= INTERVAL + 3  # interval + confirm + snapshot
    await trader.market("MNQ", BUY, 1)  # a re-entry, still unseen by the silent hub
    await trader.wait_flat("MNQ", "the re-entry closed by the next sweep")
    text = guard.daemon.metrics.render().decode()
    counted = [ln for ln in text.splitlines() if ln.startswith("risk_manager_missed_events_total")]
    assert counted and float(counted[0].split()[-1]) >= 1


async def _lock(guard: Guard) -> Lock | None:
    return next(iter(guard.locks()), None)


async def test_a_reconcile_that_keeps_failing_is_said_on_health_until_it_succeeds(
    guard: Guard, trader: SimTrader
) -> None:
    """A guard that cannot read the broker must not look healthy (RULES.md §5)."""
    await guard.start("  daily_realized_loss: {enabled: true, limit: 100}", serve_api=True)

    async def health() -> dict[str, object]:
        assert guard.api_url is not None
        async with trader.session.get(f"{guard.api_url}/health") as reply:
            body: dict[str, object] = await reply.json()
            return body

    async def ok() -> bool:
        return (await health())["status"] == "ok"

    await wait_for(ok, "health ok once guarding")
    await trader.fault("http_status", path="/api/Account/search", status=500, count=1_000_000)

    async def failing() -> dict[str, object] | None:
        body = await health()
        return body if "reconciliation failing since" in str(body["problem"]) else None

    body = await wait_for(failing, "health naming the failing reconcile", within=INTERVAL * 2 + 5)
    assert body["status"] == "degraded"
    guard.sim.faults.clear()
    await wait_for(ok, "health ok after a sweep succeeds", within=INTERVAL + 5)
    assert (await health())["problem"] is None
