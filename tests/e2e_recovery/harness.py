"""A trader and a control client for a simulator over real sockets, the daemon's config, and
polling helpers (deadlines, never guessed sleeps)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import yaml

from support.sim_gateway import CREDENTIALS, SimGateway

T = TypeVar("T")

BUY, SELL = 0, 1
MARKET = 2
TIMEOUT = aiohttp.ClientTimeout(total=10)  # a stuck request fails the test instead of hanging


async def eventually(
    probe: Callable[[], Awaitable[T | None]], within: float, what: str, every: float = 0.02
) -> T:
    """Poll ``probe`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + within
    while True:
        got = await probe()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(every)


class SimClient(SimGateway):
    """The trader (REST with a token, any account) and the test's hand on ``/sim/``."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        super().__init__(session, url)

    async def price(self, contract_id: str, price: Decimal) -> None:
        await self.control("price", {"contractId": contract_id, "price": float(price)})

    async def accounts(self) -> list[int]:
        reply = await self.api("Account/search", {"onlyActiveAccounts": True})
        return [int(a["id"]) for a in reply["accounts"]]

    async def contract(self, symbol: str) -> str:
        reply = await self.api("Contract/available", {"live": False})
        return str(next(c["id"] for c in reply["contracts"] if c["id"].split(".")[3] == symbol))

    async def market(self, account_id: int, contract_id: str, side: int, size: int) -> int:
        reply = await self.api(
            "Order/place",
            {
                "accountId": account_id,
                "contractId": contract_id,
                "type": MARKET,
                "side": side,
                "size": size,
            },
        )
        assert reply["success"], reply
        return int(reply["orderId"])


def write_config(
    path: Path,
    sim_url: str,
    *,
    db: Path,
    api_port: int,
    rules: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> Path:
    """The daemon's config file; ``extra``: more top-level sections (``alerts``, say)."""
    config: dict[str, Any] = {
        "broker": {
            "api_url": sim_url,
            "user_hub_url": f"{sim_url}/hubs/user",
            "market_hub_url": f"{sim_url}/hubs/market",
            "username": CREDENTIALS["userName"],
            "api_key": CREDENTIALS["apiKey"],
        },
        "rules": rules,
        "store": {"path": str(db)},
        "api": {"host": "127.0.0.1", "port": api_port},
        "logging": {"level": "INFO", "format": "text"},
    } | (extra or {})
    path.write_text(yaml.safe_dump(config))
    return path
