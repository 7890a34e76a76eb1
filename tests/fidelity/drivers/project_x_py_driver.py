"""project-x-py driving the simulator: its low-level client (``ProjectX``, steps ``rest.*``),
its realtime client (``ProjectXRealtimeClient``, ``hub.*``) and ``TradingSuite`` (``suite.*``).

Run by ``tests/fidelity/test_project_x_py.py`` under project-x-py's own venv:
``python project_x_py_driver.py '{"url": ..., "tradingHoursUrl": ..., "username": ...,
"apiKey": ..., "account": ..., "report": ...}'`` (``tradingHoursUrl``: a second simulator,
started with ``--trading-hours``, for the closed-hours step). Writes one JSON line per step
to ``report`` (see ``harness.py``). Where the client itself is wrong, the step works around
it and a comment names the client's code.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import project_x_py.trading_suite
from harness import (
    Events,
    Sim,
    Steps,
    check,
    config,
    eventually,
    last_saturday,
    weekdays_before,
)
from project_x_py import ProjectX, ProjectXRealtimeClient, TradingSuite
from project_x_py.exceptions import ProjectXAuthenticationError
from project_x_py.models import ProjectXConfig

PRICE = Decimal("21000.00")  # MNQ's price for the run, set through the control API
TICK = Decimal("0.25")
OPEN, FILLED, SUSPENDED = 1, 2, 8  # OrderStatus


def data_of(event: Any) -> dict[str, Any]:
    """A user-hub callback's payload without the gateway's ``{action, data}`` wrapper."""
    if isinstance(event, dict) and isinstance(event.get("data"), dict):
        inner: dict[str, Any] = event["data"]
        return inner
    return event if isinstance(event, dict) else {}


async def main() -> None:
    cfg = config()
    url = cfg["url"]
    sim = Sim(url)
    steps = Steps(cfg.get("report"))
    events = Events()
    started = datetime.now(UTC) - timedelta(seconds=5)
    gateway = gateway_at(url)
    client = ProjectX(username=cfg["username"], api_key=cfg["apiKey"], config=gateway)
    await client.__aenter__()
    ctx: dict[str, Any] = {}

    # -- the low-level client -------------------------------------------------------------

    async def quickstart_from_env(detail: dict[str, Any]) -> None:
        # The README's quick start, with the simulator's default credentials.
        os.environ["PROJECT_X_USERNAME"] = cfg["username"]
        os.environ["PROJECT_X_API_KEY"] = cfg["apiKey"]
        async with ProjectX.from_env(config=gateway) as quick:
            await quick.authenticate()
            detail["account"] = quick.account_info.name if quick.account_info else None

    async def ping(detail: dict[str, Any]) -> None:
        detail["answer"] = answer = await client.ping()
        check(answer == "pong", f"ping answered {answer!r}")

    async def login(detail: dict[str, Any]) -> None:
        await client.authenticate()
        info = client.account_info
        check(info is not None and info.name == cfg["account"], f"account_info {info}")
        check(client.session_token.count(".") == 2, "no JWT")
        check(client.token_expiry is not None, "the JWT's exp was not read")

    async def validate(detail: dict[str, Any]) -> None:
        before = client.session_token
        check(await client.validate_session(), "validate_session() is False")
        detail["newToken"] = client.session_token != before

    async def accounts(detail: dict[str, Any]) -> None:
        found = await client.list_accounts()
        detail["accounts"] = [a.name for a in found]
        mine = [a for a in found if a.name == cfg["account"]]
        check(mine and mine[0].canTrade and mine[0].simulated, f"accounts {found}")
        ctx["account"] = mine[0].id

    async def contract_search(detail: dict[str, Any]) -> None:
        found = await client.search_instruments("MNQ")
        detail["contracts"] = [i.id for i in found]
        check(found, "Contract/search found nothing for MNQ")
        instrument = await client.get_instrument("MNQ")
        check(instrument.activeContract and instrument.id.startswith("CON.F.US.MNQ."), "front")
        ctx["contract"] = instrument.id
        await sim.price(instrument.id, PRICE)  # the run's starting price (bid/ask a tick around)
        available = await client.list_available_contracts()
        check(instrument.id in {i.id for i in available}, "not in Contract/available")

    async def contract_by_id(detail: dict[str, Any]) -> None:
        client.clear_all_caches()
        instrument = await client.get_instrument(ctx["contract"])
        check(instrument.id == ctx["contract"], f"searchById gave {instrument.id}")
        check(Decimal(str(instrument.tickSize)) == TICK, f"tick size {instrument.tickSize}")

    async def bars(detail: dict[str, Any]) -> None:
        # Ten days of hourly bars always span open hours, whatever day CI runs on.
        frame = await client.get_bars("MNQ", days=10, interval=1, unit=3)
        detail["bars"] = frame.height
        detail["columns"] = frame.columns
        check(frame.height > 0, "no bars")
        check({"open", "high", "low", "close", "volume"} <= set(frame.columns), "columns")
        times = frame["timestamp"].to_list()
        check(times == sorted(times), "bars not in time order")

    async def bars_closed_hours(detail: dict[str, Any]) -> None:
        # Against the simulator started with --trading-hours: the run's own keeps that switch
        # off (its default) so that its orders fill at any hour, weekends included.
        hours_gateway = gateway_at(cfg["tradingHoursUrl"])
        async with ProjectX(cfg["username"], cfg["apiKey"], config=hours_gateway) as hours:
            await hours.authenticate()
            start, end = last_saturday(datetime.now(UTC))
            frame = await hours.get_bars("MNQ", interval=1, unit=2, start_time=start, end_time=end)
            detail["saturday"] = [start.isoformat(), end.isoformat(), frame.height]
            check(
                frame.height == 0, f"{frame.height} minute bars for a Saturday, when CME is closed"
            )
            monday, friday = weekdays_before(start)
            frame = await hours.get_bars(
                "MNQ", interval=1, unit=3, start_time=monday, end_time=friday
            )
            detail["weekdays"] = [monday.isoformat(), friday.isoformat(), frame.height]
            check(frame.height > 0, "no hourly bars for the weekdays before it either")

    async def live_flag(detail: dict[str, Any]) -> None:
        # project-x-py's get_instrument docs: practice/sim contracts are often excluded from
        # live=True (it then retries with live=False); the simulator's account is simulated.
        listed = await client.search_instruments("MNQ", live=True)
        detail["listed"] = [i.id for i in listed]
        check(not listed, "live=True lists contracts to a simulated account")

    async def relogin_after_expiry(detail: dict[str, Any]) -> None:
        await sim.fault("expire_tokens")  # every token issued so far now answers 401
        try:
            await client.list_accounts()
            detail["reloggedIn"] = "by itself"
        except ProjectXAuthenticationError:
            # project-x-py bug, worked around: on a 401 it only refreshes a token whose JWT
            # exp is near (client/auth.py _refresh_authentication, _should_refresh_token), so
            # a token the gateway revoked early is retried as is and fails. Log in again.
            detail["reloggedIn"] = "by authenticate()"
            await client.authenticate()
        found = await client.list_accounts()
        check([a.name for a in found] == [cfg["account"]], f"accounts after login: {found}")

    # -- the realtime client (both hubs) -----------------------------------------------------

    realtime: ProjectXRealtimeClient | None = None

    async def hub_connect(detail: dict[str, Any]) -> None:
        nonlocal realtime
        realtime = ProjectXRealtimeClient(
            jwt_token=client.session_token, account_id=str(ctx["account"]), config=gateway
        )
        for name in (
            "account_update",
            "order_update",
            "position_update",
            "trade_execution",
            "quote_update",
            "market_trade",
            "market_depth",
        ):
            await realtime.add_callback(name, lambda data, name=name: events.add(name, data))
        check(await realtime.connect(), "connect() is False")
        check(await realtime.subscribe_user_updates(), "subscribe_user_updates() is False")
        check(await realtime.subscribe_market_data([ctx["contract"]]), "subscribe_market_data")

    async def quotes(detail: dict[str, Any]) -> None:
        async def moved() -> bool:
            mark = events.mark("quote_update")
            await sim.price(ctx["contract"], PRICE + TICK)
            await sim.price(ctx["contract"], PRICE)
            return events.mark("quote_update") > mark or await _arrived(
                events, "quote_update", mark
            )

        await eventually(moved, "a GatewayQuote after /sim/price")
        quote = await events.wait("quote_update", lambda e: last_price(e) == PRICE)
        check(quote["contract_id"] == ctx["contract"], f"quote for {quote['contract_id']}")
        detail["quote"] = quote["data"]

    async def market_trades(detail: dict[str, Any]) -> None:
        event = await events.wait("market_trade", lambda e: e["contract_id"] == ctx["contract"])
        detail["print"] = event["data"]

    async def depth(detail: dict[str, Any]) -> None:
        mark = events.mark("market_depth")
        await sim.price(ctx["contract"], PRICE + TICK)
        await sim.price(ctx["contract"], PRICE)
        event = await events.wait("market_depth", after=mark, within=5)
        detail["depth"] = str(event)[:300]

    # -- TradingSuite ------------------------------------------------------------------------

    suite: TradingSuite | None = None

    async def suite_create(detail: dict[str, Any]) -> None:
        nonlocal suite
        # project-x-py bug, worked around: TradingSuite.create builds ProjectX(username,
        # api_key, account_name) without a config (project_x_py/trading_suite.py,
        # TradingSuite.create), so a suite always talks to TopstepX's URLs. The suite's own
        # ProjectX is given the simulator's URLs; nothing else is changed.
        project_x_py.trading_suite.ProjectX = _with_config(gateway)  # type: ignore[misc]
        suite = await TradingSuite.create(
            "MNQ",
            timeframes=["1min"],
            features=["orderbook"],
            initial_days=5,  # spans a weekday whatever day it is (no bars when CME is closed)
            username=cfg["username"],
            api_key=cfg["apiKey"],
            account_name=cfg["account"],
        )
        check(suite.is_connected, "the suite is not connected")
        detail["instrument"] = suite.instrument_id

    def the_suite() -> TradingSuite:
        assert suite is not None
        return suite

    async def suite_market_order(detail: dict[str, Any]) -> None:
        s, contract = the_suite(), ctx["contract"]
        marks = {
            name: events.mark(name)
            for name in ("order_update", "position_update", "trade_execution", "account_update")
        }
        ctx["marks"] = marks
        response = await s.orders.place_market_order(contract, 0, 2)
        check(response.success, f"place_market_order: {response}")
        ctx["market_order"] = response.orderId
        position = await eventually(
            lambda: s.positions.get_position(contract), "the long position in the suite"
        )
        detail["position"] = {"size": position.size, "averagePrice": position.averagePrice}
        check(position.size == 2, f"position size {position.size}")
        check(Decimal(str(position.averagePrice)) == PRICE + TICK, "averagePrice")
        opened = await client.search_open_positions()
        check([p.size for p in opened if p.contractId == contract] == [2], f"REST {opened}")

    async def hub_order(detail: dict[str, Any]) -> None:
        oid = ctx["market_order"]
        event = await events.wait(
            "order_update",
            lambda e: data_of(e)["id"] == oid and data_of(e)["status"] == FILLED,
            after=ctx["marks"]["order_update"],
        )
        detail["order"] = data_of(event)

    async def hub_position(detail: dict[str, Any]) -> None:
        event = await events.wait(
            "position_update",
            lambda e: data_of(e)["size"] == 2,
            after=ctx["marks"]["position_update"],
        )
        detail["position"] = data_of(event)

    async def hub_trade(detail: dict[str, Any]) -> None:
        oid = ctx["market_order"]
        event = await events.wait(
            "trade_execution",
            lambda e: data_of(e)["orderId"] == oid,
            after=ctx["marks"]["trade_execution"],
        )
        detail["trade"] = data_of(event)

    async def hub_account(detail: dict[str, Any]) -> None:
        event = await events.wait(
            "account_update",
            lambda e: data_of(e)["id"] == ctx["account"],
            after=ctx["marks"]["account_update"],
        )
        balance = Decimal(str(data_of(event)["balance"]))
        detail["balance"] = balance
        check(balance < 50000, f"fees not taken: balance {balance}")

    async def suite_partial_close(detail: dict[str, Any]) -> None:
        s, contract = the_suite(), ctx["contract"]
        result = await s.positions.partially_close_position(contract, 1)
        detail["result"] = result
        check(result.get("success"), f"partially_close_position: {result}")
        opened = await client.search_open_positions()
        check([p.size for p in opened if p.contractId == contract] == [1], f"REST {opened}")

    async def suite_close(detail: dict[str, Any]) -> None:
        s, contract = the_suite(), ctx["contract"]
        result = await s.positions.close_position_direct(contract)
        detail["result"] = result
        check(result.get("success"), f"close_position_direct: {result}")
        opened = await client.search_open_positions()
        check(not [p for p in opened if p.contractId == contract], f"still open: {opened}")

    async def trades(detail: dict[str, Any]) -> None:
        found = await client.search_trades(start_date=started)
        detail["trades"] = [(t.orderId, t.size, t.profitAndLoss) for t in found]
        opening = [t for t in found if t.orderId == ctx["market_order"]]
        closing = [t for t in found if t.profitAndLoss is not None]
        check(opening and opening[0].profitAndLoss is None, "opening fill has a P&L")
        check(len(closing) >= 2, "partial close and close fills carry no P&L")

    async def suite_order_search(detail: dict[str, Any]) -> None:
        s = the_suite()
        found = await s.orders.search_orders(start_timestamp=started)
        detail["orders"] = [(o.id, o.status) for o in found]
        ids = [o.id for o in found]
        check(ctx["market_order"] in ids, "the filled market order not in Order/search")
        filled = next(o for o in found if o.id == ctx["market_order"])
        check(filled.status == FILLED and filled.fillVolume == 2, f"{filled}")

    async def suite_limit_order(detail: dict[str, Any]) -> None:
        s, contract = the_suite(), ctx["contract"]
        price = PRICE - 20 * TICK
        response = await s.orders.place_limit_order(contract, 0, 1, float(price))
        check(response.success, f"place_limit_order: {response}")
        ctx["limit_order"] = response.orderId
        working = {o.id: o for o in await s.orders.search_open_orders()}
        check(response.orderId in working, "limit order not in searchOpen")
        check(Decimal(str(working[response.orderId].limitPrice)) == price, "limitPrice")

    async def suite_modify(detail: dict[str, Any]) -> None:
        s, order_id = the_suite(), ctx["limit_order"]
        price = PRICE - 24 * TICK
        mark = events.mark("order_update")
        check(await s.orders.modify_order(order_id, limit_price=float(price), size=2), "modify")
        await events.wait(
            "order_update",
            lambda e: (
                data_of(e)["id"] == order_id and Decimal(str(data_of(e)["limitPrice"])) == price
            ),
            after=mark,
        )

        async def modified() -> Any:
            # get_order_by_id answers from the suite's own hub-fed cache: wait for it.
            order = await s.orders.get_order_by_id(order_id)
            ok = order and Decimal(str(order.limitPrice)) == price and order.size == 2
            return order if ok else None

        await eventually(modified, "the modified order in the suite")

    async def suite_cancel(detail: dict[str, Any]) -> None:
        s, order_id = the_suite(), ctx["limit_order"]
        check(await s.orders.cancel_order(order_id), "cancel_order() is False")
        working = {o.id for o in await s.orders.search_open_orders()}
        check(order_id not in working, "cancelled order still in searchOpen")

    async def suite_stop_order(detail: dict[str, Any]) -> None:
        s, contract = the_suite(), ctx["contract"]
        stop = PRICE + 8 * TICK
        response = await s.orders.place_stop_order(contract, 0, 1, float(stop))
        check(response.success, f"place_stop_order: {response}")
        await sim.price(contract, stop + 2 * TICK)  # through the stop: it fills
        await eventually(lambda: s.orders.is_order_filled(response.orderId), "the stop filled")
        await s.positions.close_position_direct(contract)
        await sim.price(contract, PRICE)

    async def suite_bracket_order(detail: dict[str, Any]) -> None:
        s, contract = the_suite(), ctx["contract"]
        entry = PRICE + TICK  # a market buy fills at the ask
        response = await s.orders.place_bracket_order(
            contract,
            0,
            1,
            entry_price=float(entry),
            stop_loss_price=float(entry - 10 * TICK),
            take_profit_price=float(entry + 10 * TICK),
            entry_type="market",
        )
        detail["response"] = {
            "success": response.success,
            "entry": response.entry_order_id,
            "stop": response.stop_order_id,
            "target": response.target_order_id,
            "error": response.error_message,
            # Gateway-native brackets (one place with stopLossBracket/takeProfitBracket) or,
            # when those are refused, project-x-py's own stop and limit orders.
            "native": response.stop_response is None and response.target_response is None,
        }
        check(response.success, f"place_bracket_order: {response.error_message}")
        # project-x-py bug, tolerated: its native bracket sends unsigned ticks for both legs
        # (order_manager/bracket_orders.py _try_native_bracket_order), which the gateway refuses
        # for a long stop-loss (code 2, "Ticks should be less than zero when longing."); it
        # then places its own stop and limit orders after the entry fills.
        check(not detail["response"]["native"], "unsigned bracket ticks were accepted")
        check(response.stop_order_id and response.target_order_id, "protective legs unknown")
        working = {o.id: o for o in await s.orders.search_open_orders()}
        stop, target = working.get(response.stop_order_id), working.get(response.target_order_id)
        check(stop is not None and Decimal(str(stop.stopPrice)) == entry - 10 * TICK, "stop")
        check(target is not None and Decimal(str(target.limitPrice)) == entry + 10 * TICK, "TP")
        await sim.price(contract, entry + 10 * TICK)  # the take-profit fills

        async def flat() -> bool:
            opened = await client.search_open_positions()
            return not [p for p in opened if p.contractId == contract]

        await eventually(flat, "flat after the take-profit filled")
        await sim.price(contract, PRICE)

    async def suite_order_v2_query(detail: dict[str, Any]) -> None:
        s, contract = the_suite(), ctx["contract"]
        tag = "fidelity-v2-query"
        entry = await s.orders.place_order(
            contract_id=contract,
            order_type=1,
            side=0,
            size=1,
            limit_price=float(PRICE - 40 * TICK),
            custom_tag=tag,
            stop_loss_bracket={"ticks": -12, "type": 4},
            take_profit_bracket={"ticks": 12, "type": 1},
        )
        check(entry.success, f"bracket entry: {entry}")
        try:
            orders = await s.orders.query_orders(include_total_count=True)
            detail["orders"] = [(o.id, o.status, o.customTag) for o in orders[:5]]
            # project-x-py's Order model has no parentOrderId (models.py Order; from_api drops
            # fields it does not know), so the legs are found by the tags the gateway gives
            # them: the entry's customTag plus -SL / -TP.
            legs = {o.customTag: o for o in orders if o.customTag in (f"{tag}-SL", f"{tag}-TP")}
            check(
                len(legs) == 2 and all(o.status == SUSPENDED for o in legs.values()),
                "the entry's two suspended legs not in Order/v2/query",
            )
            check(legs[f"{tag}-SL"].type == 4 and legs[f"{tag}-TP"].type == 1, "leg types")
            check(any(o.id == entry.orderId and o.status == OPEN for o in orders), "entry")
            ids = [o.id for o in orders]
            check(ids == sorted(ids, reverse=True), "Order/v2/query not newest first")
        finally:
            await s.orders.cancel_order(entry.orderId)

    async def suite_orderbook(detail: dict[str, Any]) -> None:
        s = the_suite()
        await sim.price(ctx["contract"], PRICE + TICK)
        await sim.price(ctx["contract"], PRICE)
        bid, ask = PRICE - TICK, PRICE + TICK  # the quote's, one tick around the last price

        async def book() -> tuple[Any, Any] | None:
            # A polars DataFrame has no truth value: return the frames only once they match.
            bids = await s.orderbook.get_orderbook_bids(levels=5)
            asks = await s.orderbook.get_orderbook_asks(levels=5)
            best = (
                Decimal(str(bids["price"][0])) if bids.height else None,
                Decimal(str(asks["price"][0])) if asks.height else None,
            )
            detail["best"] = best
            return (bids, asks) if best == (bid, ask) else None

        bids, asks = await eventually(book, f"best bid {bid} / ask {ask} in the suite's OrderBook")
        detail["levels"] = [bids.height, asks.height]
        check(bids.height == asks.height == 5, f"levels {detail['levels']}, not 5 a side")
        prices = [Decimal(str(p)) for p in bids["price"].to_list()]
        check(prices == [bid - i * TICK for i in range(5)], f"bid levels {prices}")

    async def reconnect(detail: dict[str, Any]) -> None:
        assert realtime is not None
        s, loop = the_suite(), asyncio.get_running_loop()
        # The pysignalr clients in use now: AsyncHubConnection.start() makes new ones, so
        # seeing other objects later proves the hubs were really reconnected.
        before = (realtime.user_connection._client, realtime.market_connection._client)
        suite_events = s.realtime.get_stats()["events_received"]
        started_at = loop.time()
        await sim.fault("drop_connections")
        # project-x-py bug, tolerated: the simulator closes with a SignalR Close message
        # carrying "Connection closed with an error." (as the live gateway does on its routine
        # reconnects); pysignalr's SignalRClient.run raises ServerError on it and never retries
        # (pysignalr/client.py _on_close_message), project-x-py does not watch that task
        # (realtime/async_hub.py AsyncHubConnection.start) and is_connected() stays True until
        # its 10 s heartbeat fails (realtime/health_monitoring.py _send_heartbeat), which then
        # forces a reconnect. Hence the long deadlines here.
        quote_mark, order_mark = events.mark("quote_update"), events.mark("order_update")
        # A price no step quoted before the drop: project-x-py hands events to callbacks in
        # tasks of their own (realtime/event_handling.py _schedule_async_task), so a quote
        # received before the drop may still reach the callback after the mark.
        moved = PRICE + 4 * TICK

        async def quoted() -> bool:
            await sim.price(ctx["contract"], moved)
            await sim.price(ctx["contract"], PRICE)
            return await _arrived(
                events, "quote_update", quote_mark, lambda e: last_price(e) == moved
            )

        await eventually(quoted, "a quote after the reconnect", within=30)
        detail["quoteAfterSeconds"] = round(loop.time() - started_at, 1)
        after = (realtime.user_connection._client, realtime.market_connection._client)
        check(all(a is not b for a, b in zip(after, before, strict=True)), "not reconnected")
        check(realtime.is_connected(), "a quote came but is_connected() is False")
        response = await s.orders.place_limit_order(ctx["contract"], 0, 1, float(PRICE - 30 * TICK))
        await s.orders.cancel_order(response.orderId)
        await events.wait(
            "order_update", lambda e: data_of(e)["id"] == response.orderId, after=order_mark
        )

        async def suite_fed() -> bool:
            await sim.price(ctx["contract"], PRICE + TICK)
            await sim.price(ctx["contract"], PRICE)
            return bool(s.realtime.get_stats()["events_received"] > suite_events)

        await eventually(suite_fed, "the suite's hubs fed again", within=30, every=0.5)
        check(s.realtime.is_connected(), "the suite's hubs are not connected")
        detail["suiteBackSeconds"] = round(loop.time() - started_at, 1)

    async def logout(detail: dict[str, Any]) -> None:
        check(await client.logout(), "logout() is False")

    plan = [
        ("rest.quickstart_from_env", quickstart_from_env, ()),
        ("rest.ping", ping, ()),
        ("rest.login", login, ()),
        ("rest.validate", validate, ("rest.login",)),
        ("rest.accounts", accounts, ("rest.login",)),
        ("rest.contract_search", contract_search, ("rest.login",)),
        ("rest.contract_by_id", contract_by_id, ("rest.contract_search",)),
        ("rest.bars", bars, ("rest.contract_search",)),
        ("rest.bars_closed_hours", bars_closed_hours, ("rest.contract_search",)),
        ("rest.live_flag", live_flag, ("rest.login",)),
        ("hub.connect", hub_connect, ("rest.accounts", "rest.contract_search")),
        ("hub.quotes", quotes, ("hub.connect",)),
        ("hub.market_trades", market_trades, ("hub.quotes",)),
        ("hub.depth", depth, ("hub.connect",)),
        ("suite.create", suite_create, ("rest.contract_search",)),
        ("suite.market_order", suite_market_order, ("suite.create",)),
        ("hub.order_event", hub_order, ("hub.connect", "suite.market_order")),
        ("hub.position_event", hub_position, ("hub.connect", "suite.market_order")),
        ("hub.trade_event", hub_trade, ("hub.connect", "suite.market_order")),
        ("hub.account_event", hub_account, ("hub.connect", "suite.market_order")),
        ("suite.partial_close", suite_partial_close, ("suite.market_order",)),
        ("suite.close", suite_close, ("suite.partial_close",)),
        ("rest.trades", trades, ("suite.close",)),
        ("suite.order_search", suite_order_search, ("suite.market_order",)),
        ("suite.limit_order", suite_limit_order, ("suite.create",)),
        ("suite.modify", suite_modify, ("suite.limit_order", "hub.connect")),
        ("suite.cancel", suite_cancel, ("suite.limit_order",)),
        ("suite.stop_order", suite_stop_order, ("suite.create",)),
        ("suite.bracket_order", suite_bracket_order, ("suite.create",)),
        ("suite.order_v2_query", suite_order_v2_query, ("suite.create",)),
        ("suite.orderbook_depth", suite_orderbook, ("suite.create",)),
        ("hub.reconnect", reconnect, ("hub.quotes", "suite.create")),
        ("rest.relogin_after_expiry", relogin_after_expiry, ("rest.login",)),
        ("rest.logout", logout, ("rest.login",)),
    ]
    try:
        await steps.installed("project-x-py")
        for name, body, needs in plan:
            await steps.run(name, body, needs=needs)
    finally:
        if suite is not None:
            await suite.disconnect()
        if realtime is not None:
            await realtime.disconnect()
        await client.__aexit__(None, None, None)


def gateway_at(url: str) -> ProjectXConfig:
    """project-x-py's configuration for the simulator at ``url`` (REST and both hubs)."""
    return ProjectXConfig(
        api_url=f"{url}/api",
        realtime_url=f"{url}/hubs",
        user_hub_url=f"{url}/hubs/user",
        market_hub_url=f"{url}/hubs/market",
    )


def _with_config(gateway: ProjectXConfig) -> type[ProjectX]:
    class SimProjectX(ProjectX):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("config", gateway)
            super().__init__(*args, **kwargs)

    return SimProjectX


def last_price(quote: Any) -> Decimal:
    """A ``quote_update`` callback's ``lastPrice``."""
    return Decimal(str(quote["data"]["lastPrice"]))


async def _arrived(
    events: Events, name: str, mark: int, match: Callable[[Any], bool] = lambda _: True
) -> bool:
    try:
        await events.wait(name, match, after=mark, within=1)
    except AssertionError:
        return False
    return True


if __name__ == "__main__":
    logging.basicConfig(level=logging.CRITICAL)  # the client's own logs go to stderr, quietly
    asyncio.run(main())
