"""project-x-py (low-level client, realtime client, TradingSuite) against the simulator: one
test per driver step (``drivers/project_x_py_driver.py``)."""

from __future__ import annotations

import pytest

from .runner import DriverRun, Known, expect_complete, expect_step, run_driver, step_params

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
KNOWN = {
    "rest.quickstart_from_env": Known(
        11,
        "the default API key is shorter than the 10 characters ProjectX.from_env checks",
        "Invalid PROJECT_X_API_KEY format",
    ),
    "rest.ping": Known(2, "Status/ping answers text/plain pong, not JSON", "Failed to parse JSON"),
    "rest.bars_closed_hours": Known(
        8, "minute bars served for a Saturday", "minute bars for a Saturday"
    ),
    "rest.live_flag": Known(
        6, "live=True lists contracts to a simulated account", "live=True lists"
    ),
    "hub.depth": Known(
        4, "no GatewayDepth after SubscribeContractMarketDepth", "no matching market_depth"
    ),
    "suite.order_v2_query": Known(
        3, "Order/v2/query answers 404", "Resource not found: /Order/v2/query"
    ),
    "suite.orderbook_depth": Known(
        4, "no GatewayDepth, so the OrderBook stays empty", "bid levels in the suite's OrderBook"
    ),
}


@pytest.fixture(scope="module")
def run() -> DriverRun:
    return run_driver(CLIENT, "project_x_py_driver.py")


def test_driver_ran_every_step_on_the_pinned_version(run: DriverRun) -> None:
    expect_complete(run, STEPS, CLIENT)


@pytest.mark.parametrize("step", step_params(STEPS, KNOWN))
def test_step(run: DriverRun, step: str) -> None:
    expect_step(run, step, KNOWN)
