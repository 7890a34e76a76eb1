"""RULE-012's tags after a restart on a new store (the old one lost), end to end through the
simulator, which refuses a ``customTag`` used before on the account as the gateway does."""

from __future__ import annotations

from typing import Any

from .conftest import Guard
from .helpers import BUY, SELL, STOP, SimTrader, wait_for


async def test_rule_012_places_a_stop_after_a_restart_on_a_new_store(
    guard: Guard, trader: SimTrader
) -> None:
    rules = "  trade_management: {enabled: true, stop_loss_ticks: 8}"

    async def our_stop() -> dict[str, Any] | None:
        stops = [o for o in await trader.working_orders() if o["type"] == STOP]
        return stops[0] if len(stops) == 1 else None

    await guard.start(rules)
    await trader.open_position("MNQ", BUY, 1)
    first = await wait_for(our_stop, "our first stop working")
    await trader.market("MNQ", SELL, 1)
    await trader.wait_flat("MNQ")
    await trader.wait_cancelled(int(first["id"]))
    await guard.stop()

    guard.db = guard.db.with_name("new-store.sqlite")  # the old store is gone
    await guard.start(rules)
    await trader.open_position("MNQ", BUY, 1)
    second = await wait_for(our_stop, "a stop for the first position on the new store")
    assert second["customTag"] != first["customTag"]
