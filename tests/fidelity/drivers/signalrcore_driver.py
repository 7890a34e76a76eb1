"""signalrcore (the SignalR client many community ProjectX bots are built on) on both hubs:
connect the way the ProjectX docs show (skipNegotiation) and with negotiation, user and market
events, a reconnect after ``drop_connections``, and ``GatewayLogout`` when tokens expire.

signalrcore has no REST side: logging in and placing orders are the harness's own requests
(``Sim.api``). Run by ``tests/fidelity/test_signalrcore.py`` under signalrcore's own venv;
writes one JSON line per step to its report file (see ``harness.py``). signalrcore calls back
from its own threads, so every callback hops onto the event loop before touching ``Events``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from decimal import Decimal
from typing import Any

from harness import Events, Sim, StepFailed, Steps, check, config, eventually
from signalrcore.hub_connection_builder import HubConnectionBuilder

PRICE = Decimal("21000.00")
TICK = Decimal("0.25")
USER_EVENTS = ("GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade")
MARKET_EVENTS = ("GatewayQuote", "GatewayTrade", "GatewayDepth")


class ClientLog(logging.Handler):
    """signalrcore reports a refused handshake only in its log: keep its errors."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.errors.append(record.getMessage())


CLIENT_LOG = ClientLog()


class Hub:
    """One signalrcore connection set up as a ProjectX bot does: token in the URL and in
    access_token_factory, automatic reconnect, and every subscription (re)sent on open."""

    def __init__(self, url: str, token: str, *, skip_negotiation: bool, events: Events) -> None:
        loop = asyncio.get_running_loop()
        self.opened = threading.Event()
        self.opens = 0
        self.subscriptions: list[tuple[str, list[Any]]] = []
        self.connection = (
            HubConnectionBuilder()
            .with_url(
                f"{url}?access_token={token}",
                options={
                    "skip_negotiation": skip_negotiation,
                    "access_token_factory": lambda: token,
                },
            )
            .with_automatic_reconnect(
                {"type": "raw", "keep_alive_interval": 10, "reconnect_interval": 1}
            )
            .build()
        )
        # signalrcore calls on_open for the first connection and on_reconnect (not on_open)
        # once its automatic reconnect is through: both re-send the subscriptions.
        self.connection.on_open(self._on_open)
        self.connection.on_reconnect(self._on_open)
        for name in (*USER_EVENTS, *MARKET_EVENTS, "GatewayLogout"):
            self.connection.on(
                name, lambda args, name=name: loop.call_soon_threadsafe(events.add, name, args)
            )

    def _on_open(self) -> None:
        self.opens += 1
        for method, arguments in self.subscriptions:
            self.connection.send(method, arguments)
        self.opened.set()

    async def start(self) -> None:
        """Connect; a refused handshake leaves ``opened`` unset and fails here."""
        errors = len(CLIENT_LOG.errors)
        await asyncio.to_thread(self.connection.start)
        with contextlib.suppress(StepFailed):  # the check below says what happened
            await eventually(
                lambda: self.opened.is_set() or len(CLIENT_LOG.errors) > errors,
                "the hub opening or the client logging an error",
                within=5,
                every=0.02,
            )
        last = CLIENT_LOG.errors[-1] if len(CLIENT_LOG.errors) > errors else "nothing"
        check(self.opened.is_set(), f"the hub did not open; the client logged: {last}")

    async def subscribe(self, method: str, *arguments: Any) -> None:
        self.subscriptions.append((method, list(arguments)))
        await asyncio.to_thread(self.connection.send, method, list(arguments))

    async def stop(self) -> None:
        await asyncio.to_thread(self.connection.stop)


async def main() -> None:
    cfg = config()
    url = cfg["url"]
    sim = Sim(url)
    steps = Steps(cfg.get("report"))
    events = Events()
    ctx: dict[str, Any] = {}
    hubs: list[Hub] = []

    async def login(detail: dict[str, Any]) -> None:
        reply = await sim.api(
            "Auth/loginKey", {"userName": cfg["username"], "apiKey": cfg["apiKey"]}, None
        )
        ctx["token"] = reply["token"]
        accounts = await sim.api("Account/search", {"onlyActiveAccounts": True}, ctx["token"])
        ctx["account"] = next(a["id"] for a in accounts["accounts"] if a["name"] == cfg["account"])
        contracts = await sim.api(
            "Contract/search", {"searchText": "MNQ", "live": False}, ctx["token"]
        )
        ctx["contract"] = contracts["contracts"][0]["id"]
        await sim.price(ctx["contract"], PRICE)

    async def connect(detail: dict[str, Any], *, skip_negotiation: bool) -> Hub:
        hub = Hub(
            f"{url}/hubs/market", ctx["token"], skip_negotiation=skip_negotiation, events=events
        )
        hubs.append(hub)
        await hub.start()
        return hub

    async def connect_skip_negotiation(detail: dict[str, Any]) -> None:
        # The ProjectX docs' way (skipNegotiation: true); signalrcore then sends
        # {"protocol": "json", "version": 0} (signalrcore/hub/negotiation.py negotiate).
        ctx["market"] = await connect(detail, skip_negotiation=True)
        user = Hub(f"{url}/hubs/user", ctx["token"], skip_negotiation=True, events=events)
        hubs.append(user)
        await user.start()
        ctx["user"] = user

    async def connect_negotiated(detail: dict[str, Any]) -> None:
        # Negotiation answered negotiateVersion 0 (no negotiateVersion asked): signalrcore uses
        # that number as the hub protocol version (signalrcore/protocol/protocol_factory.py).
        await connect(detail, skip_negotiation=False)

    async def user_events(detail: dict[str, Any]) -> None:
        user, account = ctx["user"], ctx["account"]
        await user.subscribe("SubscribeAccounts")
        for method in ("SubscribeOrders", "SubscribePositions", "SubscribeTrades"):
            await user.subscribe(method, account)
        marks = {name: events.mark(name) for name in USER_EVENTS}
        placed = await sim.api(
            "Order/place",
            {"accountId": account, "contractId": ctx["contract"], "type": 2, "side": 0, "size": 1},
            ctx["token"],
        )
        order_id = placed["orderId"]
        order = await events.wait(
            "GatewayUserOrder",
            lambda a: a[0]["data"]["id"] == order_id and a[0]["data"]["status"] == 2,
            after=marks["GatewayUserOrder"],
        )
        await events.wait(
            "GatewayUserTrade",
            lambda a: a[0]["data"]["orderId"] == order_id,
            after=marks["GatewayUserTrade"],
        )
        await events.wait("GatewayUserPosition", after=marks["GatewayUserPosition"])
        await events.wait("GatewayUserAccount", after=marks["GatewayUserAccount"])
        detail["order"] = order[0]
        await sim.api(
            "Position/closeContract",
            {"accountId": account, "contractId": ctx["contract"]},
            ctx["token"],
        )

    async def quotes(detail: dict[str, Any]) -> None:
        market = ctx["market"]
        for method in ("SubscribeContractQuotes", "SubscribeContractTrades"):
            await market.subscribe(method, ctx["contract"])

        async def quoted() -> bool:
            mark = events.mark("GatewayQuote")
            await sim.price(ctx["contract"], PRICE + TICK)
            await sim.price(ctx["contract"], PRICE)
            return events.mark("GatewayQuote") > mark

        await eventually(quoted, "a GatewayQuote after /sim/price", every=0.3)
        quote = await events.wait("GatewayQuote")
        check(quote[0] == ctx["contract"], f"quote for {quote[0]}")
        detail["quote"] = quote[1]
        await events.wait("GatewayTrade", lambda a: a[0] == ctx["contract"])

    async def reconnect(detail: dict[str, Any]) -> None:
        market, user = ctx["market"], ctx["user"]
        opens = (market.opens, user.opens)
        await sim.fault("drop_connections")
        await eventually(
            lambda: market.opens > opens[0] and user.opens > opens[1],
            "both hubs open again",
            within=20,
        )
        mark = events.mark("GatewayQuote")

        async def quoted() -> bool:
            await sim.price(ctx["contract"], PRICE + 2 * TICK)
            await sim.price(ctx["contract"], PRICE)
            return events.mark("GatewayQuote") > mark

        await eventually(quoted, "a quote on the reopened market hub", every=0.3)

    async def gateway_logout(detail: dict[str, Any]) -> None:
        mark = events.mark("GatewayLogout")
        await sim.fault("expire_tokens")
        await events.wait("GatewayLogout", after=mark)
        detail["logouts"] = events.mark("GatewayLogout") - mark

    plan = [
        ("rest.login", login, ()),
        ("hub.connect_skip_negotiation", connect_skip_negotiation, ("rest.login",)),
        ("hub.connect_negotiated", connect_negotiated, ("rest.login",)),
        ("hub.user_events", user_events, ("hub.connect_skip_negotiation",)),
        ("hub.quotes", quotes, ("hub.connect_skip_negotiation",)),
        ("hub.reconnect", reconnect, ("hub.quotes",)),
        ("hub.gateway_logout", gateway_logout, ("hub.connect_skip_negotiation",)),
    ]
    try:
        await steps.installed("signalrcore")
        for name, body, needs in plan:
            await steps.run(name, body, needs=needs)
    finally:
        # signalrcore's stop() joins its receive thread, which waits for the next frame from
        # the server (up to a ping interval): stop them together and do not wait long.
        stops = [asyncio.create_task(hub.stop()) for hub in hubs]
        if stops:
            await asyncio.wait(stops, timeout=2)
        sys.stdout.flush()
        os._exit(0)  # the receive threads still blocked would keep the process alive


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)  # signalrcore's own log goes to stderr
    logging.getLogger("SignalRCoreClient").addHandler(CLIENT_LOG)
    asyncio.run(main())
