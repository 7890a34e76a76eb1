"""Reconciliation: the broker's REST view of one account as a single engine event.

Run at start and after every reconnect (events during a gap are lost, API doc §7.5, §12.5):
the account, open positions, working orders and the trading day's fills are read together and
handed to the engine as a ``SnapshotEvent``; fills are de-duplicated by trade id there, so a
fill seen both on the hub and in ``Trade/search`` counts once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Protocol

from risk_manager.domain.errors import RetryLater
from risk_manager.domain.events import SnapshotEvent
from risk_manager.domain.models import Account, Order, Position, Trade
from risk_manager.types import Clock


class BrokerReads(Protocol):
    async def search_accounts(self, only_active: bool = True) -> list[Account]: ...
    async def search_open_positions(self, account_id: int) -> list[Position]: ...
    async def search_open_orders(self, account_id: int) -> list[Order]: ...
    async def search_trades(
        self, account_id: int, start: datetime, end: datetime | None = None
    ) -> list[Trade]: ...


async def snapshot(
    broker: BrokerReads, account_id: int, since: datetime, clock: Clock
) -> SnapshotEvent:
    accounts, positions, orders, trades = await asyncio.gather(
        broker.search_accounts(only_active=False),
        broker.search_open_positions(account_id),
        broker.search_open_orders(account_id),
        broker.search_trades(account_id, since),
    )
    account = next((a for a in accounts if a.id == account_id), None)
    if account is None:
        raise RetryLater(f"account {account_id} is no longer visible to the API key")
    return SnapshotEvent(
        at=clock(),
        account=account,
        positions=tuple(p for p in positions if p.size > 0),
        orders=tuple(o for o in orders if o.is_working),
        trades=tuple(trades),
    )
