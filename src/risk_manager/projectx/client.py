"""``ProjectXClient``: typed gateway REST calls returning domain models.

Use as ``async with ProjectXClient(base_url, username, api_key) as client: ...``. Every call goes
through ``RestTransport`` (rate limit, circuit breaker, token, envelope → exceptions). Writes are
never retried by the client; on ``RetryLater`` from a write, read the state before acting again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp
from pydantic import SecretStr

from risk_manager.domain.enums import OrderSide, OrderType
from risk_manager.domain.errors import AuthenticationFailed, BrokerRefused, RetryLater
from risk_manager.domain.models import Account, Order, Position, Trade
from risk_manager.projectx.circuit import CircuitBreaker
from risk_manager.projectx.contract_info import ContractInfo, contract_from_wire
from risk_manager.projectx.mapping import (
    account_from_wire,
    order_from_wire,
    position_from_wire,
    trade_from_wire,
)
from risk_manager.projectx.rate_limit import GatewayRateLimiter
from risk_manager.projectx.replies import list_of, malformed, parse_rows
from risk_manager.projectx.rest import RestTransport
from risk_manager.projectx.token import TokenManager
from risk_manager.projectx.wire_faults import WireFaults
from risk_manager.projectx.wire_values import Fault, WireError, is_json_int
from risk_manager.types import Clock, Monotonic, Sleep, utc_now

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Bracket:
    """An Auto-OCO bracket leg: signed ticks from the entry fill (API doc §5.6)."""

    ticks: int
    type: OrderType


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("timestamps sent to the gateway must be timezone-aware")
    return at.astimezone(UTC).isoformat()


def _span(account_id: int, start: datetime, end: datetime | None) -> dict[str, object]:
    body: dict[str, object] = {"accountId": account_id, "startTimestamp": _iso(start)}
    if end is not None:
        body["endTimestamp"] = _iso(end)
    return body


class ProjectXClient:
    """Typed REST calls. Reads return every row of the reply or raise: a reply without its list,
    a list that is not one, or any row that fails ``mapping``'s checks is ``RetryLater`` (the
    gateway's failure, counted on ``wire_faults``), never an empty or shortened list.

    Every read raises ``RetryLater`` (HTTP 429/5xx, a timeout, a malformed reply) once the
    client's own read retries are spent, ``AuthenticationFailed`` when the login is refused and
    ``BrokerRefused`` on ``success: false``. Writes are never retried here: the enforcer retries
    after reading the broker (docs/RUNTIME.md). Section numbers are the API reference's."""

    def __init__(
        self,
        base_url: str,
        username: str,
        api_key: SecretStr | str,
        *,
        clock: Clock = utc_now,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        limiter: GatewayRateLimiter | None = None,
        breaker: CircuitBreaker | None = None,
        timeout: float = 10.0,
        read_attempts: int = 4,
        retry_base: float = 0.5,
        wire_faults: WireFaults | None = None,
        on_rest_error: Callable[[str, str], None] | None = None,
    ) -> None:
        self.base_url = base_url
        self._username = username
        self._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self._sleep = sleep
        self.limiter = limiter or GatewayRateLimiter(monotonic=monotonic, sleep=sleep)
        self.breaker = breaker or CircuitBreaker(monotonic=monotonic)
        self._timeout = timeout
        self._read_attempts = read_attempts
        self._retry_base = retry_base
        self.wire_faults = wire_faults or WireFaults()
        self._on_rest_error = on_rest_error  # told of every failed attempt: (endpoint, kind)
        self._session: aiohttp.ClientSession | None = None
        self._rest: RestTransport | None = None
        self.tokens = TokenManager(self._login, self._validate, clock)

    def __repr__(self) -> str:
        return f"ProjectXClient(base_url={self.base_url!r}, username={self._username!r})"

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession()
        self._rest = RestTransport(
            self.base_url,
            self._session,
            self.limiter,
            self.breaker,
            timeout=self._timeout,
            read_attempts=self._read_attempts,
            retry_base=self._retry_base,
            sleep=self._sleep,
        )
        self._rest.tokens = self.tokens
        self._rest.on_error = self._on_rest_error
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = None
        self._rest = None

    @property
    def rest(self) -> RestTransport:
        if self._rest is None:
            raise RuntimeError("use ProjectXClient inside `async with`")
        return self._rest

    async def token(self) -> str:
        """A valid session token (for hub connections); logs in on first use."""
        return await self.tokens.get()

    # -- auth (used by the token manager only) --------------------------------------------

    async def _login(self) -> str:
        body = {"userName": self._username, "apiKey": self._api_key.get_secret_value()}
        payload = await self.rest.call("Auth/loginKey", body, auth=False)
        token = payload.get("token")
        if not isinstance(token, str) or not token:
            raise AuthenticationFailed("Auth/loginKey succeeded but returned no token")
        return token

    async def _validate(self, current: str) -> str:
        payload = await self.rest.call("Auth/validate", None, bearer=current)
        token = payload.get("newToken")
        if not isinstance(token, str) or not token:
            raise AuthenticationFailed("Auth/validate succeeded but returned no newToken")
        return token

    # -- reads ------------------------------------------------------------------------------

    async def _read(
        self,
        endpoint: str,
        body: Mapping[str, object],
        key: str,
        parse: Callable[[Mapping[str, Any]], T],
    ) -> list[T]:
        payload = await self.rest.call(endpoint, body)
        rows = list_of(endpoint, payload, key, self.wire_faults)
        return parse_rows(endpoint, rows, parse, self.wire_faults)

    async def ping(self) -> str:
        """``Status/ping``'s answer, ``pong`` when the gateway is up (API doc §5.17).

        The body is most likely the JSON string ``"pong"`` (§12b: the community clients parse
        it as JSON or strip the quotes); a plain-text body is taken as it is."""
        text = await self.rest.get_text("Status/ping")
        try:
            answer = json.loads(text)
        except ValueError:
            return text.strip()
        return answer if isinstance(answer, str) else text.strip()

    async def search_accounts(self, only_active: bool = True) -> list[Account]:
        """The accounts the key sees (API doc §5.1), balances as ``Decimal``. Raises as every
        read."""
        body = {"onlyActiveAccounts": only_active}
        return await self._read("Account/search", body, "accounts", account_from_wire)

    async def search_contracts(self, text: str, live: bool = False) -> list[ContractInfo]:
        """Contracts matching ``text`` (§5.2; ``live`` false for practice/evaluation data).
        Raises as every read."""
        body = {"searchText": text, "live": live}
        return await self._read("Contract/search", body, "contracts", contract_from_wire)

    async def contract_by_id(self, contract_id: str) -> ContractInfo:
        """One contract by its id (§5.3: ``contract``, or the older ``contracts`` array).
        Raises ``BrokerRefused`` (CONTRACT_NOT_FOUND) for an unknown id; otherwise as the reads."""
        endpoint = "Contract/searchById"
        payload = await self.rest.call(endpoint, {"contractId": contract_id})
        # Current docs answer `contract`; the April-2025 docs showed a `contracts` array (§5.3).
        row = payload.get("contract")
        if row is None and "contracts" in payload:
            rows = list_of(endpoint, payload, "contracts", self.wire_faults)
            row = rows[0] if rows else None
        elif row is None and "contract" not in payload:
            error = WireError("contract", Fault.MALFORMED, "reply without `contract`")
            raise malformed(endpoint, error, self.wire_faults)
        if row is None:
            raise BrokerRefused(endpoint, 1, "CONTRACT_NOT_FOUND", f"no contract {contract_id}")
        return parse_rows(endpoint, [row], contract_from_wire, self.wire_faults)[0]

    async def available_contracts(self, live: bool = False) -> list[ContractInfo]:
        """Every listed contract (§5.4). Raises as every read."""
        body = {"live": live}
        return await self._read("Contract/available", body, "contracts", contract_from_wire)

    async def search_open_positions(self, account_id: int) -> list[Position]:
        """The account's open positions (§5.13), sizes in contracts, prices ``Decimal``.
        Raises as every read."""
        body = {"accountId": account_id}
        return await self._read("Position/searchOpen", body, "positions", position_from_wire)

    async def search_open_orders(self, account_id: int) -> list[Order]:
        """The account's working orders (§5.10). Raises as every read."""
        body = {"accountId": account_id}
        return await self._read("Order/searchOpen", body, "orders", order_from_wire)

    async def search_orders(
        self, account_id: int, start: datetime, end: datetime | None = None
    ) -> list[Order]:
        """The account's orders created in [``start``, ``end``] (UTC; §5.9), any status.
        Raises as every read."""
        body = _span(account_id, start, end)
        return await self._read("Order/search", body, "orders", order_from_wire)

    async def search_trades(
        self, account_id: int, start: datetime, end: datetime | None = None
    ) -> list[Trade]:
        """The account's fills in [``start``, ``end``] (UTC; §5.16), P&L and fees ``Decimal``
        (an opening fill has no P&L). Raises as every read."""
        body = _span(account_id, start, end)
        return await self._read("Trade/search", body, "trades", trade_from_wire)

    # -- writes (never retried here) ---------------------------------------------------------

    async def place_order(
        self,
        account_id: int,
        contract_id: str,
        type: OrderType,
        side: OrderSide,
        size: int,
        *,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        trail_price: Decimal | None = None,
        custom_tag: str | None = None,
        stop_loss_bracket: Bracket | None = None,
        take_profit_bracket: Bracket | None = None,
    ) -> int:
        """Place an order (API doc §5.6); prices ``Decimal``, sizes in contracts; returns the new
        order's id. Never retried here. Raises ``OrderRefused`` (a ``BrokerRefused``) on
        ``success: false``, carrying ``order_id`` when the gateway allocated one anyway;
        ``RetryLater`` for a 429/5xx/timeout or a success without an id (read open orders)."""
        body: dict[str, object] = {
            "accountId": account_id,
            "contractId": contract_id,
            "type": int(type),
            "side": int(side),
            "size": size,
            "limitPrice": limit_price,
            "stopPrice": stop_price,
            "trailPrice": trail_price,
            "customTag": custom_tag,
        }
        for key, bracket in (
            ("stopLossBracket", stop_loss_bracket),
            ("takeProfitBracket", take_profit_bracket),
        ):
            if bracket is not None:
                body[key] = {"ticks": bracket.ticks, "type": int(bracket.type)}
        payload = await self.rest.call("Order/place", body)
        order_id = payload.get("orderId")
        if not is_json_int(order_id):
            raise RetryLater("Order/place succeeded without an orderId: read open orders")
        return order_id

    async def modify_order(
        self,
        account_id: int,
        order_id: int,
        *,
        size: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        trail_price: Decimal | None = None,
    ) -> None:
        """Modify a working order (§5.7); ``None`` fields are sent as null, which the gateway
        treats as unchanged. Never retried here; raises ``BrokerRefused``, ``RetryLater`` or
        ``AuthenticationFailed``."""
        await self.rest.call(
            "Order/modify",
            {
                "accountId": account_id,
                "orderId": order_id,
                "size": size,
                "limitPrice": limit_price,
                "stopPrice": stop_price,
                "trailPrice": trail_price,
            },
        )

    async def cancel_order(self, account_id: int, order_id: int) -> None:
        """Cancel a working order (§5.8). Never retried here (the enforcer retries after reading
        the broker); raises ``BrokerRefused``, ``RetryLater`` or ``AuthenticationFailed``."""
        await self.rest.call("Order/cancel", {"accountId": account_id, "orderId": order_id})

    async def close_position(self, account_id: int, contract_id: str) -> None:
        """Close the whole position in ``contract_id`` at market (§5.14). Never retried here;
        raises ``BrokerRefused``, ``RetryLater`` or ``AuthenticationFailed``."""
        await self.rest.call(
            "Position/closeContract", {"accountId": account_id, "contractId": contract_id}
        )

    async def partial_close_position(self, account_id: int, contract_id: str, size: int) -> None:
        """Close ``size`` contracts of the position at market (§5.15). Never retried here;
        raises ``BrokerRefused``, ``RetryLater`` or ``AuthenticationFailed``."""
        await self.rest.call(
            "Position/partialCloseContract",
            {"accountId": account_id, "contractId": contract_id, "size": size},
        )


__all__: Sequence[str] = ("Bracket", "ProjectXClient")
