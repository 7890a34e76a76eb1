"""Circuit breaker states, driven by a fake monotonic clock."""

from __future__ import annotations

import pytest

from projectx.px_fakes import FakeClock
from risk_manager.domain.errors import RetryLater
from risk_manager.projectx.circuit import CircuitBreaker, CircuitOpen


def test_opens_after_threshold_and_fails_fast_until_cooldown(clock: FakeClock) -> None:
    breaker = CircuitBreaker(threshold=3, cooldown=10.0, monotonic=clock.monotonic)
    for _ in range(2):
        breaker.record_failure()
        breaker.check("Order/search")
    breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen) as info:
        breaker.check("Order/search")
    assert isinstance(info.value, RetryLater)
    assert info.value.retry_after == 10.0
    assert "Order/search" in str(info.value)
    clock.advance(10)
    assert breaker.state == "half-open"
    breaker.check("Order/search")


def test_a_failed_probe_reopens_and_a_success_closes(clock: FakeClock) -> None:
    breaker = CircuitBreaker(threshold=2, cooldown=5.0, monotonic=clock.monotonic)
    breaker.record_failure()
    breaker.record_failure()
    clock.advance(5)
    breaker.record_failure()  # the half-open probe failed
    assert breaker.state == "open"
    clock.advance(5)
    breaker.record_success()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "closed"  # the count restarted


def test_a_success_resets_the_consecutive_count(clock: FakeClock) -> None:
    breaker = CircuitBreaker(threshold=2, cooldown=5.0, monotonic=clock.monotonic)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="threshold"):
        CircuitBreaker(threshold=0)
