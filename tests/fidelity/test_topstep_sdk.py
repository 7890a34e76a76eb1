"""topstep-sdk (REST, both hubs, reconnect) against the simulator: one test per driver step
(``drivers/topstep_sdk_driver.py``)."""

from __future__ import annotations

import pytest

from .runner import DriverRun, expect_complete, expect_step, run_driver

CLIENT = "topstep-sdk"
STEPS = [
    "rest.ping",
    "rest.login",
    "rest.validate",
    "rest.accounts",
    "rest.contract_search",
    "rest.contract_by_id",
    "rest.bars",
    "rest.bars_closed_hours",
    "rest.live_flag",
    "hub.user_connect",
    "hub.market_connect",
    "hub.quotes",
    "hub.market_trades",
    "hub.depth",
    "rest.market_order",
    "hub.order_event",
    "hub.position_event",
    "hub.trade_event",
    "hub.account_event",
    "rest.partial_close",
    "rest.close",
    "rest.trades",
    "rest.order_search",
    "rest.limit_order",
    "rest.modify",
    "rest.cancel",
    "rest.stop_order",
    "rest.bracket_order",
    "rest.order_v2_query",
    "rest.bracket_wrong_sign",
    "hub.reconnect",
    "rest.relogin_after_expiry",
]


@pytest.fixture(scope="module")
def run() -> DriverRun:
    return run_driver(CLIENT, "topstep_sdk_driver.py", trading_hours=True)


def test_driver_ran_every_step_on_the_pinned_version(run: DriverRun) -> None:
    expect_complete(run, STEPS, CLIENT)


@pytest.mark.parametrize("step", STEPS)
def test_step(run: DriverRun, step: str) -> None:
    expect_step(run, step)
