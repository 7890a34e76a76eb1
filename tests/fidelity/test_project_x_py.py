"""project-x-py (low-level client, realtime client, TradingSuite) against the simulator: one
test per driver step (``drivers/project_x_py_driver.py``)."""

from __future__ import annotations

import pytest

from .runner import DriverRun, expect_complete, expect_step, run_driver

CLIENT = "project-x-py"
STEPS = [
    "rest.quickstart_from_env",
    "rest.ping",
    "rest.login",
    "rest.validate",
    "rest.accounts",
    "rest.contract_search",
    "rest.contract_by_id",
    "rest.bars",
    "rest.bars_closed_hours",
    "rest.live_flag",
    "hub.connect",
    "hub.quotes",
    "hub.market_trades",
    "hub.depth",
    "suite.create",
    "suite.market_order",
    "hub.order_event",
    "hub.position_event",
    "hub.trade_event",
    "hub.account_event",
    "suite.partial_close",
    "suite.close",
    "rest.trades",
    "suite.order_search",
    "suite.limit_order",
    "suite.modify",
    "suite.cancel",
    "suite.stop_order",
    "suite.bracket_order",
    "suite.order_v2_query",
    "suite.orderbook_depth",
    "hub.reconnect",
    "rest.relogin_after_expiry",
    "rest.logout",
]


@pytest.fixture(scope="module")
def run() -> DriverRun:
    return run_driver(CLIENT, "project_x_py_driver.py", trading_hours=True)


def test_driver_ran_every_step_on_the_pinned_version(run: DriverRun) -> None:
    expect_complete(run, STEPS, CLIENT)


@pytest.mark.parametrize("step", STEPS)
def test_step(run: DriverRun, step: str) -> None:
    expect_step(run, step)
