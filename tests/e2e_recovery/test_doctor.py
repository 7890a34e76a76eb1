"""`risk-manager doctor` against `risk-manager sim` and a running daemon (real processes): a
healthy deployment reads ok on the gateway, clock, daemon, hubs, daily reset and database
(warnings only for what this machine lacks: a service, backups); a user hub the simulator
takes down fails the hubs check; the daemon stopped fails the daemon check (exit 2); a wrong
key fails the login."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from risk_manager.sim.process import cli_command, spawned_sim

from .daemon_process import DaemonProcess, free_port
from .harness import TIMEOUT, SimClient, eventually, write_config


async def doctor(config: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        *cli_command("doctor", "--config", str(config), "--json"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert b"Traceback" not in err, err.decode()
    assert proc.returncode is not None
    return proc.returncode, json.loads(out)


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {c["check"]: c["status"] for c in report["checks"]}


async def test_doctor_reads_a_running_deployment(tmp_path: Path) -> None:
    api_port = free_port()
    async with spawned_sim() as sim, aiohttp.ClientSession(timeout=TIMEOUT) as session:
        config = write_config(
            tmp_path / "config.yaml", sim.url, db=tmp_path / "rm.sqlite", api_port=api_port,
            rules={},
        )  # fmt: skip
        trader = SimClient(sim.url, session)
        await trader.login()
        (account,) = await trader.accounts()
        daemon = DaemonProcess(config, api_port, tmp_path / "daemon.log")
        await daemon.start(session, account)
        try:
            code, report = await doctor(config)
            got = statuses(report)
            for check in ("config", "login", "clock", "daemon", "hubs", "daily reset", "database"):
                assert got[check] == "ok", report
            assert got["backups"] == "warn"  # none configured on this branch's config
            assert got["service"] == "warn"  # not installed here
            assert code == {"ok": 0, "warn": 1, "fail": 2}[report["status"]]
            for check in report["checks"]:
                assert (check["fix"] is None) == (check["status"] == "ok"), check

            await trader.fault("hub_down", hub="user", seconds=60)  # refuses reconnects

            async def user_hub_down() -> bool:
                async with session.get(f"{daemon.api}/health") as r:
                    health = await r.json()
                return not health["hubs"]["user"]["connected"]

            await eventually(user_hub_down, 20, "the daemon to see the user hub down")
            code, report = await doctor(config)
            hubs = next(c for c in report["checks"] if c["check"] == "hubs")
            assert (code, hubs["status"]) == (2, "fail"), report
            assert hubs["detail"].startswith("user hub down") and "dropping" in hubs["fix"]
        finally:
            daemon.terminate()
            await daemon.wait(15)
        code, report = await doctor(config)
        assert code == 2
        assert statuses(report)["daemon"] == "fail"
        assert statuses(report)["login"] == "ok"  # the gateway still answers

        data = yaml.safe_load(config.read_text())
        data["broker"]["api_key"] = "${PROJECTX_API_KEY}"
        config.write_text(yaml.safe_dump(data))
        env = os.environ | {"PROJECTX_API_KEY": "not-the-key"}
        code, report = await doctor(config, env)
        assert code == 2
        login = next(c for c in report["checks"] if c["check"] == "login")
        assert login["status"] == "fail" and "PROJECTX_API_KEY" in login["fix"]
