"""The machine's own problem at start (the API port taken) is one clear line and exit 2, not a
retry loop full of tracebacks."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from risk_manager.sim.process import cli_command, spawned_sim

from .daemon_process import free_port
from .harness import write_config


async def test_a_taken_api_port_exits_2_with_one_line(tmp_path: Path) -> None:
    sim_port, api_port = free_port(), free_port()
    config = write_config(
        tmp_path / "config.yaml",
        f"http://127.0.0.1:{sim_port}",
        db=tmp_path / "rm.sqlite",
        api_port=api_port,
        rules={"daily_realized_loss": {"enabled": True, "limit": "100"}},
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", api_port))
        taken.listen()
        async with spawned_sim(extra=["--port", str(sim_port)]):
            proc = await asyncio.create_subprocess_exec(
                *cli_command("run", "--config", str(config)),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                _, err = await asyncio.wait_for(proc.communicate(), 60)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
    text = err.decode()
    assert proc.returncode == 2, text
    assert "Traceback" not in text
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"127.0.0.1:{api_port}" in errors[0], text
