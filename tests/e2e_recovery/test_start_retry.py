"""A guard must come back by itself: `risk-manager run` started while the gateway is
unreachable keeps retrying, then guards once the gateway answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from risk_manager.sim.process import spawned_sim

from .daemon_process import DaemonProcess, free_port
from .harness import TIMEOUT, eventually, write_config

FIRST_SIM_ACCOUNT = 20_000_001


async def test_run_retries_an_unreachable_gateway_then_guards(tmp_path: Path) -> None:
    sim_port, api_port = free_port(), free_port()
    config = write_config(
        tmp_path / "config.yaml",
        f"http://127.0.0.1:{sim_port}",
        db=tmp_path / "rm.sqlite",
        api_port=api_port,
        rules={"daily_realized_loss": {"enabled": True, "limit": "100"}},
    )
    daemon = DaemonProcess(config, api_port, tmp_path / "daemon.log")
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        starting = asyncio.create_task(daemon.start(session, FIRST_SIM_ACCOUNT))
        try:

            async def retrying() -> bool:
                return daemon.log.exists() and "retrying in" in daemon.log_text()

            await eventually(retrying, 20, "the daemon to say it is retrying")
            assert daemon.proc is not None and daemon.proc.returncode is None
            async with spawned_sim(extra=["--port", str(sim_port)]):
                await starting  # the API answers for the account: it is guarding
                view = await daemon.account(session, FIRST_SIM_ACCOUNT)
                assert view["locked"] is False
                daemon.terminate()
                assert await daemon.wait(10) == 0
        finally:
            if daemon.proc is not None and daemon.proc.returncode is None:
                daemon.kill()
                await daemon.wait(10)
            starting.cancel()
