"""Every gateway errorCode maps to a project exception with the code's name."""

from __future__ import annotations

import pytest

from risk_manager.domain.error_codes import ENDPOINT_ERROR_CODES
from risk_manager.domain.errors import AuthenticationFailed, BrokerRefused, RetryLater
from risk_manager.projectx.error_map import (
    OrderRefused,
    RateLimited,
    all_codes,
    exception_class_for,
    http_failure,
    refusal,
)


def test_every_code_of_every_endpoint_maps_to_a_named_project_exception() -> None:
    pairs = all_codes()
    assert len(pairs) >= sum(len(enum) for enum in ENDPOINT_ERROR_CODES.values())
    for endpoint, member in pairs:
        if member.value == 0:
            continue  # Success is not a failure
        exc = refusal(endpoint, member.value, "why")
        assert isinstance(exc, exception_class_for(endpoint, member.value))
        assert member.name in str(exc), (endpoint, member)
        assert str(member.value) in str(exc)
        if isinstance(exc, BrokerRefused):
            assert exc.endpoint == endpoint
            assert exc.code == member.value
            assert exc.name == member.name
        else:
            assert isinstance(exc, AuthenticationFailed)
            assert endpoint.startswith("Auth/")


def test_same_integer_means_different_things_per_endpoint() -> None:
    place = refusal("Order/place", 2, None)
    cancel = refusal("Order/cancel", 2, None)
    close = refusal("Position/closeContract", 2, None)
    partial = refusal("Position/partialCloseContract", 5, None)
    assert isinstance(place, OrderRefused) and place.name == "ORDER_REJECTED"
    assert isinstance(cancel, BrokerRefused) and cancel.name == "ORDER_NOT_FOUND"
    assert isinstance(close, BrokerRefused) and close.name == "POSITION_NOT_FOUND"
    assert isinstance(partial, BrokerRefused) and partial.name == "INVALID_CLOSE_SIZE"


def test_unknown_code_still_maps_with_a_readable_name() -> None:
    exc = refusal("Order/cancel", 99, "new in a later gateway")
    assert isinstance(exc, BrokerRefused)
    assert exc.name == "Unknown(99)"


def test_place_refusal_carries_the_allocated_order_id() -> None:
    exc = refusal("Order/place", 2, "Brackets cannot be used with Position Brackets.", 9057)
    assert isinstance(exc, OrderRefused)
    assert exc.order_id == 9057
    assert "9057" in str(exc)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (429, RateLimited),
        (500, RetryLater),
        (503, RetryLater),
        (401, AuthenticationFailed),
        (400, BrokerRefused),
        (405, BrokerRefused),
    ],
)
def test_http_statuses_map_to_project_exceptions(status: int, cls: type[Exception]) -> None:
    assert isinstance(http_failure("Order/search", status, 3.0), cls)
