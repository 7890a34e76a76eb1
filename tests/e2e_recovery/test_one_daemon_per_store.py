"""One daemon per store (RULES.md §5): a second `risk-manager run` on the same store exits 2
naming the first's pid, and once the first is killed (SIGKILL: no clean-up) a new one starts."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp

from risk_manager.sim.process import cli_command

from .daemon_process import DaemonProcess, free_port
from .harness import TIMEOUT, eventually, write_config


async def test_a_second_daemon_on_one_store_refuses_until_the_first_dies(tmp_path: Path) -> None:
    # No gateway listens: each daemon keeps retrying its login, holding the store meanwhile.
    gateway = f"http://127.0.0.1:{free_port()}"
    api_port = free_port()
    config = write_config(
        tmp_path / "config.yaml", gateway, db=tmp_path / "rm.sqlite", api_port=api_port, rules={}
    )
    first = DaemonProcess(config, api_port, tmp_path / "first.log")
    third = DaemonProcess(config, api_port, tmp_path / "third.log")
    async with aiohttp.ClientSession(timeout=TIMEOUT):
        try:
            with first.log.open("ab") as log:
                first.proc = await asyncio.create_subprocess_exec(
                    *cli_command("run", "--config", str(config)),
                    stdout=log,
                    stderr=log,
                )

            async def retrying() -> bool:
                return first.log.exists() and "retrying in" in first.log_text()

            await eventually(retrying, 20, "the first daemon to hold the store and retry")
            second = await asyncio.create_subprocess_exec(
                *cli_command("run", "--config", str(config)),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(second.communicate(), 20)
            text = (out + err).decode()
            assert second.returncode == 2, text
            assert f"pid {first.proc.pid}" in text
            assert "Traceback" not in text
            assert text.count("\n") == 1, text  # one clear line

            first.kill()  # SIGKILL: the lock must go with the process
            await first.wait(10)
            with third.log.open("ab") as log:
                third.proc = await asyncio.create_subprocess_exec(
                    *cli_command("run", "--config", str(config)),
                    stdout=log,
                    stderr=log,
                )

            async def third_retrying() -> bool:
                assert third.proc is not None and third.proc.returncode is None, third.log_text()
                return third.log.exists() and "retrying in" in third.log_text()

            await eventually(third_retrying, 20, "a new daemon to start after the SIGKILL")
        finally:
            for daemon in (first, third):
                if daemon.proc is not None and daemon.proc.returncode is None:
                    daemon.kill()
                    await daemon.wait(10)


def test_db_migrate_refuses_while_a_daemon_holds_the_store(tmp_path: Path) -> None:
    import subprocess

    store = tmp_path / "rm.sqlite"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from risk_manager.store.holder import hold_store\n"
            f"with hold_store({str(store)!r}):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        done = subprocess.run(
            cli_command("db", "migrate", "--path", str(store)),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert f"pid {holder.pid}" in done.stderr
        assert "Traceback" not in done.stderr
        assert not store.exists()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]
    done = subprocess.run(
        cli_command("db", "migrate", "--path", str(store)), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
