"""The README as a newcomer meets it: the shell lines between its `newcomer-path` markers run
as written, in order, from a clone-like folder (this `.venv`, the repository's `examples/`),
against `risk-manager sim`, and end with the simulator's account guarded. Only the ports are
moved to free ones (the README's 5800 and 8765 may be taken on a shared machine) and HOME to
a temp folder (the example store lives under `~`)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from risk_manager.demo.processes import free_port

REPO = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- newcomer-path: begin -->", "<!-- newcomer-path: end -->"


def newcomer_commands(readme: str) -> list[str]:
    """The lines of the ```sh blocks between the markers (comments kept: bash skips them)."""
    section = readme.split(BEGIN, 1)[1].split(END, 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_the_readme_marks_a_newcomer_path_that_ends_guarded() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = newcomer_commands(readme)
    assert commands[0].startswith("export PROJECTX_USERNAME=")  # before anything reads them
    assert any("risk-manager sim" in c for c in commands)
    assert commands[-1].startswith(".venv/bin/risk-manager status --wait")
    assert all(not c.startswith("risk-manager") for c in commands)  # not on PATH in a clone


def test_the_newcomer_path_runs_as_written_against_the_simulator(tmp_path: Path) -> None:
    if sys.platform == "win32":  # a skip mypy also reads, for its win32 pass
        pytest.skip("the README's path is a POSIX shell's")
    sim_port, api_port = free_port(), free_port()
    moved = {"5800": str(sim_port), "8765": str(api_port)}

    def move_ports(text: str) -> str:
        return re.sub(r"\b(5800|8765)\b", lambda m: moved[m.group(1)], text)

    clone = tmp_path / "clone"
    (clone / "examples").mkdir(parents=True)
    (clone / ".venv").symlink_to(REPO / ".venv")
    for example in (REPO / "examples").glob("*.yaml"):
        (clone / "examples" / example.name).write_text(move_ports(example.read_text()))
    script = "set -e\n" + move_ports("\n".join(newcomer_commands((REPO / "README.md").read_text())))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROJECTX_")}
    env["HOME"] = str(tmp_path / "home")
    bash = shutil.which("bash")
    assert bash is not None
    proc = subprocess.Popen(
        [bash, "-c", script + "\nwait\n"],  # `wait`: the group stays until the test ends it
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its background jobs in one process group, killed below
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if "SIM-50K" in line or "error" in line.lower():  # the account's row, or a failure
                break
        output = "".join(lines)
        assert "examples/sim-config.yaml: ok" in output, output
        assert "daemon ok" in output, output + _logs(clone)
        assert "SIM-50K" in output, output
        assert proc.poll() is None, output  # status exits 0; the script waits on its jobs
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        proc.stdout.close()
    assert (tmp_path / "home" / ".risk-manager" / "sim.sqlite").exists()  # the store was made


def _logs(clone: Path) -> str:
    return "".join(
        f"\n--- {name}\n" + (clone / name).read_text(errors="replace")[-3000:]
        for name in ("sim.log", "daemon.log")
        if (clone / name).exists()
    )
