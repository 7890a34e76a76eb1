"""How a driver's step results become test outcomes: a step passes only when the driver
reported it passed; otherwise the failure names the client's error."""

from __future__ import annotations

import pytest

from .runner import DriverRun, StepResult, expect_step


def run_with(**steps: StepResult) -> DriverRun:
    return DriverRun({name.replace("_", "."): r for name, r in steps.items()}, 0, "tail")


def test_a_passed_step_passes() -> None:
    expect_step(run_with(hub_depth=StepResult(True, None, {})), "hub.depth")


def test_a_failed_step_fails_naming_the_error_and_detail() -> None:
    run = run_with(hub_depth=StepResult(False, "KeyError: 'price'", {"seen": 1}))
    with pytest.raises(
        AssertionError, match=r"hub\.depth: KeyError: 'price'\ndetail: \{\"seen\": 1\}"
    ):
        expect_step(run, "hub.depth")


def test_a_missing_step_fails_with_the_drivers_output() -> None:
    run = run_with(rest_ping=StepResult(True, None, {}))
    with pytest.raises(AssertionError, match=r"never reported rest\.login \(exit 0\):\ntail"):
        expect_step(run, "rest.login")
