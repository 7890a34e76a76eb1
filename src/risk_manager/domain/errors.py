"""One small exception hierarchy, grouped by the reaction each failure needs (DESIGN.md style 3).

Refusals and enforcements are values; these are for failures.
"""

from __future__ import annotations


class RiskManagerError(Exception):
    """Base of every error the project raises on purpose."""


class RefuseToStart(RiskManagerError):
    """Bad configuration or environment: the daemon must not start."""


class RetryLater(RiskManagerError):
    """The broker is busy or unreachable (429, 5xx, timeouts): retry with backoff."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BrokerRefused(RiskManagerError):
    """The broker answered ``success: false`` for a business reason; carries its code."""

    def __init__(self, endpoint: str, code: int, name: str, message: str | None) -> None:
        detail = f": {message}" if message else ""
        super().__init__(f"{endpoint} refused with errorCode {code} ({name}){detail}")
        self.endpoint = endpoint
        self.code = code
        self.name = name
        self.broker_message = message


class AuthenticationFailed(RiskManagerError):
    """Login or token validation failed; the operator must fix credentials."""


class NeedsOperator(RiskManagerError):
    """Enforcement could not be completed after retries: a human must act."""
