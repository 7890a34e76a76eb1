"""`risk-manager run` under a fake systemd (a unix datagram socket as NOTIFY_SOCKET and a
watchdog asked for): READY=1 once its API serves, WATCHDOG=1 pings from its event loop, a
STATUS naming the accounts guarded, STOPPING=1 on SIGTERM and a clean exit."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp

from risk_manager.sim.process import cli_command, spawned_sim
from support.fake_systemd import FakeSystemd

from .daemon_process import DaemonProcess, free_port
from .harness import TIMEOUT, eventually, write_config


async def test_the_daemon_speaks_the_notify_protocol(tmp_path: Path, systemd: FakeSystemd) -> None:
    api_port = free_port()
    async with (
        spawned_sim() as sim,
        aiohttp.ClientSession(timeout=TIMEOUT),
    ):
        config = write_config(
            tmp_path / "config.yaml",
            sim.url,
            db=tmp_path / "rm.sqlite",
            api_port=api_port,
            rules={},
        )
        daemon = DaemonProcess(config, api_port, tmp_path / "daemon.log")
        env = os.environ | {"NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "300000"}
        with daemon.log.open("ab") as log:
            daemon.proc = await asyncio.create_subprocess_exec(
                *cli_command("run", "--config", str(config)), stdout=log, stderr=log, env=env
            )
        try:

            async def guarding() -> bool:
                assert daemon.proc is not None and daemon.proc.returncode is None, daemon.log_text()
                return "STATUS=guarding 1 account(s)" in systemd.states()

            await eventually(guarding, 30, "the daemon to report it guards")
            states = systemd.states()
            assert states.index("READY=1\nSTATUS=logging in and reconciling") < states.index(
                "STATUS=guarding 1 account(s)"
            )

            async def fed() -> bool:
                return systemd.states().count("WATCHDOG=1") >= 3

            await eventually(fed, 10, "watchdog pings every 0.1 s")
            daemon.terminate()
            assert await daemon.wait(15) == 0, daemon.log_text()
            states = systemd.states()
            assert "STOPPING=1" in states
            assert states.index("STOPPING=1") > states.index("STATUS=guarding 1 account(s)")
        finally:
            if daemon.proc is not None and daemon.proc.returncode is None:
                daemon.kill()
                await daemon.wait(10)
