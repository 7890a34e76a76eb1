"""One REST call against the gateway: rate limit, circuit breaker, bearer token, envelope.

Reads (idempotent searches) are retried with capped, jittered backoff; writes (place, modify,
cancel, close, partial close) are never retried here: after any doubt the caller reads the
account's state first and decides (pitfall §12, DESIGN.md library notes).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Mapping
from decimal import Decimal

import aiohttp

from risk_manager.domain.errors import (
    AuthenticationFailed,
    BrokerRefused,
    RetryLater,
    RiskManagerError,
)
from risk_manager.projectx.backoff import backoff_delay, parse_retry_after
from risk_manager.projectx.circuit import CircuitBreaker, CircuitOpen
from risk_manager.projectx.error_map import WRITE_ENDPOINTS, RateLimited, http_failure, refusal
from risk_manager.projectx.rate_limit import GatewayRateLimiter
from risk_manager.projectx.token import TokenManager
from risk_manager.projectx.wire_values import is_json_int
from risk_manager.types import JSON, Sleep

_log = logging.getLogger(__name__)

# A 429 without Retry-After holds requests at most this long: enforcement waits behind the hold,
# so it paces like the enforcer's own retries (docs/RUNTIME.md), never for a minute.
RATE_LIMITED_CAP = 5.0


def _encode(value: object) -> object:
    # Decimal → float only for encoding: float's shortest repr prints the same digits for any
    # price with <= 15 significant digits, so the wire text is exact. No arithmetic happens here.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(body: Mapping[str, object]) -> str:
    return json.dumps(body, default=_encode, separators=(",", ":"))


_DECODER = json.JSONDecoder(parse_float=Decimal)  # built once (json.loads(…, parse_float=)
# builds a decoder per call)


def loads(text: str) -> object:
    """JSON with every non-integer number as ``Decimal`` (money never passes through float)."""
    return _DECODER.decode(text)


class RestTransport:
    def __init__(
        self,
        base_url: str,
        session: aiohttp.ClientSession,
        limiter: GatewayRateLimiter,
        breaker: CircuitBreaker,
        *,
        timeout: float = 10.0,
        read_attempts: int = 4,
        retry_base: float = 0.5,
        retry_cap: float = 10.0,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._base = base_url.rstrip("/")
        if not self._base.endswith("/api"):
            self._base += "/api"
        self._session = session
        self._limiter = limiter
        self._breaker = breaker
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._read_attempts = max(1, read_attempts)
        self._retry_base = retry_base
        self._retry_cap = retry_cap
        self._sleep = sleep
        self._rand = rand
        self._consecutive_429 = 0
        self.tokens: TokenManager | None = None
        # Told of every failed attempt as (endpoint, kind): the daemon's metrics listen here.
        self.on_error: Callable[[str, str], None] | None = None

    def _report(self, endpoint: str, kind: str) -> None:
        if self.on_error is not None:
            self.on_error(endpoint, kind)

    def url(self, endpoint: str) -> str:
        return f"{self._base}/{endpoint}"

    async def call(
        self,
        endpoint: str,
        body: Mapping[str, object] | None = None,
        *,
        auth: bool = True,
        bearer: str | None = None,
    ) -> JSON:
        """POST ``body`` to ``/api/<endpoint>``; return the envelope of a ``success: true``."""
        is_write = endpoint in WRITE_ENDPOINTS
        renewed = False
        attempt = 0
        while True:
            token = bearer
            if auth and token is None:
                if self.tokens is None:
                    raise RuntimeError("RestTransport.tokens must be set for authenticated calls")
                token = await self.tokens.get()
            try:
                return await self._once(endpoint, body, token)
            except BrokerRefused:
                self._report(endpoint, "refused")
                raise
            except _Unauthorized:
                self._report(endpoint, "unauthorized")
                if not auth or bearer is not None or renewed or self.tokens is None:
                    raise AuthenticationFailed(
                        f"{endpoint}: HTTP 401; check the API key and its API subscription"
                    ) from None
                renewed = True
                assert token is not None
                await self.tokens.invalidate(token)
                if is_write:
                    raise RetryLater(
                        f"{endpoint}: HTTP 401; session renewed but a write is never retried "
                        "blindly: read the account state, then decide",
                        retry_after=0.0,
                    ) from None
                continue
            except RetryLater as exc:
                self._report(
                    endpoint, "rate_limited" if isinstance(exc, RateLimited) else "unavailable"
                )
                attempt += 1
                if is_write or attempt >= self._read_attempts or isinstance(exc, CircuitOpen):
                    raise
                if isinstance(exc, RateLimited):
                    delay = 0.0  # the limiter already holds everyone back until Retry-After
                else:
                    delay = max(
                        backoff_delay(
                            attempt - 1, base=self._retry_base, cap=self._retry_cap, rand=self._rand
                        ),
                        exc.retry_after or 0.0,
                    )
                _log.info("%s failed (%s); retry %d in %.2fs", endpoint, exc, attempt, delay)
                if delay > 0:
                    await self._sleep(delay)

    async def _once(
        self, endpoint: str, body: Mapping[str, object] | None, token: str | None
    ) -> JSON:
        self._breaker.check(endpoint)
        counted = await self._limiter.acquire(endpoint)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self._session.post(
                self.url(endpoint),
                data=dumps(body or {}),
                headers=headers,
                timeout=self._timeout,
            ) as resp:
                status = resp.status
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                text = await resp.text()
        except (TimeoutError, aiohttp.ClientError) as exc:
            self._breaker.record_failure()
            raise RetryLater(f"{endpoint}: {type(exc).__name__} talking to the gateway") from None
        finally:
            self._limiter.settle(endpoint, counted)  # the gateway has counted it by now
        return self._interpret(endpoint, status, retry_after, text)

    def _interpret(self, endpoint: str, status: int, retry_after: float | None, text: str) -> JSON:
        if status == 401:
            raise _Unauthorized
        if status == 429:
            self._consecutive_429 += 1
            wait = retry_after
            if wait is None:
                wait = backoff_delay(
                    self._consecutive_429, base=1.0, cap=RATE_LIMITED_CAP, rand=self._rand
                )
            self._limiter.penalize(endpoint, wait)
            _log.warning("%s: HTTP 429; holding requests for %.1fs", endpoint, wait)
            raise http_failure(endpoint, status, wait)
        self._consecutive_429 = 0
        if status >= 500:
            self._breaker.record_failure()
            raise http_failure(endpoint, status, retry_after)
        if status != 200:
            # 400/404/405: the request itself is wrong; retrying cannot help.
            self._breaker.record_success()
            err: RiskManagerError = http_failure(endpoint, status, None)
            raise err
        self._breaker.record_success()
        try:
            payload = loads(text)
        except ValueError:
            raise RetryLater(f"{endpoint}: gateway sent a body that is not JSON") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("success"), bool):
            raise RetryLater(f"{endpoint}: gateway sent no response envelope")
        if not payload["success"]:
            code = payload.get("errorCode")
            message = payload.get("errorMessage")
            order_id = payload.get("orderId")
            raise refusal(
                endpoint,
                code if is_json_int(code) else -1,
                message if isinstance(message, str) else None,
                order_id if is_json_int(order_id) else None,
            )
        return payload

    async def get_text(self, endpoint: str) -> str:
        """A plain GET (only ``Status/ping``): no envelope, no token needed."""
        self._breaker.check(endpoint)
        counted = await self._limiter.acquire(endpoint)
        try:
            async with self._session.get(self.url(endpoint), timeout=self._timeout) as resp:
                text = await resp.text()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            self._breaker.record_failure()
            raise RetryLater(f"{endpoint}: {type(exc).__name__} talking to the gateway") from None
        finally:
            self._limiter.settle(endpoint, counted)
        if status >= 500:
            self._breaker.record_failure()
        else:
            self._breaker.record_success()
        if status != 200:
            raise http_failure(endpoint, status, None)
        return text


class _Unauthorized(Exception):
    """Internal: HTTP 401, handled by renewing the token once."""
