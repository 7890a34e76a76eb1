"""At start, only journal entries a *previous* run left unfinished are closed as abandoned.

The start's own reconciliation may already have enforcement in flight (a breach found in the
broker's state): its journal entry must keep its real outcome, not be marked abandoned under
the enforcer (whose outcome write would then be refused and lost).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from risk_manager.config.loader import load_config
from risk_manager.runtime.bootstrap import bootstrap
from risk_manager.runtime.session import BrokerSession
from risk_manager.sim.process import SimProcess, spawned_sim
from risk_manager.store import Store
from risk_manager.store.records import JournalOutcome

from .harness import BUY, TIMEOUT, SimClient, eventually, write_config

RULES: dict[str, Any] = {"max_contracts": {"enabled": True, "limit": 1}}
LATENCY_MS = 300  # the start's close stays in flight while the start goes on


@pytest.fixture
async def sim() -> AsyncIterator[SimProcess]:
    async with spawned_sim(extra=["--rate-limit", "10000/60"]) as sim:
        yield sim


async def test_enforcement_started_by_the_start_reconciliation_is_not_abandoned(
    sim: SimProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(
        write_config(
            tmp_path / "config.yaml", sim.url, db=tmp_path / "rm.sqlite", api_port=0, rules=RULES
        )
    )
    reconcile_all = BrokerSession.reconcile_all

    async def reconcile_then_journalled(self: BrokerSession) -> None:
        # Make the interleaving certain: the close the reconciliation proposed has its intent
        # in the journal (and is still at the simulator) before the start goes on.
        await reconcile_all(self)

        async def journalled() -> bool:
            with Store.open(tmp_path / "rm.sqlite") as store:  # another reader of the file
                return len(store.unfinished_actions()) > 1  # the leftover and the close

        await eventually(journalled, 5, "the start's close in the journal")

    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        trader = SimClient(sim.url, session)
        await trader.login()
        (acct,) = await trader.accounts()
        mnq = await trader.contract("MNQ")
        await trader.market(acct, mnq, BUY, 2)  # over the limit before the daemon starts
        with Store.open(tmp_path / "rm.sqlite") as store:  # a previous run's leftover
            left = store.journal_intent(acct, "max_contracts", "flatten", {}, datetime.now(UTC))
        await trader.fault(kind="latency", ms=LATENCY_MS)
        monkeypatch.setattr(BrokerSession, "reconcile_all", reconcile_then_journalled)
        async with bootstrap(config) as daemon:
            monkeypatch.setattr(BrokerSession, "reconcile_all", reconcile_all)
            actor = daemon.actors[acct]

            async def finished() -> list[tuple[str, JournalOutcome | None]] | None:
                entries = [(e.kind, e.outcome) for e in daemon.store.journal(acct) if e.id != left]
                done = entries and all(outcome is not None for _, outcome in entries)
                return entries if done else None

            await actor.enforcer.drain(10)
            entries = await eventually(finished, 10, "the start's enforcement to finish")
            leftover = next(e for e in daemon.store.journal(acct) if e.id == left)
        assert entries == [("close_position", JournalOutcome.CONFIRMED)], entries
        assert leftover.outcome is JournalOutcome.ABANDONED
