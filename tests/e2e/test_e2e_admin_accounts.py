"""End to end, the admin's control of one account among two on the simulator (issue 13;
docs/RUNTIME.md "Control", "Reload"): a manual daily reset ends one account's day (its lock,
its day's P&L) and leaves the other as it was, across a restart too; an account added to the
config file is guarded live; one taken out is refused as needing a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest

from risk_manager.sim.server import SimServer, SimSettings, running_sim

from .conftest import Guard
from .helpers import BUY, SimTrader, config_text, wait_for

RULES = "  daily_realized_loss: {enabled: true, limit: 100}"


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    accounts = (("SIM-A", Decimal(50000)), ("SIM-B", Decimal(50000)))
    async with running_sim(SimSettings(port=0, accounts=accounts)) as server:
        yield server


@pytest.fixture
async def other(sim: SimServer, trader: SimTrader) -> AsyncIterator[SimTrader]:
    """A trader on the second account."""
    async with aiohttp.ClientSession() as session:
        second = SimTrader(session, sim.url)
        await second.login()
        found = await second.api("Account/search", {"onlyActiveAccounts": True})
        second.account_id = next(
            int(a["id"]) for a in found["accounts"] if int(a["id"]) != trader.account_id
        )
        yield second


def day_realized(guard: Guard, account_id: int) -> Decimal:
    view = guard.daemon.actors[account_id].engine.view(account_id, guard.clock())
    return view.day_realized


async def test_a_manual_reset_ends_one_accounts_day_and_leaves_the_other(
    guard: Guard, trader: SimTrader, other: SimTrader
) -> None:
    await guard.start(RULES, from_file=True)
    for who in (trader, other):
        await who.round_trip("MNQ", BUY, 2, "20950")
        await who.wait_flat("MNQ")
        await who.set_price("MNQ", "21000")  # back where the next trader starts
    a, b = trader.account_id, other.account_id

    async def both_locked() -> bool:
        locked = {k.account_id for k in guard.daemon.store.active_locks(guard.clock())}
        return locked == {a, b}

    await wait_for(both_locked, "both accounts locked for the day's loss")
    b_loss = day_realized(guard, b)
    assert day_realized(guard, a) < -100 and b_loss < -100

    result = await guard.daemon.control.reset_account(a, who="admin", reason="new session")
    assert result.effective_at <= guard.clock()
    assert [k["rule"] for k in result.after["locks_cleared"]] == ["daily_realized_loss"]

    async def a_reset() -> bool:
        return not guard.daemon.store.active_locks(guard.clock(), a) and (
            day_realized(guard, a) == 0
        )

    await wait_for(a_reset, "account A's lock ended and its day's P&L restarted")
    assert [k.rule for k in guard.daemon.store.active_locks(guard.clock(), b)] == [
        "daily_realized_loss"
    ]
    assert day_realized(guard, b) == b_loss

    # A restart re-reads the day's fills from the broker: A's before the reset stay out.
    await guard.stop()
    await guard.start(RULES, from_file=True)
    assert day_realized(guard, a) == 0
    assert not guard.daemon.store.active_locks(guard.clock(), a)
    assert day_realized(guard, b) == b_loss
    assert guard.daemon.actors[b].engine.view(b, guard.clock()).locked


def listed(*ids: int) -> str:
    entries = "".join(f"    - {{id: {i}}}\n" for i in ids)
    return f"accounts:\n  mode: listed\n  list:\n{entries}"


async def test_an_account_added_to_the_file_is_guarded_live_and_one_removed_is_refused(
    guard: Guard, trader: SimTrader, other: SimTrader
) -> None:
    a, b = trader.account_id, other.account_id
    await guard.start(RULES, from_file=True, extra=listed(a))
    assert set(guard.daemon.actors) == {a}

    text = config_text(guard.sim.url, guard.db, RULES, listed(a, b))
    guard.config_path.write_text(text, encoding="utf-8")
    result = await guard.daemon.control.reload(who="admin", reason="second account")
    assert result.ok and result.after["guarding_added"] == [b]
    assert guard.daemon.actors[b].reconciled  # snapshot in: guarded from now on

    await other.round_trip("MNQ", BUY, 2, "20950")

    async def b_locked() -> bool:
        return bool(guard.daemon.store.active_locks(guard.clock(), b))

    await wait_for(b_locked, "the added account locked for its day's loss")
    await other.wait_flat("MNQ", "the added account's enforcement")

    guard.config_path.write_text(
        config_text(guard.sim.url, guard.db, RULES, listed(b)), encoding="utf-8"
    )
    refused = await guard.daemon.control.reload(who="admin", reason="drop the first")
    assert not refused.ok
    assert refused.reasons == [f"accounts: no longer guarding {a}; this needs a restart"]
    assert set(guard.daemon.actors) == {a, b}
