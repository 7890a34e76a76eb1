"""The client and hubs against the real simulator (risk_manager.sim) on port 0."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest

from risk_manager.domain.enums import OrderSide, OrderType, PositionType
from risk_manager.domain.errors import AuthenticationFailed
from risk_manager.domain.events import PositionEvent, QuoteEvent, TradeEvent
from risk_manager.projectx.client import ProjectXClient
from risk_manager.projectx.hub_connection import HubMessage
from risk_manager.projectx.hubs import MarketHub, UserHub
from risk_manager.projectx.mapping import market_events, user_events
from risk_manager.sim.server import DEFAULT_API_KEY, DEFAULT_USERNAME, SimSettings, running_sim
from support.polling import eventually

MYM = "CON.F.US.MYM.M26"
FAST = {"backoff_base": 0.05, "backoff_cap": 0.2, "stale_after": 30.0}


def targets(messages: list[HubMessage]) -> list[str]:
    return [m.target for m in messages]


async def test_login_trade_and_hub_events_survive_a_dropped_connection() -> None:
    async with (
        running_sim(SimSettings(port=0)) as sim,
        ProjectXClient(sim.url, DEFAULT_USERNAME, DEFAULT_API_KEY) as px,
    ):
        (account,) = await px.search_accounts()
        user_url, market_url = sim.hub_urls
        user: list[HubMessage] = []
        market: list[HubMessage] = []
        async with (
            UserHub(user_url, px.tokens, user.append, **FAST) as user_hub,
            MarketHub(market_url, px.tokens, market.append, **FAST) as market_hub,
        ):
            await user_hub.subscribe_account(account.id)
            await asyncio.wait_for(user_hub.connected.wait(), 5)
            await eventually(lambda: user_hub.connects == 1)

            order_id = await px.place_order(account.id, MYM, OrderType.MARKET, OrderSide.BID, 2)
            assert order_id > 2**31
            await eventually(lambda: "GatewayUserPosition" in targets(user))
            events = [e for m in user for e in user_events(m.target, m.arguments, m.received_at)]
            fills = [e.trade for e in events if isinstance(e, TradeEvent)]
            assert fills and fills[0].order_id == order_id and fills[0].size == 2
            assert any(isinstance(e, PositionEvent) and e.position.size == 2 for e in events)

            (position,) = await px.search_open_positions(account.id)
            assert position.type is PositionType.LONG and position.contract_id == MYM
            await market_hub.set_contracts({position.contract_id})
            await asyncio.wait_for(market_hub.connected.wait(), 5)
            await eventually(lambda: len(market_hub.subscriptions) == 1)
            sim.exchange.set_price(MYM, position.average_price + 5)
            await eventually(lambda: "GatewayQuote" in targets(market))
            quotes = [
                e.quote for m in market if m.target == "GatewayQuote"
                for e in market_events(m.target, m.arguments, m.received_at)
                if isinstance(e, QuoteEvent)
            ]  # fmt: skip
            assert quotes[-1].last_price == position.average_price + 5

            await sim.hubs.drop_connections()
            await eventually(lambda: user_hub.connects == 2 and market_hub.connects == 2)
            user.clear()
            market.clear()
            await px.close_position(account.id, MYM)
            await eventually(lambda: "GatewayUserTrade" in targets(user))
            sim.exchange.set_price(MYM, position.average_price + Decimal(6))
            await eventually(lambda: "GatewayQuote" in targets(market))
        assert await px.search_open_positions(account.id) == []


async def test_expired_tokens_log_both_hubs_out_and_they_come_back_with_one_login(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        running_sim(SimSettings(port=0)) as sim,
        ProjectXClient(sim.url, DEFAULT_USERNAME, DEFAULT_API_KEY) as px,
    ):
        (account,) = await px.search_accounts()
        first = await px.token()
        async with (
            UserHub(sim.hub_urls[0], px.tokens, lambda m: None, **FAST) as hub,
            MarketHub(sim.hub_urls[1], px.tokens, lambda m: None, **FAST) as market,
        ):
            await hub.subscribe_account(account.id)
            await market.set_contracts({MYM})
            await asyncio.wait_for(hub.connected.wait(), 5)
            await asyncio.wait_for(market.connected.wait(), 5)
            sim.tokens.expire_all()
            # GatewayLogout on both hubs: each gives the old token up, one login serves both.
            await eventually(lambda: hub.connects == 2 and market.connects == 2)
            latest = await px.token()
            assert latest != first and px.tokens.logins == 2
            assert await px.search_open_orders(account.id) == []  # REST uses the new token
            await sim.hubs.drop_connections()
            await eventually(lambda: hub.connects == 3)  # reconnected with the new token
        ours = "\n".join(
            r.getMessage() for r in caplog.records if r.name.startswith("risk_manager.projectx")
        )
        assert ours  # the client did log (logins, reconnects)
        for token in (first, latest):
            assert token not in ours


async def test_bad_api_key_is_authentication_failed() -> None:
    async with (
        running_sim(SimSettings(port=0)) as sim,
        ProjectXClient(sim.url, "demo", "wrong-key") as px,
    ):
        with pytest.raises(AuthenticationFailed):
            await px.search_accounts()


async def test_ping_reads_the_simulators_json_pong() -> None:
    async with (
        running_sim(SimSettings(port=0)) as sim,
        ProjectXClient(sim.url, DEFAULT_USERNAME, DEFAULT_API_KEY) as px,
    ):
        assert await px.ping() == "pong"
