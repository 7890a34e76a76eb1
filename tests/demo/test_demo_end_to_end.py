"""`risk-manager demo` end to end: simulator and daemon as real child processes, the scripted
trader at high speed; every breach must be enforced and Ctrl+C must end it all cleanly."""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

CLI = ("-c", "from risk_manager.cli.main import app; app(prog_name='risk-manager')")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Demo:
    """The demo as a child process, its stdout read line by line on a thread."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                *CLI,
                "demo",
                f"--port-base={_free_port()}",
                f"--data-dir={data_dir}",
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_line(self, text: str, within: float) -> str:
        deadline = time.monotonic() + within
        for line in self.lines:
            if text in line:
                return line
        while (left := deadline - time.monotonic()) > 0:
            try:
                got = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if got is None:
                break
            self.lines.append(got)
            if text in got:
                return got
        raise AssertionError(f"no line with {text!r} within {within} s:\n" + self.output)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def interrupt(self, within: float) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"SIGINT did not stop the demo within {within} s") from None
        self.wait_line("demo over", 2.0)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)  # it ends at the pipe's end of file
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.load(resp)


def _port_closed(url: str) -> bool:
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) != 0


def test_every_breach_is_enforced_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    demo = Demo(tmp_path, "--speed=20", "--duration=0")
    try:
        api_url = demo.wait_line("web dashboard:", 30).split()[-1].rstrip("/")
        sim_url = demo.wait_line("starting the simulator on", 1).split()[4]
        demo.wait_line("script finished", 60)
        account = _get(f"{api_url}/api/v1/accounts")["accounts"][0]
        entries = _get(f"{api_url}/api/v1/enforcements?limit=200")["enforcements"]
        done = {(e["rule"], e["kind"]) for e in entries if e["outcome"] == "confirmed"}

        # Each breach the script made, enforced by the daemon (its own API is the witness).
        assert ("max_contracts", "close_position") in done  # 4 > 2 contracts: reduced
        assert ("no_stop_loss_grace", "close_position") in done  # no stop: closed
        assert ("symbol_blocks", "close_position") in done  # RTY: closed
        assert ("daily_net_loss", "flatten") in done  # loss limit: flattened…
        assert ("daily_net_loss", "lock") in done  # …and locked until the reset
        assert ("daily_net_loss", "cancel_order") in done  # an order while locked: cancelled
        assert account["locked"] is True
        assert any(lock["rule"] == "daily_net_loss" for lock in account["locks"])
        assert account["positions"] == [] and account["orders"] == []
        # And the narration says so, step by step.
        results = [line for line in demo.lines if "result:" in line]
        assert len(results) == 5, demo.output
        assert all(line.endswith(": enforced") for line in results), demo.output
        assert "5/5 breaches enforced" in demo.output

        assert demo.interrupt(within=15) == 0
        assert "daemon stopped (exit code 0)" in demo.output
        assert "simulator stopped (exit code 0)" in demo.output
        assert "Traceback" not in demo.output
        assert _port_closed(api_url) and _port_closed(sim_url)  # no server left behind
        assert list(tmp_path.glob("demo-*.sqlite")), "the daemon's fresh SQLite file"
    finally:
        demo.close()


def test_ctrl_c_in_the_middle_of_the_script_stops_cleanly(tmp_path: Path) -> None:
    demo = Demo(tmp_path, "--speed=1", "--duration=0")
    try:
        api_url = demo.wait_line("web dashboard:", 30).split()[-1].rstrip("/")
        demo.wait_line("step 1/5", 15)
        assert demo.interrupt(within=15) == 0
        assert "the script was stopped before it finished" in demo.output
        assert "Traceback" not in demo.output
        assert _port_closed(api_url)
    finally:
        demo.close()
