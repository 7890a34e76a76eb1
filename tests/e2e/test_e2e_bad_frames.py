"""A malformed hub frame never crashes the daemon nor costs a later breach its enforcement."""

from __future__ import annotations

import logging

import pytest

from .conftest import Guard
from .helpers import BUY, SimTrader


async def test_malformed_user_and_market_frames_are_skipped_and_guarding_goes_on(
    guard: Guard, trader: SimTrader, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    await guard.start("  max_contracts: {enabled: true, limit: 1}")
    hubs = guard.sim.hubs
    acct = trader.account_id
    # Wrong types and missing ids, exactly as a broken server could send them.
    await hubs.publish_user("GatewayUserOrder", acct, {"id": "not-a-number", "accountId": acct}, 1)
    await hubs.publish_user("GatewayUserPosition", acct, {"accountId": acct, "size": 3}, 1)
    await hubs.publish_user(
        "GatewayUserTrade", acct, {"id": 1, "accountId": acct, "price": True}, 0
    )
    await hubs.publish_quote(await trader.contract("MNQ"), {"lastPrice": "garbage"})
    await trader.market("MNQ", BUY, 3)  # a real breach right after
    await trader.wait_size("MNQ", 1)
    assert "malformed" in caplog.text
    assert all(not t.done() for t in guard.daemon._tasks)  # every long-running task alive
