"""``risk-manager sim``: option parsing, and a real process that serves and stops on Ctrl+C."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from decimal import Decimal

import aiohttp
import pytest
import typer

from risk_manager.cli.sim import parse_account, parse_rate
from risk_manager.sim.server import DEFAULT_API_KEY


def test_account_and_rate_options_parse() -> None:
    assert parse_account("PA-150K=150000.50") == ("PA-150K", Decimal("150000.50"))
    assert parse_rate("50/30") == (50, 30.0)
    for bad in ("SIM-50K", "=5", "X=abc", "X=-1"):
        with pytest.raises(typer.BadParameter):
            parse_account(bad)
    for bad in ("200", "0/60", "a/b"):
        with pytest.raises(typer.BadParameter):
            parse_rate(bad)


async def test_sim_command_serves_and_stops_cleanly_on_ctrl_c() -> None:
    code = "from risk_manager.cli.main import app; app()"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, "sim", "--port", "0", "--account", "A=1000",
        "--account", "B=2500", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        lines: list[str] = []
        async with asyncio.timeout(20):
            while not lines or not lines[-1].startswith("Press Ctrl+C"):
                lines.append((await proc.stdout.readline()).decode().rstrip())
        text = "\n".join(lines)
        match = re.search(r"REST base:\s+(http://127\.0\.0\.1:\d+)/api", text)
        assert match, text
        assert "/hubs/user" in text and "/hubs/market" in text and "/sim/" in text
        assert f"api key:     {DEFAULT_API_KEY}" in text and "B (id 20000002) balance 2500" in text
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{match[1]}/api/Status/ping") as resp,
        ):
            assert await resp.json() == "pong"
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(15):
            out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        assert "simulator stopped" in out.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
