"""The admin surface on a real ``risk-manager run`` against ``risk-manager sim``: the daemon
serves the admin API (login, throttle-audited failures, origin check), the admin commands
find it and log in through it, and ``admin test-connection`` passes every step."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp

from risk_manager.admin.password import PasswordFile
from risk_manager.sim.process import cli_command, spawned_sim

from .daemon_process import DaemonProcess, free_port, query
from .harness import TIMEOUT, write_config

FIRST_SIM_ACCOUNT = 20_000_001
PASSWORD = "desk-password-1"


async def _admin(config: Path, *args: str, typed: str = "") -> tuple[int, str]:
    """``risk-manager admin`` in a child process, ``typed`` on its standard input."""
    proc = await asyncio.create_subprocess_exec(
        *cli_command("admin", "-c", str(config), *args),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={"COLUMNS": "200", "PATH": str(Path(sys.executable).parent)},
    )
    out, _ = await asyncio.wait_for(proc.communicate(typed.encode()), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


async def test_the_running_daemon_serves_the_admin_surface(tmp_path: Path) -> None:
    api_port = free_port()
    db = tmp_path / "rm.sqlite"
    PasswordFile(tmp_path / "admin.pwd").set(PASSWORD)
    async with spawned_sim() as sim, aiohttp.ClientSession(timeout=TIMEOUT) as session:
        config = write_config(
            tmp_path / "config.yaml",
            sim.url,
            db=db,
            api_port=api_port,
            rules={"daily_realized_loss": {"enabled": True, "limit": "100"}},
            extra={"admin": {"loosen_delay": "30m"}},
        )
        daemon = DaemonProcess(config, api_port, tmp_path / "daemon.log")
        try:
            await daemon.start(session, FIRST_SIM_ACCOUNT)
            login = f"{daemon.api}/api/v1/admin/login"
            async with session.post(login, json={"password": "not it"}) as reply:
                assert reply.status == 401
            evil = {"Origin": "https://evil.example"}
            async with session.post(login, json={"password": PASSWORD}, headers=evil) as reply:
                assert reply.status == 403

            code, out = await _admin(config, "locks", "list", typed=f"{PASSWORD}\n")
            assert code == 0, out
            assert "no active lock" in out
            code, out = await _admin(config, "audit", typed=f"{PASSWORD}\n")
            assert code == 0, out
            assert "admin.login_failed" in out and "admin@127.0.0.1" in out

            rows = query(db, "SELECT actor, action FROM audit_log ORDER BY id")
            assert rows[0] == ("admin@127.0.0.1", "admin.login_failed")
            assert rows.count(("admin@127.0.0.1", "admin.login")) >= 2

            # The daemon's control is wired in: a tightening through the admin API reaches the
            # running engine (hot reload), and an unknown lock is named, not a 503.
            code, out = await _admin(
                config,
                "rules",
                "set",
                "daily_realized_loss",
                "limit",
                "50",
                typed=f"{PASSWORD}\n",
            )
            assert code == 0, out
            account = f"{daemon.api}/api/v1/accounts/{FIRST_SIM_ACCOUNT}"
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            limit = None
            while loop.time() < deadline:
                async with session.get(account) as reply:
                    view = await reply.json()
                limit = next(r["limit"] for r in view["rules"] if r["key"] == "daily_realized_loss")
                if limit == "50.00":
                    break
                await asyncio.sleep(0.1)
            assert limit == "50.00", view["rules"]
            # A loosening waits for admin.loosen_delay: the file says 500, the daemon
            # enforces 50, and `rules show` says so.
            code, out = await _admin(
                config,
                "rules",
                "set",
                "daily_realized_loss",
                "limit",
                "500",
                typed=f"{PASSWORD}\n",
            )
            assert code == 0, out
            code, out = await _admin(config, "rules", "show", typed=f"{PASSWORD}\n")
            assert code == 0, out
            assert "Still enforced by the running daemon" in out, out
            assert "50 → 500" in out, out
            code, out = await _admin(
                config,
                "locks",
                "clear",
                str(FIRST_SIM_ACCOUNT),
                "999999",
                "--reason",
                "calm",
                typed=f"{PASSWORD}\n",
            )
            assert code != 0 and "999999" in out, out

            code, out = await _admin(config, "test-connection")
            assert code == 0, out
            assert out.count(" ok ") == 5, out
            assert PASSWORD not in daemon.log_text()
        finally:
            if daemon.proc is not None and daemon.proc.returncode is None:
                daemon.terminate()
                await daemon.wait(10)
