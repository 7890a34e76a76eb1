"""``admin test-connection``: can this config reach and use the gateway? Five steps, each with
a verdict and its reason (API doc §2 login, §7.3 user hub, §7.4 market hub, §3 account
search, §4 contract search). Nothing is placed, changed or subscribed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from risk_manager.config.sections import BrokerConfig
from risk_manager.domain.errors import RiskManagerError
from risk_manager.projectx.client import ProjectXClient
from risk_manager.projectx.hub_connection import HubConnection, HubMessage
from risk_manager.projectx.hubs import MarketHub, UserHub

HUB_TIMEOUT = 10.0  # seconds a hub gets to connect and answer its handshake
SEARCH = "ES"  # the contract search's text: listed on every gateway


@dataclass(frozen=True)
class Step:
    """One step's verdict: ``ok``, and what was found or why it failed (never a secret)."""

    name: str
    ok: bool
    reason: str


def _failure(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, RiskManagerError | OSError | LookupError):
        return f"{type(exc).__name__}: {exc}"
    return f"unexpected {type(exc).__name__}: {exc}"


async def _hub(
    make: Callable[[Callable[[], None], Callable[[str], None]], HubConnection], within: float
) -> str:
    connected = asyncio.Event()
    drops: list[str] = []
    hub = make(connected.set, drops.append)
    async with hub:
        try:
            await asyncio.wait_for(connected.wait(), within)
        except TimeoutError:
            why = drops[-1] if drops else "no handshake"
            raise TimeoutError(f"not connected within {within:.0f} s ({why})") from None
    return "connected and handshake answered"


async def check_connection(broker: BrokerConfig, *, hub_timeout: float = HUB_TIMEOUT) -> list[Step]:
    """Run the five steps against ``broker``; a later step is skipped (not ok) once the login
    fails. ``ConfigError`` when the config has no username or API key."""
    username, api_key = broker.credentials()
    steps: list[Step] = []

    def ignore(_: HubMessage) -> None:
        pass

    async with ProjectXClient(broker.api_url, username, api_key, read_attempts=1) as client:

        async def run(name: str, act: Callable[[], Awaitable[str]]) -> None:
            try:
                steps.append(Step(name, True, await act()))
            except Exception as exc:  # each step's failure is its verdict, not a crash
                steps.append(Step(name, False, _failure(exc)))

        async def login() -> str:
            await client.token()
            return f"logged in as {username}"

        await run("login", login)
        if not steps[0].ok:
            return steps + [
                Step(name, False, "skipped: no login")
                for name in ("user hub", "market hub", "accounts", "contract search")
            ]

        def user(on: Callable[[], None], off: Callable[[str], None]) -> HubConnection:
            return UserHub(
                broker.user_hub_url, client.tokens, ignore, on_connected=on, on_disconnected=off
            )

        def market(on: Callable[[], None], off: Callable[[str], None]) -> HubConnection:
            return MarketHub(
                broker.market_hub_url, client.tokens, ignore, on_connected=on, on_disconnected=off
            )

        async def accounts() -> str:
            found = await client.search_accounts(only_active=True)
            names = ", ".join(f"{a.id} ({a.name})" for a in found[:5])
            more = f" and {len(found) - 5} more" if len(found) > 5 else ""
            return f"{len(found)} active account(s)" + (f": {names}{more}" if found else "")

        async def contracts() -> str:
            found = await client.search_contracts(SEARCH)
            if not found:
                raise LookupError(f"no contract found for {SEARCH!r}")
            return f"{len(found)} contract(s) for {SEARCH!r}, e.g. {found[0].id}"

        await run("user hub", lambda: _hub(user, hub_timeout))
        await run("market hub", lambda: _hub(market, hub_timeout))
        await run("accounts", accounts)
        await run("contract search", contracts)
    return steps
