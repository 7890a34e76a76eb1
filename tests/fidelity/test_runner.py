"""How a driver's step results become test outcomes: a known difference is an expected
failure only when it fails the recorded way."""

from __future__ import annotations

import pytest

from .runner import DriverRun, ExpectedFailure, Known, StepResult, expect_step

KNOWN = {
    "hub.depth": Known(4, "no depth", "no matching depth"),
    "hub.logout": (Known(1, "not connected", "not run: needs"), Known(5, "no logout", "no Logout")),
}


def run_with(**steps: StepResult) -> DriverRun:
    return DriverRun({name.replace("_", "."): r for name, r in steps.items()}, 0, "tail")


def test_a_passed_step_passes_known_or_not() -> None:
    run = run_with(hub_depth=StepResult(True, None, {}), rest_ping=StepResult(True, None, {}))
    expect_step(run, "hub.depth", KNOWN)  # strict xfail turns this into a failure: item landed
    expect_step(run, "rest.ping", KNOWN)


def test_a_known_step_failing_the_recorded_way_is_the_expected_failure() -> None:
    run = run_with(hub_depth=StepResult(False, "StepFailed: no matching depth within 5 s", {}))
    with pytest.raises(ExpectedFailure, match="issue 11 item 4"):
        expect_step(run, "hub.depth", KNOWN)


def test_either_of_two_known_failures_is_expected() -> None:
    for error, item in (("not run: needs hub.connect", 1), ("no Logout within 10 s", 5)):
        run = run_with(hub_logout=StepResult(False, error, {}))
        with pytest.raises(ExpectedFailure, match=f"item {item}"):
            expect_step(run, "hub.logout", KNOWN)


def test_a_known_step_failing_another_way_is_a_failure_naming_the_error() -> None:
    run = run_with(hub_depth=StepResult(False, "KeyError: 'price'", {"seen": 1}))
    with pytest.raises(AssertionError, match="KeyError: 'price'"):
        expect_step(run, "hub.depth", KNOWN)


def test_an_unknown_failure_or_a_missing_step_fails() -> None:
    run = run_with(rest_ping=StepResult(False, "ProjectXDataError: bad JSON", {}))
    with pytest.raises(AssertionError, match="bad JSON"):
        expect_step(run, "rest.ping", KNOWN)
    with pytest.raises(AssertionError, match=r"never reported rest\.login"):
        expect_step(run, "rest.login", KNOWN)
