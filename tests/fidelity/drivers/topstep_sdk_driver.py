"""topstep-sdk driving the simulator the way a trading bot would: REST, both hubs, reconnect.

Run by ``tests/fidelity/test_topstep_sdk.py`` under topstep-sdk's own venv:
``python topstep_sdk_driver.py '{"url": ..., "tradingHoursUrl": ..., "username": ...,
"apiKey": ..., "account": ..., "report": ...}'`` (``tradingHoursUrl``: a second simulator,
started with ``--trading-hours``, for the closed-hours step). Writes one JSON line per step
to ``report`` (see ``harness.py``). Only the client's public API is used; where the client
itself is wrong, the step works around it and says so in a comment naming the code.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from harness import (
    Events,
    Sim,
    StepFailed,
    Steps,
    check,
    config,
    eventually,
    last_saturday,
    weekdays_before,
)
from topstep_sdk import (
    AggregateBarUnit,
    APIError,
    AsyncTopstepClient,
    OrderSide,
    OrderStatus,
    OrderType,
    PlaceOrderBracket,
)
from topstep_sdk.config import Config

PRICE = Decimal("21000.00")  # MNQ's price for the run, set through the control API
TICK = Decimal("0.25")


async def main() -> None:
    cfg = config()
    url = cfg["url"]
    sim = Sim(url)
    steps = Steps(cfg.get("report"))
    events = Events()
    started = datetime.now(UTC) - timedelta(seconds=5)
    client = client_at(url, cfg)
    user_hub = client.user_hub()
    market_hub = client.market_hub()
    ctx: dict[str, Any] = {}

    async def ping(detail: dict[str, Any]) -> None:
        detail["answer"] = answer = await client.ping()
        check(answer == "pong", f"ping answered {answer!r}")

    async def login(detail: dict[str, Any]) -> None:
        await client.authenticate()
        token = client.http.token
        check(token and token.count(".") == 2, f"login gave no JWT: {token!r}")

    async def validate(detail: dict[str, Any]) -> None:
        token = await client.validate()
        check(token.count(".") == 2, f"validate gave no JWT: {token!r}")

    async def accounts(detail: dict[str, Any]) -> None:
        found = await client.accounts.search()
        detail["accounts"] = [a.name for a in found]
        mine = [a for a in found if a.name == cfg["account"]]
        check(mine, f"account {cfg['account']} not in {detail['accounts']}")
        check(mine[0].can_trade and mine[0].simulated, f"account not tradable/simulated: {mine}")
        ctx["account"] = mine[0].id

    async def contract_search(detail: dict[str, Any]) -> None:
        found = await client.contracts.search("MNQ")
        detail["contracts"] = [c.id for c in found]
        front = await client.contracts.get_by_symbol("MNQ")
        check(front is not None and front.active_contract, f"no active MNQ in {found}")
        assert front is not None
        ctx["contract"] = front.id
        await sim.price(front.id, PRICE)  # the run's starting price (bid/ask a tick around)
        available = await client.contracts.available()
        check(front.id in {c.id for c in available}, f"{front.id} not in Contract/available")

    async def contract_by_id(detail: dict[str, Any]) -> None:
        found = await client.contracts.search_by_id(ctx["contract"])
        check(found is not None and found.id == ctx["contract"], f"searchById gave {found}")
        assert found is not None
        check(found.tick_size == TICK, f"MNQ tick size {found.tick_size}")
        missing = await client.contracts.search_by_id("CON.F.US.NOPE.Z26")
        check(missing is None, f"an unknown id gave {missing}")

    async def bars(detail: dict[str, Any]) -> None:
        # Ten days of hourly bars always span open hours, whatever day CI runs on.
        now = datetime.now(UTC)
        got = await client.history.retrieve_bars(
            ctx["contract"],
            unit=AggregateBarUnit.HOUR,
            unit_number=1,
            start_time=now - timedelta(days=10),
            end_time=now,
            limit=100,
        )
        detail["bars"] = len(got)
        check(got, "no bars")
        check(all(b.l <= min(b.o, b.c) and b.h >= max(b.o, b.c) for b in got), "OHLC disorder")
        check(all(a.t > b.t for a, b in itertools.pairwise(got)), "not newest first")

    async def bars_closed_hours(detail: dict[str, Any]) -> None:
        # Against the simulator started with --trading-hours: the run's own keeps that switch
        # off (its default) so that its orders fill at any hour, weekends included.
        hours = client_at(cfg["tradingHoursUrl"], cfg)
        try:
            await hours.authenticate()
            start, end = last_saturday(datetime.now(UTC))
            got = await hours.history.retrieve_bars(
                ctx["contract"],
                unit=AggregateBarUnit.MINUTE,
                unit_number=1,
                start_time=start,
                end_time=end,
                limit=1000,
            )
            detail["saturday"] = [start.isoformat(), end.isoformat(), len(got)]
            check(not got, f"{len(got)} minute bars for a Saturday, when CME is closed")
            monday, friday = weekdays_before(start)
            got = await hours.history.retrieve_bars(
                ctx["contract"],
                unit=AggregateBarUnit.HOUR,
                unit_number=1,
                start_time=monday,
                end_time=friday,
                limit=1000,
            )
            detail["weekdays"] = [monday.isoformat(), friday.isoformat(), len(got)]
            check(got, "no hourly bars for the weekdays before it either")
        finally:
            await hours.aclose()

    async def live_flag(detail: dict[str, Any]) -> None:
        # topstep-sdk's ContractResource and HistoryResource docs: a simulated (practice or
        # evaluation) account asking live=True gets empty lists and ContractNotFound for bars.
        listed = await client.contracts.search("MNQ", live=True)
        available = await client.contracts.available(live=True)
        detail["listed"], detail["available"] = len(listed), len(available)
        check(not listed and not available, "live=True lists contracts to a simulated account")
        now = datetime.now(UTC)
        try:
            await client.history.retrieve_bars(
                ctx["contract"],
                unit=AggregateBarUnit.HOUR,
                unit_number=1,
                start_time=now - timedelta(days=10),
                end_time=now,
                limit=10,
                live=True,
            )
        except APIError as error:
            detail["bars"] = str(error)
            check(error.error_code == 1, f"bars with live=True: {error}")
        else:
            raise StepFailed("bars with live=True were served, not ContractNotFound")

    async def user_hub_connect(detail: dict[str, Any]) -> None:
        user_hub.on_account(lambda m: events.add("account", m))
        user_hub.on_order(lambda m: events.add("order", m))
        user_hub.on_position(lambda m: events.add("position", m))
        user_hub.on_trade(lambda m: events.add("trade", m))
        await user_hub.start(timeout=10)
        await user_hub.subscribe_accounts()
        for subscribe in (
            user_hub.subscribe_orders,
            user_hub.subscribe_positions,
            user_hub.subscribe_trades,
        ):
            await subscribe(ctx["account"])

    async def market_hub_connect(detail: dict[str, Any]) -> None:
        market_hub.on_quote(lambda cid, q: events.add("quote", (cid, q)))
        market_hub.on_trade(lambda cid, t: events.add("print", (cid, t)))
        market_hub.on_depth(lambda cid, d: events.add("depth", (cid, d)))
        await market_hub.start(timeout=10)
        await market_hub.subscribe_quotes(ctx["contract"])
        await market_hub.subscribe_trades(ctx["contract"])
        await market_hub.subscribe_depth(ctx["contract"])

    async def quotes(detail: dict[str, Any]) -> None:
        # The subscriptions are fire-and-forget sends: move the price until one shows.
        async def moved() -> bool:
            mark = events.mark("quote")
            await sim.price(ctx["contract"], PRICE)
            try:
                await events.wait("quote", after=mark, within=1)
            except AssertionError:
                return False
            return True

        await eventually(moved, "a GatewayQuote after /sim/price")
        cid, quote = await events.wait("quote", lambda e: e[1].last_price == PRICE)
        check(cid == ctx["contract"], f"quote for {cid}")
        check(quote.best_bid == PRICE - TICK and quote.best_ask == PRICE + TICK, f"{quote}")
        detail["quote"] = {"last": quote.last_price, "bid": quote.best_bid, "ask": quote.best_ask}

    async def market_trades(detail: dict[str, Any]) -> None:
        _, prints = await events.wait("print", lambda e: e[1].price == PRICE)
        detail["print"] = prints

    async def depth(detail: dict[str, Any]) -> None:
        mark = events.mark("depth")
        await sim.price(ctx["contract"], PRICE + TICK)
        await sim.price(ctx["contract"], PRICE)
        _, entry = await events.wait("depth", after=mark, within=5)
        detail["entry"] = entry
        check(entry.price is not None and entry.volume is not None, f"depth entry {entry}")

    async def market_order(detail: dict[str, Any]) -> None:
        account, contract = ctx["account"], ctx["contract"]
        marks = {name: events.mark(name) for name in ("order", "position", "trade", "account")}
        ctx["marks"] = marks
        order_id = await client.orders.buy(account, contract, 2)
        ctx["market_order"] = order_id
        order = await client.orders.wait_for_fill(account, order_id, timeout=10, poll_interval=0.1)
        detail["order"] = {"status": order.status, "filledPrice": order.filled_price}
        check(order.status == OrderStatus.FILLED, f"order {order_id} ended {order.status}")
        check(order.filled_price == PRICE + TICK, f"market buy filled at {order.filled_price}")
        positions = await client.positions.search_open(account)
        mine = [p for p in positions if p.contract_id == contract]
        check(mine and mine[0].size == 2, f"open positions {positions}")
        check(mine[0].average_price == PRICE + TICK, f"averagePrice {mine[0].average_price}")

    async def hub_order(detail: dict[str, Any]) -> None:
        oid = ctx["market_order"]
        order = await events.wait(
            "order",
            lambda o: o.id == oid and o.status == OrderStatus.FILLED,
            after=ctx["marks"]["order"],
        )
        detail["order"] = {"id": order.id, "filledPrice": order.filled_price}

    async def hub_position(detail: dict[str, Any]) -> None:
        position = await events.wait(
            "position", lambda p: p.size == 2, after=ctx["marks"]["position"]
        )
        detail["position"] = {"size": position.size, "averagePrice": position.average_price}

    async def hub_trade(detail: dict[str, Any]) -> None:
        oid = ctx["market_order"]
        trade = await events.wait("trade", lambda t: t.order_id == oid, after=ctx["marks"]["trade"])
        detail["trade"] = {"id": trade.id, "price": trade.price, "fees": trade.fees}
        check(trade.size == 2 and trade.side == OrderSide.BUY, f"trade {trade}")

    async def hub_account(detail: dict[str, Any]) -> None:
        account = await events.wait(
            "account", lambda a: a.id == ctx["account"], after=ctx["marks"]["account"]
        )
        detail["balance"] = account.balance
        check(account.balance < Decimal(50000), f"fees not taken: balance {account.balance}")

    async def partial_close(detail: dict[str, Any]) -> None:
        account, contract = ctx["account"], ctx["contract"]
        await client.positions.partial_close(account, contract, 1)
        positions = await client.positions.search_open(account)
        detail["positions"] = [(p.contract_id, p.size) for p in positions]
        check([p.size for p in positions if p.contract_id == contract] == [1], "size not 1")

    async def close(detail: dict[str, Any]) -> None:
        account, contract = ctx["account"], ctx["contract"]
        mark = events.mark("position")
        await client.positions.close(account, contract)
        positions = await client.positions.search_open(account)
        check(not [p for p in positions if p.contract_id == contract], f"still {positions}")
        flat = await events.wait("position", lambda p: p.size == 0, after=mark)
        detail["flat"] = {"id": flat.id, "size": flat.size}

    async def trades(detail: dict[str, Any]) -> None:
        found = await client.trades.search(ctx["account"], start_timestamp=started)
        detail["trades"] = [(t.order_id, t.size, t.profit_and_loss) for t in found]
        opening = [t for t in found if t.order_id == ctx["market_order"]]
        closing = [t for t in found if t.profit_and_loss is not None]
        check(opening and opening[0].profit_and_loss is None, "opening fill has a P&L")
        check(len(closing) >= 2, "partial close and close fills carry no P&L")

    async def order_search(detail: dict[str, Any]) -> None:
        account = ctx["account"]
        found = await client.orders.search(account, start_timestamp=started)
        detail["orders"] = [(o.id, int(o.status)) for o in found]
        ids = [o.id for o in found]
        check(ctx["market_order"] in ids, "the filled market order not in Order/search")
        check(ids == sorted(ids), "Order/search not oldest first")
        filled = next(o for o in found if o.id == ctx["market_order"])
        check(filled.filled_price == PRICE + TICK and filled.fill_volume == 2, f"{filled}")
        placed = filled.creation_timestamp
        assert placed is not None
        before = await client.orders.search(
            account, start_timestamp=started, end_timestamp=placed - timedelta(milliseconds=1)
        )
        check(ctx["market_order"] not in {o.id for o in before}, "the window's end ignored")

    async def limit_order(detail: dict[str, Any]) -> None:
        account, contract = ctx["account"], ctx["contract"]
        price = PRICE - 20 * TICK
        order_id = await client.orders.buy(
            account, contract, 1, type=OrderType.LIMIT, limit_price=price
        )
        ctx["limit_order"] = order_id
        working = {o.id: o for o in await client.orders.search_open(account)}
        check(order_id in working, f"limit order {order_id} not in searchOpen")
        check(working[order_id].limit_price == price, f"limitPrice {working[order_id]}")

    async def modify(detail: dict[str, Any]) -> None:
        account, order_id = ctx["account"], ctx["limit_order"]
        price = PRICE - 24 * TICK
        mark = events.mark("order")
        await client.orders.modify(account, order_id, limit_price=price, size=2)
        order = await client.orders.get(account, order_id)
        check(order is not None and order.limit_price == price and order.size == 2, f"{order}")
        await events.wait(
            "order", lambda o: o.id == order_id and o.limit_price == price, after=mark
        )

    async def cancel(detail: dict[str, Any]) -> None:
        account, order_id = ctx["account"], ctx["limit_order"]
        await client.orders.cancel(account, order_id)
        working = {o.id for o in await client.orders.search_open(account)}
        check(order_id not in working, "cancelled order still in searchOpen")
        order = await client.orders.get(account, order_id)
        check(order is not None and order.status == OrderStatus.CANCELLED, f"{order}")

    async def stop_order(detail: dict[str, Any]) -> None:
        account, contract = ctx["account"], ctx["contract"]
        stop = PRICE + 8 * TICK
        order_id = await client.orders.buy(
            account, contract, 1, type=OrderType.STOP, stop_price=stop
        )
        working = {o.id: o for o in await client.orders.search_open(account)}
        check(order_id in working and working[order_id].stop_price == stop, f"{working}")
        await sim.price(contract, stop + 2 * TICK)  # through the stop: it fills
        order = await client.orders.wait_for_fill(account, order_id, timeout=10, poll_interval=0.1)
        detail["filledPrice"] = order.filled_price
        check(order.status == OrderStatus.FILLED, f"stop ended {order.status}")
        await client.positions.close(account, contract)
        await sim.price(contract, PRICE)

    async def bracket_order(detail: dict[str, Any]) -> None:
        account, contract = ctx["account"], ctx["contract"]
        # stop_loss_ticks/take_profit_ticks: the SDK signs the distances for the side.
        order_id = await client.orders.buy(
            account, contract, 1, stop_loss_ticks=10, take_profit_ticks=10
        )

        async def children() -> list[Any]:
            kids = [o for o in await client.orders.search_open(account)]
            kids = [o for o in kids if o.parent_order_id == order_id]
            return kids if len(kids) == 2 else []

        kids = {o.type: o for o in await eventually(children, "two open bracket legs")}
        detail["legs"] = {int(t): (o.stop_price, o.limit_price) for t, o in kids.items()}
        entry = PRICE + TICK  # a market buy fills at the ask
        check(kids[OrderType.STOP].stop_price == entry - 10 * TICK, "stop-loss leg price")
        check(kids[OrderType.LIMIT].limit_price == entry + 10 * TICK, "take-profit leg price")
        await sim.price(contract, entry + 10 * TICK)  # the take-profit fills
        await eventually(
            lambda: _flat(client, account, contract), "flat after the take-profit filled"
        )
        sl = await client.orders.get(account, kids[OrderType.STOP].id)
        check(sl is not None and sl.status == OrderStatus.CANCELLED, f"OCO stop-loss left {sl}")
        await sim.price(contract, PRICE)

    async def order_v2_query(detail: dict[str, Any]) -> None:
        account, contract = ctx["account"], ctx["contract"]
        entry = await client.orders.place(
            account,
            contract,
            side=OrderSide.BUY,
            type=OrderType.LIMIT,
            size=1,
            limit_price=PRICE - 40 * TICK,
            stop_loss_bracket=PlaceOrderBracket(ticks=-12, type=OrderType.STOP),
            take_profit_bracket=PlaceOrderBracket(ticks=12, type=OrderType.LIMIT),
        )
        try:
            page = await client.orders.query(account, include_total_count=True, page_size=50)
            got = page.orders or []
            detail["orders"] = [(o.id, int(o.status)) for o in got[:5]]
            detail["totalCount"] = page.total_count
            suspended = [o for o in got if o.parent_order_id == entry]
            check(
                len(suspended) == 2 and all(o.status == OrderStatus.SUSPENDED for o in suspended),
                "the entry's two suspended legs not in Order/v2/query",
            )
            ids = [o.id for o in got]
            check(ids == sorted(ids, reverse=True), "Order/v2/query not newest first")
            check(page.total_count is not None and page.total_count >= len(got), "totalCount")
        finally:
            await client.orders.cancel(account, entry)

    async def bracket_wrong_sign(detail: dict[str, Any]) -> None:
        account, contract = ctx["account"], ctx["contract"]
        # PlaceOrderBracket's docs: "the gateway rejects the wrong sign". A long entry with
        # its stop-loss 10 ticks above and its take-profit 10 below:
        try:
            entry = await client.orders.place(
                account,
                contract,
                side=OrderSide.BUY,
                type=OrderType.LIMIT,
                size=1,
                limit_price=PRICE - 40 * TICK,
                stop_loss_bracket=PlaceOrderBracket(ticks=10, type=OrderType.STOP),
                take_profit_bracket=PlaceOrderBracket(ticks=-10, type=OrderType.LIMIT),
            )
        except APIError as error:
            detail["error"] = str(error)
            check(error.error_code == 2, f"refused with code {error.error_code}, not 2")
        else:
            await client.orders.cancel(account, entry)
            raise StepFailed(f"wrong-signed bracket ticks were accepted (order {entry})")

    async def relogin_after_expiry(detail: dict[str, Any]) -> None:
        # Every token the simulator issued now answers 401: the SDK logs in again once.
        before = client.http.token
        await sim.fault("expire_tokens")
        found = await client.accounts.search()
        check(found and client.http.token != before, "no new login after the 401")

    async def reconnect(detail: dict[str, Any]) -> None:
        account, contract = ctx["account"], ctx["contract"]
        await sim.fault("drop_connections")
        await eventually(
            lambda: not user_hub.connected or not market_hub.connected,
            "the hubs noticing the dropped sockets",
            every=0.02,
        )
        await eventually(lambda: user_hub.connected and market_hub.connected, "both hubs back")
        # The SDK re-subscribes on every reconnect: new events must flow on both hubs.
        quote_mark, order_mark = events.mark("quote"), events.mark("order")

        async def quoted() -> bool:
            await sim.price(contract, PRICE + 4 * TICK)
            await sim.price(contract, PRICE)
            return events.mark("quote") > quote_mark

        await eventually(quoted, "a quote after the reconnect")
        order_id = await client.orders.buy(
            account, contract, 1, type=OrderType.LIMIT, limit_price=PRICE - 30 * TICK
        )
        await client.orders.cancel(account, order_id)
        await events.wait("order", lambda o: o.id == order_id, after=order_mark)
        detail["quotesAfter"] = events.mark("quote") - quote_mark

    plan = [
        ("rest.ping", ping, ()),
        ("rest.login", login, ()),
        ("rest.validate", validate, ("rest.login",)),
        ("rest.accounts", accounts, ("rest.login",)),
        ("rest.contract_search", contract_search, ("rest.login",)),
        ("rest.contract_by_id", contract_by_id, ("rest.contract_search",)),
        ("rest.bars", bars, ("rest.contract_search",)),
        ("rest.bars_closed_hours", bars_closed_hours, ("rest.contract_search",)),
        ("rest.live_flag", live_flag, ("rest.contract_search",)),
        ("hub.user_connect", user_hub_connect, ("rest.accounts",)),
        ("hub.market_connect", market_hub_connect, ("rest.contract_search",)),
        ("hub.quotes", quotes, ("hub.market_connect",)),
        ("hub.market_trades", market_trades, ("hub.quotes",)),
        ("hub.depth", depth, ("hub.market_connect",)),
        ("rest.market_order", market_order, ("rest.accounts", "rest.contract_search")),
        ("hub.order_event", hub_order, ("hub.user_connect", "rest.market_order")),
        ("hub.position_event", hub_position, ("hub.user_connect", "rest.market_order")),
        ("hub.trade_event", hub_trade, ("hub.user_connect", "rest.market_order")),
        ("hub.account_event", hub_account, ("hub.user_connect", "rest.market_order")),
        ("rest.partial_close", partial_close, ("rest.market_order",)),
        ("rest.close", close, ("rest.partial_close", "hub.user_connect")),
        ("rest.trades", trades, ("rest.close",)),
        ("rest.order_search", order_search, ("rest.market_order",)),
        ("rest.limit_order", limit_order, ("rest.accounts", "rest.contract_search")),
        ("rest.modify", modify, ("rest.limit_order", "hub.user_connect")),
        ("rest.cancel", cancel, ("rest.limit_order",)),
        ("rest.stop_order", stop_order, ("rest.accounts", "rest.contract_search")),
        ("rest.bracket_order", bracket_order, ("rest.accounts", "rest.contract_search")),
        ("rest.order_v2_query", order_v2_query, ("rest.accounts", "rest.contract_search")),
        ("rest.bracket_wrong_sign", bracket_wrong_sign, ("rest.accounts", "rest.contract_search")),
        ("hub.reconnect", reconnect, ("hub.user_connect", "hub.market_connect")),
        ("rest.relogin_after_expiry", relogin_after_expiry, ("rest.login",)),
    ]
    try:
        await steps.installed("topstep-sdk")
        for name, body, needs in plan:
            await steps.run(name, body, needs=needs)
    finally:
        await user_hub.stop()
        await market_hub.stop()
        await client.aclose()


def client_at(url: str, cfg: dict[str, Any]) -> AsyncTopstepClient:
    """topstep-sdk's client for the simulator at ``url`` (REST and both hubs), one retry."""
    return AsyncTopstepClient(
        Config(
            username=cfg["username"],
            api_key=cfg["apiKey"],
            rest_base_url=url,
            user_hub_url=f"{url}/hubs/user",
            market_hub_url=f"{url}/hubs/market",
            max_retries=1,
        )
    )


async def _flat(client: AsyncTopstepClient, account: int, contract: str) -> bool:
    positions = await client.positions.search_open(account)
    return not [p for p in positions if p.contract_id == contract]


if __name__ == "__main__":
    asyncio.run(main())
