"""Synthetic market depth: the ``GatewayDepth`` entries of a book around the best bid and ask
(API doc §7.3, §7.4; ``DomType`` §6).

The book is a pure function of a market: ``DEPTH_LEVELS`` bid levels one tick apart from the
best bid down and as many ask levels from the best ask up. A level's resting volume is fixed per
(seed, contract, side, price), so a level keeps its size while the market moves around it and
the same run always shows the same book. A new subscriber gets ``snapshot`` (Reset, every level,
the best bid and ask); every trade at a new price then sends ``updates``: the print, each level
that appeared, changed or went away (volume 0), the new best bid/ask and a new session
high/low. Applying the updates to the snapshot gives the new snapshot's book.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from risk_manager.domain.enums import DomType
from risk_manager.sim.records import SimMarket
from risk_manager.sim.wire import depth_entry, hub_time

DEPTH_LEVELS = 10  # per side
MAX_LEVEL_VOLUME = 50  # contracts resting at one level, at most

Entries = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class DepthBook:
    """The simulated book of one market at one moment: price → (ASK or BID, resting volume)."""

    levels: dict[Decimal, tuple[DomType, int]]  # read-only: shared through a cache
    best_bid: Decimal
    best_ask: Decimal
    high: Decimal
    low: Decimal


def level_volume(seed: int, contract_id: str, side: DomType, price: Decimal) -> int:
    """Resting contracts at one level, 1..``MAX_LEVEL_VOLUME``; crc32, not ``hash``, so it is
    the same in every process."""
    key = f"{seed}:{contract_id}:{int(side)}:{price.normalize():f}".encode()
    return 1 + zlib.crc32(key) % MAX_LEVEL_VOLUME


def book(market: SimMarket, seed: int) -> DepthBook:
    """The levels around ``market``'s best bid and ask. Asks start above the best bid even when
    a control call crossed the quote, so no price is on both sides."""
    first_ask = max(market.ask, market.bid + market.tick_size)
    levels = _levels(seed, market.contract_id, market.tick_size, market.bid, first_ask)
    return DepthBook(levels, market.bid, first_ask, market.high, market.low)


@lru_cache(maxsize=4096)  # a market keeps revisiting the same few quotes
def _levels(
    seed: int, contract_id: str, tick: Decimal, best_bid: Decimal, best_ask: Decimal
) -> dict[Decimal, tuple[DomType, int]]:
    # Shared between calls through the cache: nobody may change the dict it returns.
    levels: dict[Decimal, tuple[DomType, int]] = {}
    for side, start, step in ((DomType.BID, best_bid, -tick), (DomType.ASK, best_ask, tick)):
        for k in range(DEPTH_LEVELS):
            price = start + k * step
            if price > 0:
                levels[price] = (side, level_volume(seed, contract_id, side, price))
    return levels


def snapshot(market: SimMarket, seed: int) -> Entries:
    """Everything a new subscriber needs: Reset, bids best first, asks best first, then the
    BestBid and BestAsk markers."""
    now, stamp = book(market, seed), hub_time(market.updated)
    entries = [depth_entry(stamp, DomType.RESET, market.last, 0, 0)]
    for side in (DomType.BID, DomType.ASK):
        prices = [p for p, (s, _) in now.levels.items() if s is side]
        for price in sorted(prices, reverse=side is DomType.BID):
            volume = now.levels[price][1]
            entries.append(depth_entry(stamp, side, price, volume, volume))
    entries += _best(stamp, now, DomType.BEST_BID, DomType.BEST_ASK)
    return entries


def updates(before: DepthBook, market: SimMarket, seed: int, traded: int) -> Entries:
    """What changed since ``before`` now that ``market`` traded ``traded`` contracts at its
    last price: the print (Trade), levels gone (volume 0) or new/changed, NewBestBid /
    NewBestAsk when the best moved, High / Low when the session extreme did."""
    after, stamp = book(market, seed), hub_time(market.updated)
    entries = [depth_entry(stamp, DomType.TRADE, market.last, traded, traded)]
    for price in sorted(before.levels.keys() | after.levels.keys()):
        old_side, old_volume = before.levels.get(price, (None, 0))
        side, volume = after.levels.get(price, (None, 0))
        if (old_side, old_volume) == (side, volume):
            continue
        if old_side is not None and old_side is not side:
            # Gone from its old side first: clients keep one table per side.
            entries.append(depth_entry(stamp, old_side, price, 0, -old_volume))
            old_volume = 0
        if side is not None:
            entries.append(depth_entry(stamp, side, price, volume, volume - old_volume))
    new_bid, new_ask = _best(stamp, after, DomType.NEW_BEST_BID, DomType.NEW_BEST_ASK)
    if after.best_bid != before.best_bid:
        entries.append(new_bid)
    if after.best_ask != before.best_ask:
        entries.append(new_ask)
    if after.high > before.high:
        entries.append(depth_entry(stamp, DomType.HIGH, after.high, 0, 0))
    if after.low < before.low:
        entries.append(depth_entry(stamp, DomType.LOW, after.low, 0, 0))
    return entries


def _best(stamp: str, now: DepthBook, bid_kind: DomType, ask_kind: DomType) -> Entries:
    bid_volume = now.levels[now.best_bid][1] if now.best_bid in now.levels else 0
    ask_volume = now.levels[now.best_ask][1]
    return [
        depth_entry(stamp, bid_kind, now.best_bid, bid_volume, bid_volume),
        depth_entry(stamp, ask_kind, now.best_ask, ask_volume, ask_volume),
    ]
