"""A circuit breaker: after N consecutive gateway failures, fail fast for a cool-down."""

from __future__ import annotations

import time

from risk_manager.domain.errors import RetryLater
from risk_manager.types import Monotonic

# Short: the breaker paces calls to a failing gateway, it must not keep one that came back unused
# (a 30 s cool-down held a recovered gateway idle while a position stayed open; RULES.md §5).
COOLDOWN = 2.0


class CircuitOpen(RetryLater):
    """Failing fast while the breaker is open; not retried by the client."""


class CircuitBreaker:
    """Closed → (``threshold`` consecutive failures) → open for ``cooldown`` seconds → half-open.

    Half-open lets requests through; the first success closes it, a failure re-opens it. Only
    infrastructure failures (5xx, timeouts, connection errors) count, never business refusals.
    """

    def __init__(
        self,
        threshold: int = 5,
        cooldown: float = COOLDOWN,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        if threshold < 1 or cooldown <= 0:
            raise ValueError("circuit breaker needs threshold >= 1 and cooldown > 0")
        self._threshold = threshold
        self._cooldown = cooldown
        self._monotonic = monotonic
        self._failures = 0
        self._opened_at: float | None = None
        self.openings = 0  # times it went from closed to open (the alert watch counts them)

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._monotonic() - self._opened_at >= self._cooldown:
            return "half-open"
        return "open"

    def check(self, endpoint: str) -> None:
        """Raise ``RetryLater`` while open; pass when closed or half-open."""
        if self._opened_at is None:
            return
        remaining = self._cooldown - (self._monotonic() - self._opened_at)
        if remaining > 0:
            raise CircuitOpen(
                f"{endpoint}: circuit open after {self._failures} consecutive gateway failures; "
                f"retry in {remaining:.1f}s",
                retry_after=remaining,
            )

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None

    def record_failure(self) -> None:
        self._failures += 1
        if self._opened_at is None and self._failures >= self._threshold:
            self.openings += 1
        if self._opened_at is not None or self._failures >= self._threshold:
            # Re-arm on a failed half-open probe as well as on reaching the threshold.
            self._opened_at = self._monotonic()
