"""signalrcore, the SignalR client many community ProjectX bots are built on, on both hubs
(``drivers/signalrcore_driver.py``): one test per step. Its REST calls are the driver's own."""

from __future__ import annotations

import pytest

from .runner import DriverRun, expect_complete, expect_step, run_driver

CLIENT = "signalrcore"
STEPS = [
    "rest.login",
    "hub.connect_skip_negotiation",
    "hub.connect_negotiated",
    "hub.user_events",
    "hub.quotes",
    "hub.reconnect",
    "hub.gateway_logout",
]


@pytest.fixture(scope="module")
def run() -> DriverRun:
    return run_driver(CLIENT, "signalrcore_driver.py")


def test_driver_ran_every_step_on_the_pinned_version(run: DriverRun) -> None:
    expect_complete(run, STEPS, CLIENT)


@pytest.mark.parametrize("step", STEPS)
def test_step(run: DriverRun, step: str) -> None:
    expect_step(run, step)
