"""Shared pieces of the end-to-end tests: a trader talking to the simulator over HTTP, the
poller every test waits with, and the config text a daemon is started from."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from risk_manager.sim.server import DEFAULT_API_KEY, DEFAULT_USERNAME
from support.sim_gateway import SimGateway

T = TypeVar("T")

BUY, SELL = 0, 1
LIMIT, MARKET, STOP = 1, 2, 4
WORKING = (1, 6)  # Open, Pending
DEADLINE = 10.0  # seconds any enforcement may take to become visible


def number(price: str) -> int | float:
    """A price for a JSON body. The simulator reads JSON numbers as exact decimals, and a
    float's repr is the shortest text that round-trips, so ``"20950.25"`` arrives exact."""
    value = Decimal(price)
    return int(value) if value == value.to_integral_value() else float(price)


async def wait_for(
    probe: Callable[[], Awaitable[T | None]], what: str, within: float = DEADLINE
) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {within}s waiting for {what}; last probe: {last!r}")


class SimTrader(SimGateway):
    """A trader on the first account and the test's hand on the simulator: REST as a trader,
    ``/sim/`` as the test."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        super().__init__(session, url)
        self.account_id = 0
        self._contracts: dict[str, str] = {}

    async def login(self) -> None:
        await super().login()
        accounts = await self.api("Account/search", {"onlyActiveAccounts": True})
        self.account_id = int(accounts["accounts"][0]["id"])

    async def contract(self, symbol: str) -> str:
        """The front-month contract id of a symbol, found as a trader would."""
        if symbol not in self._contracts:
            reply = await self.api("Contract/search", {"searchText": symbol, "live": False})
            # ids use the gateway's root (NQ is F.US.ENQ); names start with the symbol
            contracts = reply["contracts"]
            ids = [c["id"] for c in contracts if c["id"].split(".")[3] == symbol]
            ids = ids or [c["id"] for c in contracts if c["name"].startswith(symbol)]
            assert ids, f"no contract for {symbol}: {reply}"
            self._contracts[symbol] = ids[0]
        return self._contracts[symbol]

    # -- orders -------------------------------------------------------------------------------

    async def place(self, symbol: str, side: int, size: int, **fields: Any) -> dict[str, Any]:
        body = {"accountId": self.account_id, "contractId": await self.contract(symbol)}
        body |= {"side": side, "size": size, "type": MARKET} | fields
        return await self.api("Order/place", body)

    async def market(self, symbol: str, side: int, size: int) -> int:
        reply = await self.place(symbol, side, size)
        assert reply["success"], reply
        return int(reply["orderId"])

    async def limit(self, symbol: str, side: int, size: int, price: str) -> int:
        reply = await self.place(symbol, side, size, type=LIMIT, limitPrice=number(price))
        assert reply["success"], reply
        return int(reply["orderId"])

    async def stop(self, symbol: str, side: int, size: int, price: str) -> int:
        reply = await self.place(symbol, side, size, type=STOP, stopPrice=number(price))
        assert reply["success"], reply
        return int(reply["orderId"])

    # -- the simulator ------------------------------------------------------------------------

    async def set_price(self, symbol: str, price: str) -> None:
        body = {"contractId": await self.contract(symbol), "price": number(price)}
        await self.control("price", body)

    async def positions(self, symbol: str | None = None) -> dict[str, int]:
        """Open positions of the account: contract id → signed size (long +, short −)."""
        cid = None if symbol is None else await self.contract(symbol)
        found = {}
        for p in (await self.state())["positions"]:
            if p["accountId"] == self.account_id and cid in (None, p["contractId"]):
                found[p["contractId"]] = p["size"] * (1 if p["type"] == 1 else -1)
        return found

    async def size(self, symbol: str) -> int:
        """The account's signed position in ``symbol`` (0 when flat)."""
        return (await self.positions(symbol)).get(await self.contract(symbol), 0)

    async def order(self, order_id: int) -> dict[str, Any]:
        orders = (await self.state())["orders"]
        return next(o for o in orders if o["id"] == order_id)

    async def working_orders(self) -> list[dict[str, Any]]:
        orders = (await self.state())["orders"]
        return [o for o in orders if o["accountId"] == self.account_id and o["status"] in WORKING]

    async def balance(self) -> Decimal:
        accounts = (await self.state())["accounts"]
        return Decimal(str(next(a for a in accounts if a["id"] == self.account_id)["balance"]))

    # -- waits on the simulator's state -------------------------------------------------------

    async def wait_flat(self, symbol: str | None = None, what: str = "the account flat") -> None:
        async def flat() -> bool:
            return not await self.positions(symbol)

        await wait_for(flat, what)

    async def wait_size(self, symbol: str, size: int) -> None:
        async def sized() -> bool:
            return await self.size(symbol) == size

        await wait_for(sized, f"{symbol} position of {size}")

    async def wait_cancelled(self, order_id: int) -> None:
        async def cancelled() -> bool:
            return bool((await self.order(order_id))["status"] == 3)

        await wait_for(cancelled, f"order {order_id} cancelled")

    async def open_position(self, symbol: str, side: int, size: int) -> None:
        """A market order that must fill and stay (checked on the simulator)."""
        await self.market(symbol, side, size)
        await self.wait_size(symbol, size if side == BUY else -size)

    async def round_trip(self, symbol: str, side: int, size: int, exit_price: str) -> None:
        """Open at the current price, move the market to ``exit_price``, close at market."""
        await self.open_position(symbol, side, size)
        await self.set_price(symbol, exit_price)
        await self.market(symbol, SELL if side == BUY else BUY, size)


def config_text(sim_url: str, db: Path, rules: str, extra: str = "") -> str:
    """A daemon config for the simulator at ``sim_url``; ``rules`` is the YAML under
    ``rules:`` (indented by two spaces), ``extra`` more top-level sections."""
    return f"""{extra}
broker:
  api_url: {sim_url}
  user_hub_url: {sim_url}/hubs/user
  market_hub_url: {sim_url}/hubs/market
  username: {DEFAULT_USERNAME}
  api_key: {DEFAULT_API_KEY}
store:
  path: {db}
api:
  port: 0
logging:
  level: DEBUG
  format: text
rules:
  retry_after: 1s
{rules}
"""
