"""An alert the webhook has not taken survives the daemon being SIGKILLed (docs/RUNTIME.md
"Alert delivery"): the simulator and ``risk-manager run`` are child processes, the webhook a
local server in the test that refuses (HTTP 500) until the daemon is killed and takes
everything after. The restarted daemon sends the stored alert, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from risk_manager.sim.process import SimProcess, spawned_sim
from support.webhook import receiver

from .daemon_process import DaemonProcess, free_port, query
from .harness import BUY, SELL, TIMEOUT, SimClient, eventually, write_config

RULES = {"daily_realized_loss": {"enabled": True, "limit": "100", "warn_at": 0.5}}
ENTRY = Decimal("20000.00")
DROP = Decimal(30)  # MNQ: 30 points x $2 = $60 realized: past half of 100, short of 100


@pytest.fixture
async def sim() -> AsyncIterator[SimProcess]:
    async with spawned_sim() as sim:
        yield sim


def _undelivered(db: Path) -> list[tuple[str, str]]:
    return query(
        db,
        "SELECT alert_id, body FROM alert_outbox WHERE delivered_at IS NULL "
        "AND given_up_at IS NULL AND json_extract(body, '$.rule') = 'daily_realized_loss'",
    )


async def test_an_undelivered_alert_survives_sigkill_and_is_sent_once_after_the_restart(
    sim: SimProcess, tmp_path: Path
) -> None:
    db = tmp_path / "rm.sqlite"
    api_port = free_port()
    async with (
        receiver(statuses=[500] * 10_000) as hook,
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
    ):
        await hook.up()
        config = write_config(
            tmp_path / "config.yaml",
            sim.url,
            db=db,
            api_port=api_port,
            rules=RULES,
            extra={"alerts": {"webhook_url": hook.url}},
        )
        trader = SimClient(sim.url, session)
        await trader.login()
        (acct,) = await trader.accounts()
        mnq = await trader.contract("MNQ")
        first = DaemonProcess(config, api_port, tmp_path / "a.log")
        second = DaemonProcess(config, api_port, tmp_path / "b.log")
        try:
            await first.start(session, acct)
            await trader.price(mnq, ENTRY)
            await trader.market(acct, mnq, BUY, 1)
            await trader.price(mnq, ENTRY - DROP)
            await trader.market(acct, mnq, SELL, 1)  # −$60 realized: the warning

            async def stored() -> list[tuple[str, str]]:
                return _undelivered(db) if hook.refused_before else []

            ((alert_id, _),) = await eventually(stored, 20, "the warning stored, refused")
            first.kill()  # SIGKILL: no shutdown, no last try
            await first.wait(10)
            hook.statuses.clear()  # the webhook takes everything from now on
            await second.start(session, acct)

            async def delivered() -> bool:
                return any(body["id"] == alert_id for body in hook.taken)

            await eventually(delivered, 20, "the stored warning after the restart")
            await eventually(lambda: _async(not _undelivered(db)), 10, "marked delivered")
            second.terminate()
            assert await second.wait(10) == 0, second.log_text()
        finally:
            for daemon in (first, second):
                if daemon.proc is not None and daemon.proc.returncode is None:
                    daemon.kill()
                    await daemon.wait(10)
    assert [body["id"] for body in hook.taken].count(alert_id) == 1
    (body,) = [b for b in hook.taken if b["id"] == alert_id]
    assert body["rule"] == "daily_realized_loss" and body["severity"] == "warning"
    assert "secret-token" not in first.log_text() + second.log_text()


async def _async(value: bool) -> bool:
    return value
