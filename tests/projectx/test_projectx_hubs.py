"""UserHub / MarketHub against a minimal SignalR JSON-protocol server."""

from __future__ import annotations

import asyncio
import logging

import pytest

from projectx.px_fakes import FakeHubServer, FakeTokens
from risk_manager.domain.errors import RetryLater
from risk_manager.projectx.hub_connection import HubMessage, hub_url
from risk_manager.projectx.hubs import MarketHub, UserHub
from support.polling import eventually

FAST = {"backoff_base": 0.02, "backoff_cap": 0.1, "invoke_timeout": 2.0}

ACCOUNT_SUBS = [
    ("SubscribeAccounts", []),
    ("SubscribeOrders", [11]),
    ("SubscribePositions", [11]),
    ("SubscribeTrades", [11]),
    ("SubscribeOrders", [22]),
    ("SubscribePositions", [22]),
    ("SubscribeTrades", [22]),
]


def test_hub_url_carries_the_token_in_the_query() -> None:
    url = hub_url("https://rtc.topstepx.com/hubs/user", "abc")
    assert str(url) == "wss://rtc.topstepx.com/hubs/user?access_token=abc"


async def test_user_hub_subscribes_every_account_and_delivers_all_four_events(
    hub_server: FakeHubServer,
) -> None:
    received: list[HubMessage] = []
    connected: list[str] = []
    tokens = FakeTokens()
    async with UserHub(
        hub_server.hub_url("user"),
        tokens,
        received.append,
        on_connected=lambda: connected.append("up"),
        stale_after=30,
        **FAST,
    ) as hub:
        await hub.subscribe_account(11)
        await hub.subscribe_account(22)
        await asyncio.wait_for(hub.connected.wait(), 5)
        await eventually(lambda: len(hub_server.calls("user")) == 7)
        assert hub_server.calls("user") == ACCOUNT_SUBS
        for target in (
            "GatewayUserAccount",
            "GatewayUserOrder",
            "GatewayUserPosition",
            "GatewayUserTrade",
        ):
            await hub_server.send("user", target, [{"action": 1, "data": {"id": 1}}])
        await eventually(lambda: len(received) == 4)
    assert [m.target for m in received] == [
        "GatewayUserAccount",
        "GatewayUserOrder",
        "GatewayUserPosition",
        "GatewayUserTrade",
    ]
    assert received[0].arguments == [{"action": 1, "data": {"id": 1}}]
    assert received[0].received_at.tzinfo is not None
    assert connected == ["up"]
    assert hub_server.tokens_seen == [("user", "hub.token.0")]


async def test_dropped_connection_reconnects_with_a_fresh_token_and_resubscribes(
    hub_server: FakeHubServer,
) -> None:
    events: list[str] = []
    tokens = FakeTokens()
    async with UserHub(
        hub_server.hub_url("user"),
        tokens,
        lambda m: None,
        on_connected=lambda: events.append("up"),
        on_disconnected=lambda hub: events.append(f"down:{hub}"),
        stale_after=30,
        **FAST,
    ) as hub:
        await hub.subscribe_account(11)
        await hub.subscribe_account(22)
        await eventually(lambda: len(hub_server.calls("user", 0)) == 7)
        tokens.rotate()  # the token manager refreshed meanwhile
        await hub_server.drop("user")
        await eventually(lambda: len(hub_server.calls("user", 1)) == 7)
        assert hub_server.calls("user", 1) == ACCOUNT_SUBS
        await eventually(lambda: events == ["up", "down:user", "up"])
        assert hub.connects == 2
    assert hub_server.tokens_seen == [("user", "hub.token.0"), ("user", "hub.token.1")]


async def test_401_at_connect_invalidates_the_token_then_connects(
    hub_server: FakeHubServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = FakeTokens()
    hub_server.accept = lambda token: token != "hub.token.0"
    async with UserHub(hub_server.hub_url("user"), tokens, lambda m: None, **FAST) as hub:
        await asyncio.wait_for(hub.connected.wait(), 5)
    assert tokens.invalidated == ["hub.token.0"]
    assert [t for _, t in hub_server.tokens_seen] == ["hub.token.0", "hub.token.1"]
    assert "hub.token" not in caplog.text
    assert "HTTP 401" in caplog.text


async def test_a_failed_login_after_a_401_is_retried_not_fatal(
    hub_server: FakeHubServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The re-login a 401 triggers can fail (gateway down): the supervisor must go on."""

    class FailingOnce(FakeTokens):
        async def invalidate(self, rejected: str) -> str:
            if not self.invalidated:
                self.invalidated.append(rejected)
                raise RetryLater("Auth/loginKey: HTTP 503")
            return await super().invalidate(rejected)

    tokens = FailingOnce()
    hub_server.accept = lambda token: token != "hub.token.0"
    async with UserHub(hub_server.hub_url("user"), tokens, lambda m: None, **FAST) as hub:
        await asyncio.wait_for(hub.connected.wait(), 5)
    assert tokens.invalidated == ["hub.token.0", "hub.token.0"]
    assert "hub.token" not in caplog.text


@pytest.mark.parametrize("hub", ["user", "market"])
async def test_gateway_logout_gives_up_the_token_and_reconnects_with_a_new_one(
    hub_server: FakeHubServer, caplog: pytest.LogCaptureFixture, hub: str
) -> None:
    """The gateway ends the session with GatewayLogout and may keep the socket open: the hub
    leaves it, logs in again (the token it connected with is given up) and resubscribes."""
    caplog.set_level(logging.DEBUG)
    received: list[HubMessage] = []
    events: list[str] = []
    tokens = FakeTokens()
    kind = UserHub if hub == "user" else MarketHub
    async with kind(
        hub_server.hub_url(hub),
        tokens,
        received.append,
        on_disconnected=lambda name: events.append(f"down:{name}"),
        stale_after=30,
        **FAST,
    ) as conn:
        await conn.subscribe("SubscribeAccounts" if hub == "user" else "SubscribeContractQuotes")
        await asyncio.wait_for(conn.connected.wait(), 5)
        await hub_server.send(hub, "GatewayLogout", [])
        await eventually(lambda: conn.connects == 2)
        await eventually(lambda: len(hub_server.calls(hub, 1)) == 1)  # resubscribed
        assert events == [f"down:{hub}"]
    assert tokens.invalidated == ["hub.token.0"]
    assert [t for _, t in hub_server.tokens_seen] == ["hub.token.0", "hub.token.1"]
    assert "GatewayLogout" not in [m.target for m in received]  # not an event for the sink
    warned = [r for r in caplog.records if "logged this session out" in r.getMessage()]
    assert [r.levelno for r in warned] == [logging.WARNING]
    assert not any(r.exc_info for r in caplog.records)
    assert "hub.token" not in caplog.text


async def test_a_failed_login_after_gateway_logout_is_retried_not_fatal(
    hub_server: FakeHubServer, caplog: pytest.LogCaptureFixture
) -> None:
    class FailingOnce(FakeTokens):
        async def invalidate(self, rejected: str) -> str:
            if not self.invalidated:
                self.invalidated.append(rejected)
                raise RetryLater("Auth/loginKey: HTTP 503")
            return await super().invalidate(rejected)

    tokens = FailingOnce()
    hub_server.accept = lambda token: token != "hub.token.0" or not tokens.invalidated
    async with UserHub(hub_server.hub_url("user"), tokens, lambda m: None, **FAST) as hub:
        await asyncio.wait_for(hub.connected.wait(), 5)
        await hub_server.send("user", "GatewayLogout", [])
        await eventually(lambda: hub.connects == 2)
    # The failed login left the old token; its 401 made the next attempt log in.
    assert tokens.invalidated == ["hub.token.0", "hub.token.0"]
    assert "login failed: RetryLater" in caplog.text
    assert not any(r.exc_info for r in caplog.records)


async def test_silent_connection_is_rebuilt_by_the_watchdog(hub_server: FakeHubServer) -> None:
    tokens = FakeTokens()
    async with UserHub(
        hub_server.hub_url("user"), tokens, lambda m: None, stale_after=0.3, **FAST
    ) as hub:
        await hub.subscribe_account(5)
        await eventually(lambda: hub_server.connections("user") >= 2)
        await eventually(lambda: len(hub_server.calls("user", 1)) == 4)


async def test_pings_keep_a_quiet_connection_alive(hub_server: FakeHubServer) -> None:
    hub_server.ping_every = 0.05
    async with UserHub(
        hub_server.hub_url("user"), FakeTokens(), lambda m: None, stale_after=0.8, **FAST
    ) as hub:
        await asyncio.wait_for(hub.connected.wait(), 5)
        started = asyncio.get_running_loop().time()
        await eventually(lambda: asyncio.get_running_loop().time() - started > 1.6)
        assert hub_server.connections("user") == 1


async def test_market_hub_follows_the_open_position_contracts(hub_server: FakeHubServer) -> None:
    quotes: list[HubMessage] = []
    async with MarketHub(
        hub_server.hub_url("market"), FakeTokens(), quotes.append, stale_after=30, **FAST
    ) as hub:
        await asyncio.wait_for(hub.connected.wait(), 5)
        await hub.set_contracts({"CON.F.US.MNQ.Z25", "CON.F.US.EP.Z25"})
        await hub.set_contracts({"CON.F.US.MNQ.Z25", "CON.F.US.GCE.G26"})
        assert hub_server.calls("market", 0) == [
            ("SubscribeContractQuotes", ["CON.F.US.EP.Z25"]),
            ("SubscribeContractQuotes", ["CON.F.US.MNQ.Z25"]),
            ("UnsubscribeContractQuotes", ["CON.F.US.EP.Z25"]),
            ("SubscribeContractQuotes", ["CON.F.US.GCE.G26"]),
        ]
        await hub_server.send("market", "GatewayQuote", ["CON.F.US.MNQ.Z25", {"lastPrice": 1.5}])
        await eventually(lambda: len(quotes) == 1)
        await hub_server.drop("market")
        await eventually(lambda: len(hub_server.calls("market", 1)) == 2)
        assert sorted(hub_server.calls("market", 1)) == [
            ("SubscribeContractQuotes", ["CON.F.US.GCE.G26"]),
            ("SubscribeContractQuotes", ["CON.F.US.MNQ.Z25"]),
        ]
        await hub.set_contracts(set())
        await eventually(lambda: len(hub_server.calls("market", 1)) == 4)
    assert quotes[0].arguments[1]["lastPrice"] == 1.5


async def test_an_unsubscribe_while_a_reconnect_replays_is_sent_on_the_new_connection(
    hub_server: FakeHubServer,
) -> None:
    """A contract dropped after the new connection re-subscribed it, before the replay is
    over, is unsubscribed there: the connection is left subscribed to nothing (one used to
    stay subscribed until the next reconnect)."""
    async with MarketHub(
        hub_server.hub_url("market"), FakeTokens(), lambda m: None, stale_after=30, **FAST
    ) as hub:
        await asyncio.wait_for(hub.connected.wait(), 5)
        await hub.set_contracts({"CON.F.US.EP.Z25", "CON.F.US.MNQ.Z25"})
        hub_server.reply_delay = 0.3  # the replay's first completion keeps the window open
        await hub_server.drop("market")
        await eventually(lambda: len(hub_server.calls("market", 1)) == 1)
        assert not hub.connected.is_set()  # still replaying
        await hub.set_contracts(set())
        await eventually(lambda: hub.connected.is_set())
        net: set[str] = set()  # what the new connection is left subscribed to
        for target, (contract,) in hub_server.calls("market", 1):
            if target == "SubscribeContractQuotes":
                net.add(contract)
            else:
                net.discard(contract)
        assert not net, hub_server.calls("market", 1)


async def test_market_hub_resubscribes_then_reconnects_a_silent_quote_stream(
    hub_server: FakeHubServer,
) -> None:
    hub_server.ping_every = 0.05  # the socket is alive; only the quote stream is silent
    async with MarketHub(
        hub_server.hub_url("market"), FakeTokens(), lambda m: None, stale_after=0.3, **FAST
    ) as hub:
        await asyncio.wait_for(hub.connected.wait(), 5)
        await hub.set_contracts({"CON.F.US.MNQ.Z25"})
        sub = ("SubscribeContractQuotes", ["CON.F.US.MNQ.Z25"])
        await eventually(lambda: hub_server.calls("market", 0).count(sub) == 2)  # re-subscribed
        await eventually(lambda: hub_server.connections("market") == 2, within=5)  # then rebuilt
        await eventually(lambda: sub in hub_server.calls("market", 1))


async def test_quotes_keep_the_market_watchdog_quiet(hub_server: FakeHubServer) -> None:
    hub_server.ping_every = 0.05
    async with MarketHub(
        hub_server.hub_url("market"), FakeTokens(), lambda m: None, stale_after=0.8, **FAST
    ) as hub:
        await asyncio.wait_for(hub.connected.wait(), 5)
        await hub.set_contracts({"C1"})
        loop = asyncio.get_running_loop()
        started = loop.time()
        while loop.time() - started < 1.6:
            await hub_server.send("market", "GatewayQuote", ["C1", {"lastPrice": 1}])
            await asyncio.sleep(0.05)
        assert hub_server.calls("market") == [("SubscribeContractQuotes", ["C1"])]
        assert hub_server.connections("market") == 1


async def test_refused_subscription_is_logged_not_fatal(
    hub_server: FakeHubServer, caplog: pytest.LogCaptureFixture
) -> None:
    hub_server.fail_targets = {"SubscribeOrders"}
    async with UserHub(
        hub_server.hub_url("user"), FakeTokens(), lambda m: None, stale_after=30, **FAST
    ) as hub:
        await asyncio.wait_for(hub.connected.wait(), 5)
        await hub.subscribe_account(9)
        assert hub.connected.is_set()
    assert "SubscribeOrders" in caplog.text and "refused" in caplog.text


async def test_exit_cancels_every_hub_task(hub_server: FakeHubServer) -> None:
    async with UserHub(hub_server.hub_url("user"), FakeTokens(), lambda m: None, **FAST) as hub:
        await asyncio.wait_for(hub.connected.wait(), 5)
        names = {t.get_name() for t in asyncio.all_tasks()}
        assert {"hub-user", "hub-user-reader", "hub-user-watchdog"} <= names
        assert not any("token" in name for name in names)
    await asyncio.sleep(0)
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("hub-")]


async def test_unreachable_server_keeps_retrying_with_backoff() -> None:
    tokens = FakeTokens()
    async with UserHub("http://127.0.0.1:9/hubs/user", tokens, lambda m: None, **FAST) as hub:
        await eventually(lambda: hub.attempts >= 3)
        assert not hub.connected.is_set()
        assert hub._supervisor is not None and not hub._supervisor.done()


async def test_full_event_queue_forces_a_reconnect(hub_server: FakeHubServer) -> None:
    queue: asyncio.Queue[HubMessage] = asyncio.Queue(maxsize=1)
    async with UserHub(
        hub_server.hub_url("user"), FakeTokens(), queue.put_nowait, stale_after=30, **FAST
    ) as hub:
        await asyncio.wait_for(hub.connected.wait(), 5)
        await hub_server.send("user", "GatewayUserOrder", [{"action": 1, "data": {}}])
        await hub_server.send("user", "GatewayUserTrade", [{"action": 0, "data": {}}])
        await eventually(lambda: hub.connects == 2)
    assert queue.get_nowait().target == "GatewayUserOrder"


async def test_a_record_split_across_frames_is_read_whole_without_a_reconnect(
    hub_server: FakeHubServer,
) -> None:
    """The protocol frames records, not WebSocket messages (API doc §9): a record may end in a
    later frame, the handshake reply too. Before the shared framing the client took the first
    half for a record that is not JSON and dropped the connection."""
    hub_server.handshake_frames = ("{", '}\x1e{"type":1,"target":"GatewayUserAccount","argu')
    received: list[HubMessage] = []
    async with UserHub(
        hub_server.hub_url("user"), FakeTokens(), received.append, stale_after=30, **FAST
    ) as hub:
        await asyncio.wait_for(hub.connected.wait(), 5)
        await hub_server.send_raw("user", 'ments":[{"action":1,"data":{"id":1}}]}\x1e')
        order = '{"type":1,"target":"GatewayUserOrder","arguments":[{"action":0,"data":{"id":2}}]}'
        trade = '{"type":1,"target":"GatewayUserTrade","arguments":[{"action":0,"data":{"id":3}}]}'
        await hub_server.send_raw("user", order + "\x1e" + trade[:30])
        await hub_server.send_raw("user", trade[30:60])
        await hub_server.send_raw("user", trade[60:] + "\x1e")
        await eventually(lambda: len(received) == 3)
        assert hub.connects == 1 and hub.attempts == 1
    assert [(m.target, m.arguments[0]["data"]["id"]) for m in received] == [
        ("GatewayUserAccount", 1),
        ("GatewayUserOrder", 2),
        ("GatewayUserTrade", 3),
    ]
