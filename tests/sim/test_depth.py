"""Market depth (GatewayDepth): the synthetic book, its snapshot and updates, and their delivery
to a SubscribeContractMarketDepth subscriber over a real socket."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import aiohttp
from hypothesis import given
from hypothesis import strategies as st

from risk_manager.domain.enums import DomType
from risk_manager.sim.depth import DEPTH_LEVELS, MAX_LEVEL_VOLUME, book, snapshot, updates
from risk_manager.sim.exchange import Exchange
from risk_manager.sim.server import SimSettings, running_sim

from .conftest import START, Client, FakeClock

MNQ = "CON.F.US.MNQ.M26"
RS = "\x1e"
D = Decimal
FIELDS = {"timestamp", "type", "price", "volume", "currentVolume"}


class OrderBookClient:
    """Builds a book from depth entries the way project-x-py's orderbook does: one table per
    side; Bid/BestBid/NewBestBid set a bid level, Ask/BestAsk/NewBestAsk an ask level, volume
    0 removes it, Reset clears both, Trade/High/Low leave the book alone."""

    BIDS = frozenset({DomType.BID, DomType.BEST_BID, DomType.NEW_BEST_BID})
    ASKS = frozenset({DomType.ASK, DomType.BEST_ASK, DomType.NEW_BEST_ASK})

    def __init__(self) -> None:
        self.bids: dict[Decimal, int] = {}
        self.asks: dict[Decimal, int] = {}

    def apply(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            assert set(entry) == FIELDS, entry
            kind, price, volume = DomType(entry["type"]), D(str(entry["price"])), entry["volume"]
            if kind is DomType.RESET:
                self.bids.clear()
                self.asks.clear()
            side = self.bids if kind in self.BIDS else self.asks if kind in self.ASKS else None
            if side is not None:
                if volume:
                    side[price] = volume
                else:
                    side.pop(price, None)


def exchange() -> Exchange:
    return Exchange([("SIM-50K", D(50000))], clock=lambda: START)


def test_the_snapshot_is_a_reset_then_ten_levels_a_side_then_the_best_prices() -> None:
    ex = exchange()
    ex.set_price(MNQ, D(21000))  # bid 20999.75, ask 21000.25
    entries = ex.depth_snapshot(MNQ)
    assert entries is not None
    kinds = [e["type"] for e in entries]
    assert kinds == [6] + [2] * DEPTH_LEVELS + [1] * DEPTH_LEVELS + [4, 3]
    bids = [e["price"] for e in entries if e["type"] == 2]
    asks = [e["price"] for e in entries if e["type"] == 1]
    assert bids == [20999.75 - 0.25 * k for k in range(DEPTH_LEVELS)]
    assert asks == [21000.25 + 0.25 * k for k in range(DEPTH_LEVELS)]
    assert [(e["price"], e["type"]) for e in entries[-2:]] == [(20999.75, 4), (21000.25, 3)]
    assert all(1 <= e["volume"] <= MAX_LEVEL_VOLUME for e in entries[1:])
    assert all(set(e) == FIELDS for e in entries)
    assert entries[0]["timestamp"].endswith("+00:00") and len(entries[0]["timestamp"]) == 33
    assert ex.depth_snapshot("CON.F.US.NOPE.M26") is None


def test_level_volumes_are_seeded_and_stay_put_while_the_market_moves() -> None:
    ex = exchange()
    market = ex.markets.market(MNQ)
    first = book(market, seed=0)
    assert book(market, seed=0) == first
    assert book(market, seed=1).levels != first.levels
    ex.set_price(MNQ, market.last + D("0.25"))
    moved = book(market, seed=0)
    shared = first.levels.keys() & moved.levels.keys()
    assert shared and all(first.levels[p] == moved.levels[p] for p in shared if p < market.bid)


@given(st.lists(st.integers(-12, 12), min_size=1, max_size=25), st.integers(0, 3))
def test_updates_applied_to_the_snapshot_build_the_new_book(steps: list[int], seed: int) -> None:
    ex = Exchange([("A", D(1000))], clock=lambda: START, seed=seed)
    market = ex.markets.market(MNQ)
    client = OrderBookClient()
    client.apply(snapshot(market, seed))
    for step in steps:
        before = book(market, seed)
        ex.markets.move(MNQ, max(D(1), market.last + step * market.tick_size))
        client.apply(updates(before, market, seed, 1))
        fresh = OrderBookClient()
        fresh.apply(snapshot(market, seed))
        assert (client.bids, client.asks) == (fresh.bids, fresh.asks)
        assert max(client.bids) == market.bid and min(client.asks) == market.ask


def test_a_move_sends_the_print_the_changed_levels_and_the_new_best_prices() -> None:
    ex = exchange()
    market = ex.markets.market(MNQ)  # last 21000, bid 20999.75, ask 21000.25
    before = book(market, 0)
    ex.markets.move(MNQ, D("21000.5"))  # up 2 ticks: a new high
    entries = updates(before, market, 0, 3)
    assert (entries[0]["type"], entries[0]["price"], entries[0]["volume"]) == (5, 21000.5, 3)
    kinds = [e["type"] for e in entries]
    assert kinds.count(9) == 1 and kinds.count(10) == 1 and kinds[-1] == 8
    # 21000.25 was the best ask and is now a bid: removed from the asks first.
    at = [(e["type"], e["volume"]) for e in entries if e["price"] == 21000.25]
    assert at[0] == (1, 0) and at[1][0] == 2 and at[1][1] > 0


async def _records(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    """The next ``count`` records that are not pings (a frame may carry several)."""
    got: list[dict[str, Any]] = []
    while len(got) < count:
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        got += [r for r in (json.loads(p) for p in msg.data.split(RS) if p) if r["type"] != 6]
    assert len(got) == count, got
    return got


async def test_a_depth_subscriber_gets_the_book_then_every_move(clock: FakeClock) -> None:
    async with (
        running_sim(SimSettings(port=0, clock=clock)) as sim,
        aiohttp.ClientSession() as session,
    ):
        client = Client(sim, session)
        token = await client.login()
        async with session.ws_connect(f"{sim.hub_urls[1]}?access_token={token}") as ws:
            await ws.send_str('{"protocol":"json","version":1}' + RS)
            assert (await ws.receive(timeout=5)).data == "{}" + RS
            subscribe = {"type": 1, "invocationId": "1",
                         "target": "SubscribeContractMarketDepth", "arguments": [MNQ]}  # fmt: skip
            await ws.send_str(json.dumps(subscribe) + RS)
            completion, first = await _records(ws, 2)
            assert completion == {"type": 3, "invocationId": "1"}
            assert (first["target"], first["arguments"][0]) == ("GatewayDepth", MNQ)
            orders = OrderBookClient()
            orders.apply(first["arguments"][1])
            assert len(orders.bids) == len(orders.asks) == DEPTH_LEVELS
            price, rng = D(21000), random.Random(7)
            for _ in range(5):
                price += rng.randint(-3, 3) * D("0.25")
                await client.control("price", {"contractId": MNQ, "price": float(price)})
                (event,) = await _records(ws, 1)  # only depth is subscribed
                assert event["target"] == "GatewayDepth" and event["arguments"][0] == MNQ
                entries = event["arguments"][1]
                assert entries[0]["type"] == 5 and D(str(entries[0]["price"])) == price
                orders.apply(entries)
                assert max(orders.bids) == price - D("0.25")
                assert min(orders.asks) == price + D("0.25")
                assert len(orders.bids) == len(orders.asks) == DEPTH_LEVELS
            unsubscribe = {**subscribe, "invocationId": "2",
                           "target": "UnsubscribeContractMarketDepth"}  # fmt: skip
            await ws.send_str(json.dumps(unsubscribe) + RS)
            assert await _records(ws, 1) == [{"type": 3, "invocationId": "2"}]
            await client.control("price", {"contractId": MNQ, "price": float(price + 1)})
            await sim.drained()
            await client.control("fault", {"kind": "drop_connections"})
            (close,) = await _records(ws, 1)  # no depth came after the unsubscribe
            assert close["type"] == 7
