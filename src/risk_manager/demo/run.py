"""``risk-manager demo``: the simulator with moving prices, the daemon with a demo config and
a fresh SQLite file, and a scripted trader that breaks the rules one after another.

Stops on Ctrl+C/SIGTERM or after ``duration`` seconds: the trader first, then the daemon, then
the simulator (each child is stopped with SIGINT and waited for).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from risk_manager.demo.config import (
    ACCOUNT_BALANCE,
    ACCOUNT_NAME,
    SIM_API_KEY,
    SIM_USERNAME,
    write_demo_config,
)
from risk_manager.demo.guard import GuardWatcher
from risk_manager.demo.processes import Child, pick_port, wait_ready
from risk_manager.demo.trader import DemoTrader, StepResult
from risk_manager.domain.errors import RiskManagerError
from risk_manager.projectx.client import ProjectXClient
from risk_manager.stop_signals import stop_on_signals
from risk_manager.types import utc_now

SIM_PORT = 5800
API_PORT = 8765


@dataclass(frozen=True, slots=True)
class DemoOptions:
    speed: float = 1.0
    duration: float = 300.0  # seconds in all; 0: until Ctrl+C
    port_base: int | None = None  # sim on N, API on N+1
    data_dir: Path | None = None
    seed: int = 0


def _say(text: str) -> None:
    print(text, flush=True)


def _data_dir(options: DemoOptions) -> Path:
    if options.data_dir is None:
        return Path(tempfile.mkdtemp(prefix="risk-manager-demo-"))
    options.data_dir.mkdir(parents=True, exist_ok=True)
    return options.data_dir


def _ports(options: DemoOptions, say: Callable[[str], None]) -> tuple[int, int]:
    wanted_sim, wanted_api = (
        (SIM_PORT, API_PORT)
        if options.port_base is None
        else (options.port_base, options.port_base + 1)
    )
    sim = pick_port(wanted_sim, set())
    api = pick_port(wanted_api, {sim})
    for what, wanted, got in (("simulator", wanted_sim, sim), ("API", wanted_api, api)):
        if got != wanted:
            say(f"port {wanted} is taken: the {what} uses port {got} instead")
    return sim, api


async def run_demo(options: DemoOptions, say: Callable[[str], None] = _say) -> int:
    """The whole demo; the process exit code (0: every breach enforced or not reached)."""
    stop = asyncio.Event()
    with stop_on_signals(stop):
        return await _run_demo(options, stop, say)


async def _run_demo(options: DemoOptions, stop: asyncio.Event, say: Callable[[str], None]) -> int:
    started = time.monotonic()
    data = _data_dir(options)
    stamp = utc_now().strftime("%Y%m%d-%H%M%S")
    sim_port, api_port = _ports(options, say)
    sim_url = f"http://127.0.0.1:{sim_port}"
    db_path = data / f"demo-{stamp}.sqlite"
    config_path = data / "demo-config.yaml"
    write_demo_config(config_path, sim_url, api_port, db_path, options.speed)
    sim, daemon = demo_children(data, sim_port, config_path, options.seed)
    results: list[StepResult] = []
    try:
        async with aiohttp.ClientSession() as session:
            say(f"starting the simulator on {sim_url} (moving prices) …")
            await sim.start()
            if not await _until(stop, wait_ready(sim, session, f"{sim_url}/sim/state")):
                return 0
            api_url = f"http://127.0.0.1:{api_port}"
            say(f"starting the daemon (data: {data}) …")
            await daemon.start()
            if not await _until(stop, wait_ready(daemon, session, f"{api_url}/health")):
                return 0
            _banner(say, api_url, data)
            script = asyncio.create_task(_script(session, sim_url, api_url, options, say))
            deadline = None if options.duration <= 0 else started + options.duration
            results = await _supervise(script, stop, deadline, (sim, daemon), say)
    except RuntimeError as exc:
        say(f"demo failed: {exc}")
        return 1
    finally:
        for child in (daemon, sim):  # the daemon first: it must not see the broker vanish
            if child.running:
                code = await child.stop()
                say(f"{child.name} stopped (exit code {code})")
    say(f"demo over; its config, logs and database are in {data}")
    return 0 if all(r.enforced for r in results) else 1


def demo_children(data: Path, sim_port: int, config_path: Path, seed: int) -> tuple[Child, Child]:
    """The simulator (moving prices, the demo account, on ``sim_port``) and the daemon (on
    ``config_path``), not started yet; their logs go to ``data``."""
    sim = Child(
        "simulator",
        [
            "sim",
            f"--port={sim_port}",
            "--walk",
            f"--account={ACCOUNT_NAME}={ACCOUNT_BALANCE}",
            f"--seed={seed}",
            f"--username={SIM_USERNAME}",
            f"--api-key={SIM_API_KEY}",
        ],
        data / "simulator.log",
    )
    daemon = Child("daemon", ["run", f"--config={config_path}"], data / "daemon.log")
    return sim, daemon


async def demo_account(client: ProjectXClient) -> int:
    """The id of the demo's account on the simulator; raises RuntimeError without one."""
    accounts = await client.search_accounts()
    account = next((a for a in accounts if a.name == ACCOUNT_NAME), None)
    if account is None:
        raise RuntimeError(f"the simulator has no account {ACCOUNT_NAME}")
    return account.id


async def _until(stop: asyncio.Event, work: Coroutine[Any, Any, None]) -> bool:
    """Run ``work`` unless ``stop`` is set first; True when it finished."""
    task = asyncio.create_task(work)
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if task in done:
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


def _banner(say: Callable[[str], None], api_url: str, data: Path) -> None:
    say("")
    say(f"web dashboard:      {api_url}/")
    say(f"terminal dashboard: risk-manager dashboard --url {api_url}")
    say(f"status:             risk-manager status --url {api_url}")
    say(f"daemon log:         {data / 'daemon.log'}")
    say(f"enforcement log:    {data / 'enforcement.log'} (locks, actions, alerts)")
    say("press Ctrl+C to stop")
    say("")


async def _script(
    session: aiohttp.ClientSession,
    sim_url: str,
    api_url: str,
    options: DemoOptions,
    say: Callable[[str], None],
) -> list[StepResult]:
    async with ProjectXClient(sim_url, SIM_USERNAME, SIM_API_KEY) as client:
        account_id = await demo_account(client)
        say(f"the trader logs in to the simulator and trades account {ACCOUNT_NAME} ({account_id})")
        watcher = GuardWatcher(session, api_url, account_id, say)
        trader = DemoTrader(client, session, sim_url, watcher, options.speed, say)
        try:
            return await trader.run()
        except (aiohttp.ClientError, RuntimeError, RiskManagerError) as exc:
            say(f"the script stopped on an error: {exc}")
            trader.record(len(trader.results) + 1, "script error", False)
            return trader.results


async def _supervise(
    script: asyncio.Task[list[StepResult]],
    stop: asyncio.Event,
    deadline: float | None,
    children: tuple[Child, ...],
    say: Callable[[str], None],
) -> list[StepResult]:
    """Wait for Ctrl+C, the deadline or a child dying; keep the script's results."""
    results: list[StepResult] = []
    told_done = False
    while True:
        if stop.is_set():
            say("\nCtrl+C: stopping …")
            break
        if deadline is not None and time.monotonic() >= deadline:
            say("the demo's duration is over: stopping …")
            break
        dead = [c for c in children if not c.running]
        if dead:
            raise RuntimeError(
                f"the {dead[0].name} exited unexpectedly; its log ({dead[0].log_path}):\n"
                + dead[0].log_tail()
            )
        if script.done() and not told_done:
            told_done = True
            results = script.result()  # re-raises a failure of the script
            left = "" if deadline is None else f" (or wait {deadline - time.monotonic():.0f} s)"
            say(f"the dashboards stay up: look around, then press Ctrl+C{left}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    if not script.done():
        script.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await script
        say("the script was stopped before it finished")
    return results


def main(options: DemoOptions) -> int:
    try:
        return asyncio.run(run_demo(options))
    except KeyboardInterrupt:  # a second Ctrl+C during shutdown
        print("interrupted", file=sys.stderr)
        return 130
