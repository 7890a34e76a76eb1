"""Reconciliation: the broker's REST view of accounts, one engine event per account.

Run at start and after every reconnect (events during a gap are lost, API doc §7.5, §12.5):
the account, open positions, working orders and the trading week's fills are read together and
handed to the engine as a ``SnapshotEvent``; fills are de-duplicated by trade id there, so a
fill seen both on the hub and in ``Trade/search`` counts once.

Accounts are read in batches: ``Account/search`` answers for every account at once, so a batch
of ``n`` accounts costs ``1 + 3 n`` requests (:func:`requests_for`) instead of ``4 n``. The
caller admits them together (``GatewayRateLimiter.admit``), so all of a batch's reads are sent
at the same moment and a snapshot never mixes reads taken a window apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from risk_manager.domain.errors import RetryLater
from risk_manager.domain.events import SnapshotEvent
from risk_manager.domain.models import Account, Order, Position, Trade
from risk_manager.types import Clock

READS_PER_ACCOUNT = 3  # Position/searchOpen, Order/searchOpen, Trade/search


class BrokerReads(Protocol):
    async def search_accounts(self, only_active: bool = True) -> list[Account]: ...
    async def search_open_positions(self, account_id: int) -> list[Position]: ...
    async def search_open_orders(self, account_id: int) -> list[Order]: ...
    async def search_trades(
        self, account_id: int, start: datetime, end: datetime | None = None
    ) -> list[Trade]: ...


Snapshots = dict[int, SnapshotEvent | Exception]


def requests_for(accounts: int) -> int:
    """REST requests a batch of ``accounts`` snapshots costs: one ``Account/search`` for all."""
    return 1 + READS_PER_ACCOUNT * accounts


async def snapshots(
    broker: BrokerReads,
    account_ids: Sequence[int],
    since: datetime,
    clock: Clock,
) -> Snapshots:
    """Each account's snapshot, or the exception its reads failed with (``RetryLater`` for an
    account the key no longer sees). One account's failed read fails that account only; a
    failed ``Account/search`` fails them all. Fills are read from ``since``."""

    async def book(account_id: int) -> tuple[list[Position], list[Order], list[Trade]]:
        positions, orders, trades = await asyncio.gather(
            broker.search_open_positions(account_id),
            broker.search_open_orders(account_id),
            broker.search_trades(account_id, since),
        )
        return positions, orders, trades

    found = await asyncio.gather(
        broker.search_accounts(only_active=False),
        *(book(a) for a in account_ids),
        return_exceptions=True,
    )
    for result in found:  # a cancellation is not an answer
        if isinstance(result, BaseException) and not isinstance(result, Exception):
            raise result
    accounts, books = found[0], found[1:]
    out: Snapshots = {}
    for account_id, read in zip(account_ids, books, strict=True):
        if isinstance(accounts, Exception):
            out[account_id] = accounts
            continue
        if isinstance(read, Exception):
            out[account_id] = read
            continue
        assert isinstance(accounts, list) and isinstance(read, tuple)
        account = next((a for a in accounts if a.id == account_id), None)
        if account is None:
            out[account_id] = RetryLater(f"account {account_id} is no longer visible to the key")
            continue
        positions, orders, trades = read
        out[account_id] = SnapshotEvent(
            at=clock(),
            account=account,
            positions=tuple(p for p in positions if p.size > 0),
            orders=tuple(o for o in orders if o.is_working),
            trades=tuple(trades),
        )
    return out
