"""Gateway failures → the project's own exceptions (DESIGN.md style 4).

Every ``errorCode`` of every endpoint (``ENDPOINT_ERROR_CODES``) maps to a class here; a test
walks the whole table. HTTP-level failures map by status.
"""

from __future__ import annotations

from enum import IntEnum

from risk_manager.domain.error_codes import ENDPOINT_ERROR_CODES, error_code_name
from risk_manager.domain.errors import (
    AuthenticationFailed,
    BrokerRefused,
    RetryLater,
    RiskManagerError,
)

AUTH_ENDPOINTS = frozenset({"Auth/loginKey", "Auth/loginApp", "Auth/validate"})
"""A refusal here means the credentials or session are bad, not the request."""

WRITE_ENDPOINTS = frozenset(
    {
        "Order/place",
        "Order/modify",
        "Order/cancel",
        "Position/closeContract",
        "Position/partialCloseContract",
    }
)
"""Never retried by the client: the caller reads the state first (pitfall §12)."""


class OrderRefused(BrokerRefused):
    """``Order/place`` answered ``success: false``; ``order_id`` is set when one was allocated.

    A refused order may still exist on the gateway (API doc §5.6), so callers must not assume
    that a refusal means nothing was created.
    """

    def __init__(
        self, endpoint: str, code: int, name: str, message: str | None, order_id: int | None
    ) -> None:
        super().__init__(endpoint, code, name, message)
        self.order_id = order_id
        if order_id is not None:
            self.args = (f"{self.args[0]} (orderId {order_id} was allocated)",)


class RateLimited(RetryLater):
    """HTTP 429; the rate limiter already holds every caller back for ``retry_after``."""


def exception_class_for(endpoint: str, code: int) -> type[RiskManagerError]:
    """The class raised when ``endpoint`` answers ``success: false`` with ``code``."""
    if endpoint in AUTH_ENDPOINTS:
        return AuthenticationFailed
    if endpoint == "Order/place":
        return OrderRefused
    return BrokerRefused


def refusal(
    endpoint: str, code: int, message: str | None, order_id: int | None = None
) -> RiskManagerError:
    """The exception for a ``success: false`` envelope."""
    name = error_code_name(endpoint, code)
    cls = exception_class_for(endpoint, code)
    if cls is AuthenticationFailed:
        detail = f": {message}" if message else ""
        return AuthenticationFailed(
            f"{endpoint} refused with errorCode {code} ({name}){detail}; "
            "check the username and API key (and the API subscription) in the config"
        )
    if cls is OrderRefused:
        return OrderRefused(endpoint, code, name, message, order_id)
    return BrokerRefused(endpoint, code, name, message)


def http_failure(endpoint: str, status: int, retry_after: float | None) -> RiskManagerError:
    """The exception for a non-200 answer (401 is handled by the token logic before this)."""
    if status == 429:
        return RateLimited(f"{endpoint}: rate limited (HTTP 429)", retry_after=retry_after)
    if status >= 500:
        return RetryLater(f"{endpoint}: gateway error HTTP {status}", retry_after=retry_after)
    if status == 401:
        return AuthenticationFailed(
            f"{endpoint}: HTTP 401 even with a fresh token; check the API key and subscription"
        )
    return BrokerRefused(endpoint, status, f"HTTP{status}", "unexpected HTTP status")


def all_codes() -> list[tuple[str, IntEnum]]:
    """Every (endpoint, code) pair the gateway documents, for completeness checks."""
    return [(ep, member) for ep, enum in ENDPOINT_ERROR_CODES.items() for member in enum]
