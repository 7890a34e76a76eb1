"""signalrcore, the SignalR client many community ProjectX bots are built on, on both hubs
(``drivers/signalrcore_driver.py``): one test per step. Its REST calls are the driver's own."""

from __future__ import annotations

import pytest

from .runner import DriverRun, Known, expect_complete, expect_step, run_driver, step_params

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
# signalrcore sends handshake version 0 both when it skips negotiation and when negotiation
# answers negotiateVersion 0; every hub step stands on that handshake.
VERSION_0 = Known(1, "handshake version 0 refused", "does not support version 0")
NOT_CONNECTED = Known(1, "the hubs never opened (handshake version 0)", "not run: needs hub.")
KNOWN = {
    "hub.connect_skip_negotiation": VERSION_0,
    "hub.connect_negotiated": VERSION_0,
    "hub.user_events": NOT_CONNECTED,
    "hub.quotes": NOT_CONNECTED,
    "hub.reconnect": NOT_CONNECTED,
    "hub.gateway_logout": (
        NOT_CONNECTED,
        Known(5, "no GatewayLogout after expire_tokens", "no matching GatewayLogout"),
    ),
}


@pytest.fixture(scope="module")
def run() -> DriverRun:
    return run_driver(CLIENT, "signalrcore_driver.py")


def test_driver_ran_every_step_on_the_pinned_version(run: DriverRun) -> None:
    expect_complete(run, STEPS, CLIENT)


@pytest.mark.parametrize("step", step_params(STEPS, KNOWN))
def test_step(run: DriverRun, step: str) -> None:
    expect_step(run, step, KNOWN)
