"""Time to guard at start-up: how long after the daemon starts each account is guarded.

The simulator runs in a child process with ``accounts`` accounts and its default REST limit
(200 / 60 s per token); the daemon runs in this one with the product's own limits (180 / 60 s,
20 of them enforcement's alone), nothing lifted. The last account holds an open position and
a lock stored by a "previous run": it is hot, so it should be guarded first, whatever its
place in the list. An account is guarded once its actor runs on its first snapshot
(``AccountActor.reconciled_at``); its time to guard counts from entering ``Daemon`` (store,
login, account list and hub connect included). The run ends when every account is guarded.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from risk_manager.domain.locks import Lock, LockKind
from risk_manager.runtime.bench_e2e import PRICE, BenchTrader, bench_config, percentile
from risk_manager.runtime.bootstrap import bootstrap
from risk_manager.sim.process import spawned_sim
from risk_manager.store import Store


@dataclass(frozen=True, slots=True)
class StartResult:
    accounts: int
    hot_s: float  # the account with a stored lock and a position
    guarded_s: tuple[float, ...]  # every account, in guarding order
    batches: int  # reconciliation batches read (one Account/search each)

    def summary(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "hot_s": round(self.hot_s, 2),
            "p50_s": round(percentile(self.guarded_s, 50), 2),
            "all_s": round(max(self.guarded_s, default=0.0), 2),
            "batches": self.batches,
        }


async def run_start(accounts: int = 50) -> StartResult:
    if accounts < 1:
        raise ValueError("accounts must be >= 1")
    logger = logging.getLogger("risk_manager")
    level = logger.level
    logger.setLevel(logging.ERROR)  # the stored lock's alerts are noise here
    try:
        return await _run(accounts)
    finally:
        logger.setLevel(level)


async def _run(accounts: int) -> StartResult:
    names = [f"START-{i:03d}=50000" for i in range(accounts)]
    with tempfile.TemporaryDirectory(prefix="rm-bench-start-") as tmp:
        store_path = Path(tmp) / "bench.sqlite"
        async with spawned_sim(names) as sim, aiohttp.ClientSession() as session:
            trader = BenchTrader(sim.url, session)
            await trader.login()
            found = await trader.post("/api/Account/search", {"onlyActiveAccounts": True})
            hot = max(int(a["id"]) for a in found["accounts"])
            contract = await trader.contract()
            await trader.post("/sim/price", {"contractId": contract, "price": PRICE})
            await trader.buy(hot, contract)
            _store_lock(store_path, hot)
            started = time.monotonic()
            async with bootstrap(bench_config(sim, store_path)) as daemon:
                guarded = {
                    a.account_id: a.reconciled_at - started
                    for a in daemon.actors.values()
                    if a.reconciled_at is not None
                }
                batches = daemon.session.reconciles.batches
    return StartResult(accounts, guarded[hot], tuple(sorted(guarded.values())), batches)


def _store_lock(path: Path, account_id: int) -> None:
    now = datetime.now(UTC)
    with Store.open(path) as store:
        store.add_lock(
            Lock(
                account_id=account_id,
                rule="max_contracts",
                kind=LockKind.HARD,
                reason="bench: a lock stored by a previous run",
                created_at=now,
                ends_at=now + timedelta(days=1),
            )
        )
