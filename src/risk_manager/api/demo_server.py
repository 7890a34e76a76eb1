"""Serve the dashboards over demo data that moves, without a broker or a daemon.

Run: ``python -m risk_manager.api.demo_server [--port 8765]``, then open http://127.0.0.1:8765
or run ``risk-manager dashboard``. The MNQ mark of the first account random-walks once a second.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal

from risk_manager.api import demo
from risk_manager.api.memory import MemoryReadModel
from risk_manager.api.read_model import iso, money
from risk_manager.api.server import DEFAULT_PORT, RunningApi, running_api
from risk_manager.types import JSON, utc_now

MNQ_POINT_VALUE = Decimal("2.00")  # USD per point per contract (tick 0.25 = 0.50)


def step(view: JSON, ticks: int, now: datetime) -> JSON:
    """Move the first position's mark by ``ticks`` and recompute the P&L fields."""
    pos = dict(view["positions"][0])
    mark = Decimal(pos["mark"]) + Decimal("0.25") * ticks
    sign = 1 if pos["side"] == "long" else -1
    unrealized = (mark - Decimal(pos["average_price"])) * pos["size"] * MNQ_POINT_VALUE * sign
    pos.update(mark=str(mark), unrealized=money(unrealized))
    net = Decimal(view["pnl"]["day_realized"]) + unrealized
    pnl = {**view["pnl"], "unrealized": money(unrealized), "net": money(net)}
    pnl["day_peak_net"] = money(max(Decimal(pnl["day_peak_net"]), net))
    room = Decimal(view["loss_limit"]) + net
    return {
        **view,
        "positions": [pos],
        "pnl": pnl,
        "room_to_loss_lock": money(room),
        "pnl_curve": [*view["pnl_curve"], {"at": iso(now), "net": money(net)}][-500:],
        "as_of": iso(now),
    }


class _NoMetrics:
    """The demo has no daemon to measure: ``/metrics`` answers with an empty exposition."""

    def render(self) -> bytes:
        return b""


def demo_model(now: datetime) -> MemoryReadModel:
    """The sample accounts (one locked, one calm) and their enforcement log, as of ``now``."""
    model = MemoryReadModel()
    model.put_account(demo.locked_account(now))
    model.put_account(demo.calm_account(now))
    for entry in demo.enforcement_log(now):
        model.record_enforcement(entry)
    model.set_history(demo.history(now))
    return model


@contextlib.asynccontextmanager
async def running_demo_api(
    port: int = 0, now: datetime | None = None
) -> AsyncIterator[tuple[RunningApi, MemoryReadModel]]:
    """Serve the API over ``demo_model`` (as of ``now``, default the wall clock: dashboards count
    lock time down against it) until the block exits; ``port=0`` picks a free port."""
    model = demo_model(now or utc_now())
    async with running_api(model, _NoMetrics(), port=port) as api:
        yield api, model


async def main(port: int) -> None:
    rng = random.Random()
    async with running_demo_api(port) as (api, model):
        print(f"demo API on {api.url} (Ctrl-C stops)")
        first = demo.locked_account(utc_now())["id"]
        while True:
            await asyncio.sleep(1)
            view = model.account(first)
            assert view is not None
            model.put_account(step(view, rng.randint(-4, 4), utc_now()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args().port))
