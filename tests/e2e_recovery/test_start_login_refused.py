"""A wrong API key keeps the daemon retrying (right for a guard) while its API already serves,
so /health and `risk-manager status` say "login refused by <url>: <reason>"."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from risk_manager.sim.process import cli_command, spawned_sim

from .daemon_process import DaemonProcess, free_port
from .harness import TIMEOUT, eventually, write_config


async def test_a_refused_login_is_served_on_health_and_status(tmp_path: Path) -> None:
    sim_port, api_port = free_port(), free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    config = write_config(
        tmp_path / "config.yaml", sim_url, db=tmp_path / "rm.sqlite", api_port=api_port, rules={}
    )
    data = yaml.safe_load(config.read_text())
    data["broker"]["api_key"] = "wrong-key"
    config.write_text(yaml.safe_dump(data))
    daemon = DaemonProcess(config, api_port, tmp_path / "daemon.log")
    async with (
        spawned_sim(extra=["--port", str(sim_port)]),
        aiohttp.ClientSession(timeout=TIMEOUT) as session,
    ):
        with daemon.log.open("ab") as log:
            daemon.proc = await asyncio.create_subprocess_exec(
                *cli_command("run", "--config", str(config)), stdout=log, stderr=log
            )
        try:

            async def refused() -> dict[str, Any] | None:
                assert daemon.proc is not None and daemon.proc.returncode is None
                try:
                    async with session.get(f"{daemon.api}/health") as r:
                        body: dict[str, Any] = await r.json()
                except aiohttp.ClientError:
                    return None
                return body if "login refused by" in str(body.get("problem")) else None

            health = await eventually(refused, 30, "health to say the login is refused")
            assert health["status"] != "ok"
            assert sim_url in health["problem"]
            status = await asyncio.create_subprocess_exec(
                *cli_command("status", "--url", daemon.api),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, _ = await asyncio.wait_for(status.communicate(), 30)
            assert f"login refused by {sim_url}" in out.decode()
            assert status.returncode == 2
        finally:
            if daemon.proc is not None and daemon.proc.returncode is None:
                daemon.kill()
                await daemon.wait(10)
