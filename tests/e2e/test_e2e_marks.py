"""End to end, RULES.md §1 marks: a position is valued only with a price observed for it.

Over real sockets against the simulator: a price remembered from an earlier position never
values a new one (a false lock cost a trading day), and a position whose live quotes never come
is valued from the REST bar close so a loss breach is still enforced (it once went unenforced
4 times out of 4)."""

from __future__ import annotations

from .conftest import Guard
from .helpers import BUY, SELL, SimTrader, wait_for


async def test_re_entry_at_another_price_is_not_valued_at_the_old_one(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("""
  daily_net_loss: {enabled: true, limit: 400}
  daily_unrealized_loss: {enabled: true, limit: 300}
""")
    await guard.hold_and_move("MNQ", BUY, 1, "21000")
    await guard.wait_quoted("MNQ", "21000")
    await trader.market("MNQ", SELL, 1)
    await trader.wait_flat("MNQ")

    async def unsubscribed() -> bool:  # flat: the daemon stops following MNQ's quotes
        return not guard.actor.contracts()

    await wait_for(unsubscribed, "the daemon no longer following MNQ")
    await trader.set_price("MNQ", "21500")  # unseen by the daemon: the old mark says −$1,000
    await trader.open_position("MNQ", BUY, 1)
    await guard.wait_quoted("MNQ", "21500")  # its own quote values it at 0
    assert await trader.size("MNQ") == 1
    assert not guard.locks()
    journal = guard.daemon.store.journal(trader.account_id)
    assert not [e for e in journal if e.kind in ("close_position", "flatten", "lock")]


async def test_a_position_without_live_quotes_is_valued_from_the_rest_bar(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start("""
  stale_mark: 1s
  daily_unrealized_loss: {enabled: true, limit: 50}
""")
    await trader.fault("silence", hub="market", seconds=30)  # no quote reaches the daemon
    await trader.open_position("MNQ", BUY, 1)
    await trader.set_price("MNQ", "20900")  # about −$200: past the $50 limit
    await trader.wait_flat("MNQ", "the losing position closed on the REST price")
    cid = await trader.contract("MNQ")
    alerts = [
        e
        for e in guard.daemon.store.journal(trader.account_id)
        if e.rule == "stale_mark" and cid in str(e.intent)
    ]
    assert alerts, "the stale-mark alert was raised"
