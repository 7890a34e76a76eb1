"""What a dashboard costs the daemon late in the trading day: its accounts' P&L curves full.

    .venv/bin/python tools/perf/curve_wire.py [ACCOUNTS] [SECONDS]

``ACCOUNTS`` accounts (default 10) are shown by the daemon's read side (``DaemonReadSide``,
an in-memory store, every rule at its default) to one stream client; each account's P&L curve
is first fed a whole trading day (a point every 5 s, the read side's own step). Then, for
``SECONDS`` of a fake clock (default 60) in steps of the read side's interval (0.2 s), every
account changes (as quotes move it) and the read side refreshes; each message the client's
buffer (``Coalescer``) hands over is serialized as the stream serializes it
(``api.read_model.dumps``). Prints the loop's CPU for the refreshes and for the serializing,
the bytes sent, and the read side's resident memory for the curves (``tracemalloc``).
Run it from the repository's root (it uses the tests' daemon builder)."""

from __future__ import annotations

import asyncio
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))

from risk_manager.api.read_model import dumps
from risk_manager.api.stream import Coalescer
from risk_manager.config.models import Config
from risk_manager.domain.events import AccountEvent
from risk_manager.domain.models import Account
from risk_manager.engine.engine import Engine
from risk_manager.engine.factory import calendar_for
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.enforcer import Enforcer
from risk_manager.runtime.metrics import Metrics
from risk_manager.runtime.views import PnlCurve
from risk_manager.store import Store
from support.daemons import daemon_from_fakes

START = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)  # 17:00 CT the evening before: a whole day
NOW = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)  # 15:00 CT: the curve holds 22 hours
STEP = 0.2  # the read side's interval


async def main(accounts: int, seconds: float) -> None:
    now = [NOW]
    config = Config.model_validate({})
    with Store.open(":memory:") as store:
        daemon = daemon_from_fakes(config, store=store, clock=lambda: now[0])
        calendar = calendar_for(config.trading_day)
        day = calendar.trading_day(NOW).isoformat()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for acct in range(1, accounts + 1):
            engine = Engine(config.rules_for(acct), calendar, config.catalog())
            enforcer = Enforcer(None, store, lambda: now[0])  # type: ignore[arg-type]
            actor = AccountActor(acct, engine, enforcer, store, lambda: now[0], Metrics())
            await actor.handle(AccountEvent(NOW, Account(acct, f"A{acct}", Decimal(50_000), True)))
            daemon.actors[acct] = actor
            curve = daemon.read_side._curves.setdefault(acct, PnlCurve())
            at = START
            while at < NOW:
                curve.add(at, Decimal((at - START).seconds % 997) - Decimal("400.25"), day)
                at += timedelta(seconds=5)
        curves = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        daemon.health.guarding = True
        side = daemon.read_side
        queue = side.subscribe()
        coalescer = Coalescer()
        await side.refresh()
        while not queue.empty():
            coalescer.push(queue.get_nowait())
        dumps({"type": "snapshot", "accounts": side.accounts()})
        coalescer.take()
        refresh_cpu = send_cpu = 0.0
        sent = messages = with_curve = 0
        for _ in range(int(seconds / STEP)):
            now[0] += timedelta(seconds=STEP)
            for acct in daemon.actors:
                side.mark(acct)
            t0 = time.thread_time()
            await side.refresh(ticking=False)
            t1 = time.thread_time()
            while not queue.empty():
                coalescer.push(queue.get_nowait())
            for message in coalescer.take():
                sent += len(dumps(message))
                messages += 1
                with_curve += "pnl_curve" in message.get("account", {})
            t2 = time.thread_time()
            refresh_cpu += t1 - t0
            send_cpu += t2 - t1
        points = len(side.accounts()[0]["pnl_curve"])
    print(
        f"{accounts} accounts, {seconds:.0f} s, curves of {points} points: "
        f"refresh CPU {refresh_cpu * 1000 / seconds:.1f} ms/s, "
        f"serializing {send_cpu * 1000 / seconds:.1f} ms/s, "
        f"{sent / seconds / 1000:.0f} kB/s in {messages / seconds:.0f} messages/s "
        f"({with_curve / seconds:.1f}/s with the curve); "
        f"curves' memory {curves / accounts / 1000:.0f} kB an account"
    )


if __name__ == "__main__":
    asyncio.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 10,
            float(sys.argv[2]) if len(sys.argv) > 2 else 60.0,
        )
    )
