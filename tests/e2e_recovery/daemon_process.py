"""``risk-manager run`` in a child process, its local API and its SQLite file."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp

from risk_manager.sim.process import cli_command

from .harness import eventually


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class DaemonProcess:
    def __init__(self, config: Path, api_port: int, log: Path) -> None:
        self.config = config
        self.api = f"http://127.0.0.1:{api_port}"
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, session: aiohttp.ClientSession, account_id: int) -> None:
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *cli_command("run", "--config", str(self.config)),
                stdout=log,
                stderr=log,
            )

        async def ready() -> bool:
            assert self.proc is not None
            if self.proc.returncode is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}: {self.log_text()}")
            try:
                async with session.get(f"{self.api}/api/v1/accounts/{account_id}") as r:
                    return r.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(ready, 20, "the daemon's API")

    async def account(self, session: aiohttp.ClientSession, account_id: int) -> dict[str, Any]:
        async with session.get(f"{self.api}/api/v1/accounts/{account_id}") as r:
            assert r.status == 200
            data: dict[str, Any] = await r.json()
            return data

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()

    def terminate(self) -> None:
        assert self.proc is not None
        self.proc.terminate()

    async def wait(self, within: float) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), within)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the daemon's SQLite file while it runs (a separate read-only connection)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()
